"""The posterior file: written and read checked, draws as overrides, weighted resampling."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.scenario import Scenario
from sim.scenario.posterior import (
    META_FIELDS,
    POSTERIOR_FILE,
    PosteriorError,
    load_posterior,
    posterior_levers,
    write_posterior,
)

META = {
    "method": "synthetic",
    "targets_fit": ["bps_gini_national"],
    "targets_held_out": [],
    "size": "ci",
    "runs": 0,
    "commit": "test",
    "created": "2026-12-04T08:30:00Z",
}


def frame(**extra):
    data = {
        "draw": np.array([2, 0, 1], dtype=np.int64),
        "dynamics.trust_gain": [0.3, 0.1, 0.2],
        "factors.communication": [0.5, 0.6, 0.7],
    }
    data.update(extra)
    return pd.DataFrame(data)


def raw_file(path, df, meta=META):
    """A Parquet file written without write_posterior's checks (to test the loader's)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    if meta is not None:
        payload = meta if isinstance(meta, str) else json.dumps(meta)
        table = table.replace_schema_metadata({"kemitraan": payload})
    pq.write_table(table, path)
    return path


def test_round_trip_orders_rows_by_draw_and_keeps_metadata(tmp_path):
    path = tmp_path / "posterior.parquet"
    write_posterior(frame(), path, META)
    post = load_posterior(path)
    assert post.levers == ("dynamics.trust_gain", "factors.communication")
    assert post.size == 3 and not post.weighted
    np.testing.assert_array_equal(post.values[:, 0], [0.1, 0.2, 0.3])
    np.testing.assert_array_equal(post.weights, [1 / 3] * 3)
    assert post.meta == META
    assert post.overrides(2) == {"dynamics.trust_gain": 0.3, "factors.communication": 0.5}
    stored = pq.read_table(path)
    assert stored.schema.field("draw").type == pa.int64()
    assert stored.schema.field("dynamics.trust_gain").type == pa.float64()
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_unweighted_draws_are_distinct_until_the_sample_is_exhausted(tmp_path):
    post = load_posterior(write_and_path(tmp_path, frame()))
    ids = post.choose(3, np.random.default_rng(0))
    assert sorted(ids.tolist()) == [0, 1, 2]
    many = post.choose(50, np.random.default_rng(0))
    assert set(many.tolist()) == {0, 1, 2}  # with replacement once n > size
    same = post.choose(3, np.random.default_rng(0))
    np.testing.assert_array_equal(ids, same)  # the rng decides, nothing else


def test_weighted_draws_follow_the_weights(tmp_path):
    df = frame(weight=[0.0, 0.25, 0.75])  # draw 2 has weight 0, draw 0: 0.25, draw 1: 0.75
    post = load_posterior(write_and_path(tmp_path, df))
    assert post.weighted
    np.testing.assert_allclose(post.weights, [0.25, 0.75, 0.0])
    ids = post.choose(4000, np.random.default_rng(3))
    assert 2 not in ids
    share = float(np.mean(ids == 1))
    assert abs(share - 0.75) < 4 * np.sqrt(0.75 * 0.25 / 4000)


def test_draws_are_overrides_a_scenario_accepts(tmp_path):
    post = load_posterior(write_and_path(tmp_path, frame()))
    for overrides in post.draws(3, np.random.default_rng(1)):
        scenario = Scenario().with_overrides(overrides, source="posterior")
        assert scenario.dynamics.trust_gain == overrides["dynamics.trust_gain"]


def test_whole_number_levers_come_back_as_int(tmp_path):
    df = frame(**{"organizations.representatives": [2.0, 3.0, 4.0]})
    post = load_posterior(write_and_path(tmp_path, df))
    assert post.overrides(0)["organizations.representatives"] == 3
    assert isinstance(post.overrides(0)["organizations.representatives"], int)


def write_and_path(tmp_path, df):
    path = tmp_path / "posterior.parquet"
    write_posterior(df, path, META)
    return path


@pytest.mark.parametrize(
    "df, message",
    [
        (frame().drop(columns="draw"), "column 'draw' is missing"),
        (frame(draw=[0, 1, 1]), "column 'draw' value 1; allowed: each of 0..2 exactly once"),
        (frame(draw=[0.0, 1.0, 2.0]), "column 'draw' has type float64"),
        (frame(**{"dynamics.trust_gian": [0.1] * 3}), "Did you mean 'dynamics.trust_gain'?"),
        (frame(**{"run.seed": [1.0] * 3}), "the run section is how a run is made"),
        (frame(**{"partnership.type": [1.0] * 3}), "not a numeric lever"),
        (
            frame(**{"factors.communication": [0.5, 1.5, 0.7]}),
            "column 'factors.communication' row 1 value 1.5; allowed: a finite number >= 0.0",
        ),
        (frame(**{"factors.communication": [0.5, np.nan, 0.7]}), "row 1 value nan"),
        (frame(**{"factors.communication": ["a", "b", "c"]}), "communication' has type"),
        (frame(**{"organizations.representatives": [2.5] * 3}), "a finite whole number"),
        (frame(weight=[0.5, 0.5, 0.5]), "column 'weight' sums to 1.5"),
        (frame(weight=[-0.5, 0.5, 1.0]), "column 'weight' row 0 value -0.5"),
        (frame().iloc[:0], "no rows"),
        (frame()[["draw"]], "no lever columns"),
    ],
)
def test_bad_files_are_refused_naming_file_column_and_value(tmp_path, df, message):
    path = raw_file(tmp_path / "bad.parquet", df)
    with pytest.raises(PosteriorError) as exc:
        load_posterior(path)
    text = str(exc.value)
    assert message in text
    assert text.startswith(str(path)) and "\n" not in text
    with pytest.raises(PosteriorError, match="writing"):  # write_posterior refuses it too
        write_posterior(df, tmp_path / "out.parquet", META)
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize(
    "meta, message",
    [
        (None, "metadata 'kemitraan' is missing"),
        ("not json", "is not a JSON object"),
        ({"method": "x"}, "lacks targets_fit, targets_held_out, size, runs, commit, created"),
    ],
)
def test_metadata_is_required(tmp_path, meta, message):
    path = raw_file(tmp_path / "bad.parquet", frame(), meta)
    with pytest.raises(PosteriorError, match=message):
        load_posterior(path)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(PosteriorError, match="posterior file not found; allowed"):
        load_posterior(tmp_path / "none.parquet")
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(PosteriorError, match="cannot read it as Parquet"):
        load_posterior(tmp_path / "junk.parquet")
    if not POSTERIOR_FILE.exists():
        with pytest.raises(PosteriorError, match=r"run `python run_simulation\.py calibrate`"):
            load_posterior()


def test_bad_number_of_draws(tmp_path):
    post = load_posterior(write_and_path(tmp_path, frame()))
    for n in (0, -1, 1.5, True):
        with pytest.raises(PosteriorError, match="whole number >= 1"):
            post.choose(n, np.random.default_rng(0))


def test_calibratable_levers_are_numeric_and_outside_run():
    levers = posterior_levers()
    assert "dynamics.trust_gain" in levers and "factors.communication" in levers
    assert not any(k.startswith("run.") for k in levers)
    assert "partnership.type" not in levers and "dynamics.motivation_weights" not in levers
    assert set(META_FIELDS) == set(META)
