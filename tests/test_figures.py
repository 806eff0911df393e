"""Paper-ready figures: palette, labels with units, captions, facets, empty panels, formats, dpi.

The figures are read as written (PNG pixels per inch, SVG and PDF headers) and as drawn
(matplotlib artists: colours, titles, axis labels, the caption line).
"""

from __future__ import annotations

import json

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sim.experiments import run_comparison, save_figure
from sim.experiments.compare import design_table, incremental_cost, paired_table, per_replicate
from sim.experiments.results import DPI, FIGURE_FORMATS
from sim.experiments.validation import Effect, Figure, PatternResult, Size
from sim.present import args as opts
from sim.present import cli, compare_report, plots, sweep_report, validation_report
from sim.scenario import load_scenario
from sim.scenario.outcomes import DECLARED

from .conftest import ROOT

OKABE = {c.lower() for c in plots.OKABE_ITO}
TEN = [ROOT / "scenarios" / f"{name}.toml" for name in cli.DEFAULT_SCENARIOS]


@pytest.fixture(scope="module")
def ten() -> pd.DataFrame:
    """The ten shipped scenarios, tiny: 2 replicates, 4 steps, 60 households."""
    scenarios = [load_scenario(p, ["population.households=60"]) for p in TEN]
    return run_comparison(scenarios, replications=2, steps=4, root_seed=3, progress=False)


def _hex(color) -> str:
    return mcolors.to_hex(color).lower()


def _series(ax):
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_default_comparison_is_faceted_okabe_ito_labelled_and_captioned(ten):
    fig = plots.plot_comparison(ten)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 8  # four outcomes (rows) x two facets (columns)
    top_titles = [axes[0].get_title(), axes[1].get_title()]
    assert top_titles[0].startswith("Partnership types") and "variants" in top_titles[1]
    for ax in axes:
        lines = _series(ax)
        assert lines and len(lines) <= 6, ax.get_title()  # every panel readable
        assert {_hex(line.get_color()) for line in lines} <= OKABE
        styles = [(_hex(line.get_color()), str(line.get_linestyle())) for line in lines]
        assert len(set(styles)) == len(styles), ax.get_title()  # no two series alike
        assert ax.get_xlabel() in ("", "month (step)")
    types = {line.get_label() for line in _series(axes[0])}
    variants = {line.get_label() for line in _series(axes[1])}
    assert types == {"baseline", "ppp", "psp", "pmg", "msp"}
    assert variants == {"msp", *(n for n in cli.DEFAULT_SCENARIOS if n.startswith("msp_"))}
    # Y axes carry units from the declaration (first column; rows share their axis).
    assert axes[0].get_ylabel() == "index (0-1)"
    assert axes[4].get_ylabel() == "share (0-1)" and DECLARED["empowerment_mean"].unit == "share"
    # Trust is a conditional mean, said so, and the missing baseline is explained in its panel.
    trust = axes[6]
    assert "active partnership only" in trust.get_title()
    notes = [t.get_text() for t in trust.texts]
    assert any("baseline" in t and "no partnership" in t for t in notes), notes
    caption = plots.caption_of(fig)
    assert "95% t-interval of the mean over 2 replicates" in caption
    assert "conditional mean" in caption


def test_units_come_from_the_outcome_declarations():
    for name, outcome in DECLARED.items():
        label = plots.axis_label(name)
        assert label, name
        if outcome.dtype != "bool":
            assert label.startswith(outcome.unit), (name, label)
    assert plots.axis_label("partnership_active") == "share of runs"
    assert plots.axis_label("welfare_q1", "difference") == "difference (index)"


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_figures_are_written_in_the_asked_format_png_at_300_dpi(tmp_path, fmt, ten):
    path = save_figure(plots.plot_comparison(ten), tmp_path / f"f.{fmt}")
    head = path.read_bytes()[:200]
    if fmt == "png":
        image = Image.open(path)
        assert DPI == 300
        assert tuple(round(d) for d in image.info["dpi"]) == (300, 300)
        assert image.size[0] > 2000  # 7 inches and more at 300 dpi
    elif fmt == "svg":
        assert b"<svg" in path.read_bytes()[:2000]
        assert b"Trust among partners" in path.read_bytes()  # text stays text (editable)
    else:
        assert head.startswith(b"%PDF")


def test_figure_format_is_refused_outside_png_svg_pdf(tmp_path, ten):
    with pytest.raises(ValueError, match="png, svg, pdf"):
        save_figure(plots.plot_comparison(ten.head(10)), tmp_path / "f.jpg")


