"""Animated GIF export (API and command line) and the shared network drawing."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image, ImageChops

from sim import PartnershipModel
from sim.present.animation import AnimationError, animate
from sim.present.cli import main
from sim.present.netdraw import draw_network, network_layout, village_trust

from .conftest import ROOT

SMALL = {"households": 60, "villages": 4}


def frames_of(path):
    with Image.open(path) as im:
        out = []
        for k in range(im.n_frames):
            im.seek(k)
            out.append(im.convert("RGB").copy())
        return out


def test_gif_has_one_frame_per_recorded_state_and_frames_differ(tmp_path):
    model = PartnershipModel(seed=3, **SMALL)
    out = animate(model, tmp_path / "run.gif", steps=6, every=2, fps=4, dpi=40)
    frames = frames_of(out)
    assert len(frames) == 6 // 2 + 1
    assert model.steps == 6  # stepped in place, exactly the requested months
    # Consecutive frames differ (the month, the chart line, the trust colours).
    for a, b in itertools.pairwise(frames):
        assert ImageChops.difference(a, b).getbbox() is not None
    assert frames[0].size == (400, 168)  # 10 x 4.2 inches at dpi 40
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_animate_refuses_bad_arguments_and_keeps_existing_file(tmp_path):
    model = PartnershipModel(seed=3, **SMALL)
    existing = tmp_path / "keep.gif"
    existing.write_bytes(b"old")
    with pytest.raises(AnimationError, match="exists"):
        animate(model, existing, steps=2, overwrite=False)
    assert existing.read_bytes() == b"old"
    with pytest.raises(AnimationError, match="unknown format"):
        animate(model, tmp_path / "run.png", steps=2)
    with pytest.raises(AnimationError, match="unknown outcomes"):
        animate(model, tmp_path / "run.gif", steps=2, outcomes=["welfare_typo"])
    with pytest.raises(AnimationError, match="at least 1"):
        animate(model, tmp_path / "run.gif", steps=0)
    assert model.steps == 0  # nothing ran


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, str(ROOT / "run_simulation.py"), "animate", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_cli_writes_the_requested_frames(tmp_path):
    result = run_cli(
        "--scenario",
        str(ROOT / "scenarios" / "msp_low_trust.toml"),
        "--steps",
        "4",
        "--set",
        "population.households=60",
        "--dpi",
        "30",
        "--out",
        "low.gif",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "5 frames" in result.stdout
    assert len(frames_of(tmp_path / "low.gif")) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "0", "--out", "a.gif"], "--steps: must be at least 1, got 0"),
        (["--steps", "x", "--out", "a.gif"], "expected a whole number, got 'x'"),
        (["--out", "a.png"], "unknown format '.png'"),
        (["--out", "missing/a.gif"], "does not exist"),
        (["--out", "old.gif"], "exists; choose another name or pass --overwrite"),
        (["--scenario", "nope.toml", "--out", "a.gif"], "nope.toml: scenario file not found"),
        (["--set", "factors.trust=2", "--out", "a.gif"], "factors.trust = 2"),
        ([], "--out"),
    ],
)
def test_cli_refuses_bad_arguments_with_exit_code_2(tmp_path, monkeypatch, capsys, args, message):
    # In-process through sim.cli.main (the same path as the script, without a new interpreter
    # per case); test_cli_writes_the_requested_frames runs the real process.
    (tmp_path / "old.gif").write_bytes(b"old")
    monkeypatch.chdir(tmp_path)
    code = main(["animate", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "a.gif").exists()
    assert (tmp_path / "old.gif").read_bytes() == b"old"


def test_layout_is_fixed_and_drawing_encodes_trust_and_power():
    model = PartnershipModel(seed=5, power_balance=0.0, **SMALL)
    before = {k: v.copy() for k, v in network_layout(model).items()}
    model.run(5)
    after = network_layout(model)
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k]) for k in before)  # nodes stay put
    # Same seed, new model: the same layout (deterministic, no hidden randomness).
    again = network_layout(PartnershipModel(seed=5, power_balance=0.0, **SMALL))
    assert all(np.array_equal(again[k], after[k]) for k in after)
    # Households' trust per village equals a direct average over the arrays.
    vt = village_trust(model)
    col = model.org_index["ngo_0"]
    v = int(model.hh.village[model.tied[:, col]][0])
    mask = (model.hh.village == v) & model.tied[:, col]
    assert vt[v, col] == pytest.approx(model.hh.trust[mask, col].mean())
    # One arrow per ordered pair of partners; the government (most power with raw power)
    # is the largest organization marker.
    fig = Figure()
    ax = fig.subplots()
    draw_network(ax, model)
    m = model.partnership.size
    assert len(ax.patches) == m * (m - 1)
    sizes = {}
    for coll in ax.collections:
        if hasattr(coll, "get_sizes") and len(coll.get_offsets()) and coll.get_sizes().size:
            for xy, s in zip(
                coll.get_offsets(),
                np.broadcast_to(coll.get_sizes(), len(coll.get_offsets())),
                strict=True,
            ):
                sizes[tuple(np.round(xy, 6))] = s
    gov = sizes[tuple(np.round(after["government_0"], 6))]
    firm = sizes[tuple(np.round(after["firm_0"], 6))]
    assert gov > firm


def test_mp4_through_the_pip_installed_ffmpeg(tmp_path):
    pytest.importorskip("imageio_ffmpeg", reason="MP4 needs imageio-ffmpeg (dashboard extra)")
    import imageio_ffmpeg

    model = PartnershipModel(seed=3, **SMALL)
    out = animate(model, tmp_path / "run.mp4", steps=4, every=2, fps=4, dpi=40)
    data = out.read_bytes()
    assert data[4:8] == b"ftyp"  # an MP4 container
    frames = imageio_ffmpeg.count_frames_and_secs(str(out))[0]
    assert frames == 4 // 2 + 1
    assert not list(tmp_path.glob(".*"))


def test_ab_gif_shows_a_and_b_side_by_side_on_the_same_seed(tmp_path):
    a = PartnershipModel(seed=4, **SMALL)
    b = PartnershipModel(seed=4, communication=0.2, **SMALL)
    out = animate(a, tmp_path / "ab.gif", steps=6, every=3, fps=4, dpi=40, compare=b)
    frames = frames_of(out)
    assert len(frames) == 6 // 3 + 1
    assert frames[0].size == (512, 288)  # 12.8 x 7.2 inches (16:9) at dpi 40
    assert a.steps == b.steps == 6  # both stepped in place, together
    # The same seed: B's households and graph are A's (common random numbers).
    assert np.array_equal(a.hh.village, b.hh.village)
    # The chart holds both runs: B alone, stepped the same months, gives B's own course.
    alone = PartnershipModel(seed=4, communication=0.2, **SMALL)
    alone.run(6)
    assert b.results()["welfare_mean"].tolist() == alone.results()["welfare_mean"].tolist()
    for a_frame, b_frame in itertools.pairwise(frames):
        assert ImageChops.difference(a_frame, b_frame).getbbox() is not None
    assert not list(tmp_path.glob(".*"))


def test_ab_refuses_b_on_another_seed_or_month(tmp_path):
    a = PartnershipModel(seed=4, **SMALL)
    with pytest.raises(AnimationError, match="common random numbers"):
        animate(a, tmp_path / "ab.gif", steps=2, compare=PartnershipModel(seed=5, **SMALL))
    later = PartnershipModel(seed=4, **SMALL)
    later.step()
    with pytest.raises(AnimationError, match="same month"):
        animate(a, tmp_path / "ab.gif", steps=2, compare=later)
    assert a.steps == 0 and not (tmp_path / "ab.gif").exists()


def test_cli_compare_writes_an_ab_mp4_with_the_requested_frames_and_size(tmp_path):
    pytest.importorskip("imageio_ffmpeg", reason="MP4 needs imageio-ffmpeg (dashboard extra)")
    import imageio_ffmpeg

    result = run_cli(
        "--scenario",
        str(ROOT / "scenarios" / "msp.toml"),
        "--compare",
        str(ROOT / "scenarios" / "msp_poor_communication.toml"),
        "--steps",
        "4",
        "--every",
        "2",
        "--set",
        "population.households=60",
        "--dpi",
        "50",
        "--language",
        "id",
        "--out",
        "ab.mp4",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "3 frames" in result.stdout and "beside" in result.stdout
    out = tmp_path / "ab.mp4"
    assert out.read_bytes()[4:8] == b"ftyp"
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    assert tuple(meta["size"]) == (640, 360)  # 12.8 x 7.2 inches at dpi 50
    assert sum(1 for _ in reader) == 4 // 2 + 1


def test_animation_labels_in_indonesian(tmp_path, monkeypatch):
    from sim.present import netdraw
    from sim.present.i18n import translator

    titles = []
    original = netdraw.draw_network

    def spy(ax, model, **kwargs):
        out = original(ax, model, **kwargs)
        titles.append(ax.get_title())
        titles.extend(t.get_text() for t in ax.get_legend().get_texts())
        return out

    monkeypatch.setattr(netdraw, "draw_network", spy)
    a = PartnershipModel(seed=4, **SMALL)
    b = PartnershipModel(seed=4, communication=0.2, **SMALL)
    animate(a, tmp_path / "ab.gif", steps=2, every=2, dpi=30, compare=b, gettext=translator("id"))
    assert f"A: {a.config.name}, bulan 2" in titles and "pemerintah" in titles
