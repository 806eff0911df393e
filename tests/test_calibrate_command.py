"""The calibrate command: target bookkeeping, the ci calibration end to end, resuming, errors."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from sim.experiments.calibration import CALIBRATED, FIT, HELD_OUT, SIZES, observations
from sim.experiments.targets import TARGETS_WITH_OUTPUTS
from sim.present.cli import main
from sim.scenario.evidence import load_evidence
from sim.scenario.posterior import load_posterior
from sim.scenario.priors import load_priors

from .conftest import ROOT


def test_every_target_with_an_output_is_fitted_or_held_out_never_both():
    assert set(FIT).isdisjoint(HELD_OUT)
    assert set(TARGETS_WITH_OUTPUTS) <= set(FIT) | set(HELD_OUT)
    sources = load_evidence().targets()
    fit_sources = {sources[t].source for t in FIT}
    held_sources = {sources[t].source for t in HELD_OUT}
    assert held_sources - fit_sources  # some held-out target comes from a source not fitted


def test_the_calibrated_levers_have_priors_and_the_bands_become_observations():
    priors = load_priors()
    assert all(lever in priors for lever in CALIBRATED)
    gini = observations(["bps_gini_rural"])[0]
    assert gini.value == pytest.approx((0.313 + 0.324) / 2)
    assert gini.sd == pytest.approx(0.011 / 3.92)
    assert gini.discrepancy == pytest.approx(0.5 * gini.sd)


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cal") / "ci"
    code = main(["calibrate", "--size", "ci", "--out", str(out), "--engine", "serial"])
    return out, code


def test_the_ci_calibration_writes_posterior_report_and_manifest(ci_run):
    out, code = ci_run
    assert code == 0
    post = load_posterior(out / "posterior.parquet")
    assert set(post.levers) == set(CALIBRATED) and post.size == SIZES["ci"].settings.draws
    assert post.meta["targets_fit"] == list(FIT)
    assert post.meta["targets_held_out"] == [t for t in HELD_OUT if t in TARGETS_WITH_OUTPUTS]
    predictive = pd.read_csv(out / "predictive.csv")
    assert sorted(predictive.target) == sorted(TARGETS_WITH_OUTPUTS)
    report = (out / "calibration.md").read_text(encoding="utf-8")
    for heading in ("## Targets", "## Waves", "Identifiability", "## Posterior-predictive"):
        assert heading in report
    assert (out / "img" / "calibration" / "calibration_predictive.png").stat().st_size > 1000
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "posterior.parquet" in manifest["files"] and manifest["calibration"]["size"] == "ci"
    runs = len(list((out / "waves").glob("wave_*/part_*.parquet")))
    assert runs >= SIZES["ci"].settings.waves  # each wave stored at least one part


def test_a_rerun_continues_the_folder_and_gives_the_same_posterior(ci_run):
    out, _ = ci_run
    before = load_posterior(out / "posterior.parquet")
    parts = sorted(p.stat().st_mtime_ns for p in out.rglob("part_*.parquet"))
    assert main(["calibrate", "--size", "ci", "--out", str(out), "--engine", "serial"]) == 0
    after = load_posterior(out / "posterior.parquet")
    assert (after.values == before.values).all()
    assert sorted(p.stat().st_mtime_ns for p in out.rglob("part_*.parquet")) == parts


def test_a_folder_that_is_not_a_calibration_is_refused(tmp_path, capsys):
    (tmp_path / "other.txt").write_text("x")
    assert main(["calibrate", "--size", "ci", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "holds no calibration" in err and "Traceback" not in err


def test_the_shipped_posterior_is_the_full_calibration_of_the_calibrated_levers():
    post = load_posterior()  # sim/data/calibration/posterior.parquet
    assert post.meta["size"] == "full" and post.meta["targets_fit"] == list(FIT)
    assert list(post.levers) == list(CALIBRATED)
    priors = load_priors()
    for j, lever in enumerate(post.levers):
        p = priors[lever]
        assert ((post.values[:, j] >= p.low) & (post.values[:, j] <= p.high)).all(), lever
    report = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    assert "calibrate --size full" in report
    assert f"{post.meta['runs']} simulator calls" in report


def test_render_only_reads_a_finished_folder_and_refuses_an_unfinished_one(ci_run, tmp_path):
    out, _ = ci_run
    before = load_posterior(out / "posterior.parquet")
    args = ["calibrate", "--size", "ci", "--out", str(out), "--render-only"]
    assert main(args) == 0
    assert (load_posterior(out / "posterior.parquet").values == before.values).all()
    # a folder whose confirmation runs are missing cannot be rendered without the model
    unfinished = tmp_path / "unfinished"
    shutil.copytree(out, unfinished)
    for part in (unfinished / "confirmation").glob("part_*.parquet"):
        part.unlink()
    assert main(["calibrate", "--size", "ci", "--out", str(unfinished), "--render-only"]) == 2