def test_every_drawing_command_offers_figure_format(tmp_path, capsys):
    for command in ("run", "compare", "analyze", "validate"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"] if command != "run" else ["--help"])
        assert "--figure-format {png,svg,pdf}" in capsys.readouterr().out, command
    assert opts.FIGURE_FORMATS == FIGURE_FORMATS


def test_run_writes_its_figure_as_svg_when_asked(tmp_path):
    out = tmp_path / "r"
    code = cli.main(
        ["--scenario", str(ROOT / "scenarios" / "msp.toml"), "--steps", "3", "--replications",
         "2", "--set", "population.households=60", "--no-progress", "--out", str(out),
         "--figure-format", "svg"]
    )  # fmt: skip
    assert code == 0
    assert b"<svg" in (out / "comparison.svg").read_bytes()[:2000]
    assert "comparison.svg" in json.loads((out / "manifest.json").read_text())["files"]


def test_compare_writes_both_figures_in_the_asked_format(tmp_path):
    policies = ROOT / "scenarios" / "policies"
    out = tmp_path / "c"
    code = cli.main(
        ["compare", str(policies / "status_quo.toml"), str(policies / "community_seat.toml"),
         "--steps", "4", "--replications", "2", "--set", "population.households=60",
         "--no-progress", "--out", str(out), "--figure-format", "pdf"]
    )  # fmt: skip
    assert code == 0
    for name in ("figure_differences.pdf", "figure_trajectories.pdf"):
        assert (out / name).read_bytes().startswith(b"%PDF"), name
    assert "data:image/png;base64," in (out / "report.html").read_text()


def test_compare_forest_plot_has_units_okabe_colours_and_a_caption(ten):
    table, _ = per_replicate(ten[ten["scenario"].isin(["baseline", "msp", "ppp"])])
    diffs = paired_table(table, "baseline")
    result = {"differences": diffs, "reference": "baseline", "designs": design_table(table),
              "incremental": incremental_cost(diffs)}  # fmt: skip
    fig = compare_report.figure_differences(result)
    assert [ax.get_xlabel() for ax in fig.axes][:2] == ["difference (index)"] * 2
    for ax in fig.axes:
        for coll in ax.collections:
            colors = {_hex(c) for c in coll.get_facecolors()}
            assert colors <= OKABE | {"#4d4d4d"}, colors
    assert "95% t-interval over 2 replicate pairs" in plots.caption_of(fig)


def test_sweep_paired_difference_panel_without_values_says_why():
    rows = []
    for outcome, mean in (("welfare_mean", 0.02), ("trust_partners", np.nan)):
        for point in (0, 1):
            rows.append({"scenario": "msp", "reference": "baseline", "point": point, "step": 6,
                         "outcome": outcome, "n": 0 if np.isnan(mean) else 4, "mean": mean,
                         "ci_low": mean - 0.01, "ci_high": mean + 0.01})  # fmt: skip
    fig = sweep_report.plot_differences(pd.DataFrame(rows))
    welfare, trust = fig.axes[:2]
    assert welfare.get_xlabel() == "difference (index)"
    text = " ".join(t.get_text() for t in trust.texts)
    assert "No paired difference" in text and "'baseline'" in text and "no partnership" in text
    assert "95% t-interval over 4 replicate pairs" in plots.caption_of(fig)


def test_sweep_bands_say_they_are_the_spread_of_runs():
    steps = np.arange(4)
    summary = pd.DataFrame({"scenario": "msp", "step": steps, "outcome": "welfare_q1", "n": 5,
                            "mean": 0.3, "q05": 0.2, "q25": 0.25, "q75": 0.35,
                            "q95": 0.4})  # fmt: skip
    fig = sweep_report.plot_bands(summary, "welfare_q1")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "index (0-1)" and ax.get_xlabel() == "month (step)"
    assert {_hex(line.get_color()) for line in _series(ax)} <= OKABE
    assert "5th-95th percentile of the runs" in plots.caption_of(fig)


def test_validation_figures_follow_the_format_and_the_report_links_them(tmp_path):
    effects = [Effect("a: welfare (x - y)", 0.02, 0.01, 0.03, 8, +1),
               Effect("b: welfare (z - y)", -0.01, -0.02, 0.001, 8, +1)]  # fmt: skip
    result = PatternResult(1, "T", "c", "s", "e", "k", effects, Figure("effects", effects, "T"))
    size = Size("ci", 100, 5, 12, 8, 1)
    report = validation_report.write_report([result], size, tmp_path / "v.md",
                                            tmp_path / "img", "svg")  # fmt: skip
    assert "(img/pattern_01.svg)" in report.read_text()
    assert b"<svg" in (tmp_path / "img" / "pattern_01.svg").read_bytes()[:2000]
    fig = validation_report.draw(result.figure)
    bars = [p for ax in fig.axes for p in ax.patches]
    assert {_hex(b.get_facecolor()) for b in bars} == {"#0072b2", "#d55e00"}  # passed, failed
    assert "95% t-interval over 8 replicate pairs" in plots.caption_of(fig)


def test_network_drawing_uses_colour_blind_safe_colours():
    from sim.present import netdraw

    kinds = {k: v["color"].lower() for k, v in netdraw.STYLE.items() if k != "village"}
    assert set(kinds.values()) <= OKABE
    low, high = netdraw.TRUST_CMAP(0.0), netdraw.TRUST_CMAP(1.0)
    assert _hex(low) == "#d55e00" and _hex(high) == "#0072b2"
