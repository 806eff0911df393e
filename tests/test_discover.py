"""The discover command: inputs sampled as declared, pairs classified, boxes reported, resumable."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from sim.experiments import discover
from sim.experiments.discover import (
    MIN_FAILURES,
    POLICY_LEVERS,
    SIZES,
    UNCERTAIN_LEVERS,
    find_boxes,
    sample_inputs,
)
from sim.experiments.discovery import DiscoveryError
from sim.experiments.failures import FAILURES
from sim.present.cli import main
from sim.scenario.plausible import plausible_range
from sim.scenario.posterior import write_posterior

TINY = dataclasses.replace(SIZES["ci"], points=6)


def test_inputs_cover_the_plausible_ranges_and_are_reproducible():
    inputs = sample_inputs(SIZES["ci"], source="plausible")
    design = inputs.design
    assert inputs.policy == POLICY_LEVERS and inputs.uncertain == UNCERTAIN_LEVERS
    assert list(design.columns) == ["point", *POLICY_LEVERS, *UNCERTAIN_LEVERS]
    n = SIZES["ci"].points
    for name in POLICY_LEVERS + UNCERTAIN_LEVERS:
        r = plausible_range(name)
        assert design[name].between(r.low, r.high).all(), name
        if pd.api.types.is_float_dtype(design[name]):
            # A Latin hypercube: exactly one point in each of the n equal slices of the range.
            slices = np.floor((design[name] - r.low) / (r.high - r.low) * n)
            assert sorted(slices.astype(int)) == list(range(n)), name
    assert design["partnership.funding_horizon"].dtype == np.int64
    pd.testing.assert_frame_equal(design, sample_inputs(SIZES["ci"], source="plausible").design)


def test_the_posterior_is_used_when_it_exists(tmp_path, monkeypatch):
    path = tmp_path / "posterior.parquet"
    frame = pd.DataFrame({"draw": [0, 1, 2], "dynamics.trust_gain": [0.03, 0.05, 0.09]})
    meta = {"method": "test", "targets_fit": [], "targets_held_out": [], "size": "ci",
            "runs": 0, "commit": "", "created": "2026-12-04T09:00:00Z"}  # fmt: skip
    write_posterior(frame, path, meta)
    monkeypatch.setattr(discover, "POSTERIOR_FILE", path)
    inputs = sample_inputs(TINY)  # auto: the posterior, since it exists
    assert inputs.source.startswith("posterior (")
    assert inputs.uncertain == ("dynamics.trust_gain",)
    assert set(inputs.design["dynamics.trust_gain"]) <= {0.03, 0.05, 0.09}
    assert inputs.policy == POLICY_LEVERS


def test_asking_for_a_posterior_that_is_not_there_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(discover, "POSTERIOR_FILE", tmp_path / "none.parquet")
    with pytest.raises(DiscoveryError, match=r"no posterior file at .*none\.parquet"):
        sample_inputs(TINY, source="posterior")


def test_boxes_need_enough_failures_and_enough_pairs_without():
    rng = np.random.default_rng(0)
    pairs = pd.DataFrame({"a": rng.uniform(size=200), "b": rng.uniform(size=200)})
    pairs["zombie"] = pairs["a"] > 0.7
    pairs["poorest_worse"] = pairs.index < MIN_FAILURES - 1  # one failure too few
    pairs["collapse"] = pd.array([pd.NA] * 100 + [True] * 100, dtype="boolean")  # all failed
    boxes, notes = find_boxes(pairs, ["a", "b"])
    assert boxes["zombie"].restricted == ("a",) and notes["zombie"] == ""
    assert boxes["zombie"].limits["a"][0] == pytest.approx(0.7, abs=0.05)
    assert boxes["poorest_worse"] is None and notes["poorest_worse"].startswith("4 of the 200")
    assert boxes["collapse"] is None and notes["collapse"].startswith("100 of the 100")


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory):
    """The ci-size command, once for the tests below (32 runs of 60 households)."""
    root = tmp_path_factory.mktemp("discover")
    out, docs = root / "results", root / "docs" / "discovery.md"
    docs.parent.mkdir()
    argv = ["discover", "--size", "ci", "--source", "plausible", "--workers", "1",
            "--no-progress", "--out", str(out), "--docs", str(docs)]  # fmt: skip
    assert main(argv) == 0
    return argv, out, docs


def test_the_command_classifies_every_pair_as_the_definitions_say(ci_run):
    _, out, _ = ci_run
    pairs = pd.read_csv(out / "pairs.csv")
    size = SIZES["ci"]
    assert len(pairs) == size.points * size.replications
    assert (pairs["zombie"] == (pairs["active"] & (pairs["welfare_gain"] < 0))).all()
    assert (pairs["poorest_worse"] == (pairs["q1_gain"] < 0)).all()
    assert pairs["funding_end"].between(36, 84).all()  # every run's funding ends
    defined = pairs["collapse"].notna()
    retained = pairs.loc[defined, "retained"]
    dissolved = ~pairs.loc[defined, "active"]
    expected = dissolved | (retained < 0.5)
    assert (pairs.loc[defined, "collapse"].astype(bool) == expected).all()
    # The runs themselves are stored as a sweep: both arms of every pair, on the same seed.
    info = json.loads((out / "manifest.json").read_text())
    assert info["complete"] and info["runs_done"] == size.runs
    assert list(info["scenarios"]) == ["baseline", "msp"]


def test_the_report_states_its_size_source_and_every_failure_kind(ci_run):
    _, out, docs = ci_run
    text = (out / "report.md").read_text()
    assert "--size ci" in text and "60 households in 2 villages over 120 months" in text
    assert "Uncertain parameters: plausible ranges of 8 behavioural constants" in text
    for failure in FAILURES:
        assert f"| {failure.label} |" in text
    page = docs.read_text()
    assert page.split("\n")[0] == text.split("\n")[0]
    for line in page.splitlines():
        if line.startswith("!["):
            assert (docs.parent / line.split("](")[1].rstrip(")")).is_file()


def test_a_second_run_resumes_and_changes_nothing(ci_run, capsys):
    argv, out, _ = ci_run
    before = (out / "pairs.csv").read_text()
    assert main(argv) == 0
    assert "0 done and 0 failed now, 32 already there" in capsys.readouterr().err
    assert (out / "pairs.csv").read_text() == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--size", "huge"], "argument --size: invalid choice: 'huge'"),
        (["--retained-share", "1.5"], "must be above 0 and at most 1, got 1.5"),
        (["--margin", "x"], "expected a number, got 'x'"),
        (["--source", "guess"], "argument --source: invalid choice"),
        (["--docs", "/nonexistent/folder/discovery.md"], "folder /nonexistent/folder does not"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys):
    assert main(["discover", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and err[-1].startswith("error: ")
    assert "Traceback" not in "\n".join(err)


def test_the_priors_are_used_without_a_posterior(tmp_path, monkeypatch):
    priors_module = pytest.importorskip("sim.scenario.priors", reason="lands with calibrate")
    monkeypatch.setattr(discover, "POSTERIOR_FILE", tmp_path / "none.parquet")
    priors = priors_module.load_priors(priors_module.PRIORS_FILE)
    inputs = sample_inputs(TINY)  # auto: no posterior, so the priors
    assert inputs.source.startswith(f"priors ({len(priors.levers)} levers")
    assert inputs.uncertain == tuple(priors.levers)
    assert set(inputs.policy).isdisjoint(inputs.uncertain)
    for name in inputs.uncertain:
        p = priors[name]
        assert inputs.design[name].between(p.low, p.high).all(), name


def test_a_box_that_restricts_nothing_is_reported_as_no_box():
    import pandas as pd

    from sim.experiments.discover import unrestricted_is_no_box
    from sim.experiments.discovery import PrimBox

    whole = PrimBox({}, (), 1.0, 0.02, 1.0, 256, 0.02, pd.DataFrame(), 0)
    box, note = unrestricted_is_no_box(whole, 5, 256)
    assert box is None and "5 of the 256" in note and "(0.02)" in note
    real = PrimBox({"x": (0.0, 0.5)}, ("x",), 0.8, 0.9, 0.1, 26, 0.27, pd.DataFrame(), 3)
    assert unrestricted_is_no_box(real, 30, 111) == (real, "")
