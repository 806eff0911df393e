"""``python run_simulation.py evidence``: render the evidence table into ``docs/evidence.md``.

The table (``calibration/targets.toml``) is checked by :mod:`sim.scenario.evidence`; this
module only writes it out for people: a summary, the verified targets, each target with its
quoted sentence, the targets that could not be verified and why, the sources, and the
measurement model. ``--check`` compares the file with a fresh rendering and fails when it is
stale, so the page never drifts from the table.

The page also shows the model at the shipped defaults: each target with a model output
(:data:`sim.experiments.targets.TARGETS_WITH_OUTPUTS`), its simulated value with a 95% interval
over replicates and whether it lies within the target's band. Running the model is slow, so
``--size ci|full`` runs it (:func:`sim.experiments.targets.model_values`) and stores the values
in ``sim/data/calibration/model_values.csv``; without ``--size`` the page is rendered from the
stored values, which say the size they were computed at.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from sim.errors import UserError
from sim.experiments.targets import (
    MEASUREMENTS,
    MODEL_VALUE_COLUMNS,
    SIZES,
    TARGETS_WITH_OUTPUTS,
    model_values,
)
from sim.paths import CALIBRATION, DOCS
from sim.present import args as opts
from sim.scenario.evidence import (
    BAND_BASES,
    TARGETS_FILE,
    UNITS,
    EvidenceTable,
    Target,
    load_evidence,
    lognormal_gini,
    lognormal_income_for,
    lognormal_poverty,
)
from sim.scenario.schema import PopulationSection

__all__ = ["MODEL_VALUES", "command", "read_model_values", "render"]

MODEL_VALUES = CALIBRATION / "model_values.csv"
"""The model's value of each target at the shipped defaults, as ``evidence --size`` stored it."""

_KIND = {"outcome": "outcome", "initial_condition": "initial condition", "input": "input"}


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _number(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:g}"


def _band(t: Target) -> str:
    low, high = t.band
    return f"[{_number(low)}, {_number(high)}]"


def read_model_values(path: Path = MODEL_VALUES) -> pd.DataFrame:
    """The stored model values (:data:`MODEL_VALUE_COLUMNS`), or an empty table if none."""
    if not path.is_file():
        return pd.DataFrame(columns=list(MODEL_VALUE_COLUMNS))
    frame = pd.read_csv(path)
    missing = [c for c in MODEL_VALUE_COLUMNS if c not in frame]
    if missing:
        raise UserError(
            f"{path}: missing columns {missing}; rewrite it with "
            "python run_simulation.py evidence --size full"
        )
    return frame


def _value(x: float) -> str:
    return "NaN" if x != x else f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}"


def _model_cell(t: Target, values: pd.DataFrame) -> str:
    """The model-at-defaults cell of the verified table: value, interval, within the band."""
    if t.id not in MEASUREMENTS:
        return "no output yet"
    row = values[values["target"] == t.id]
    if row.empty:
        return "not computed (run `evidence --size full`)"
    r = row.iloc[0]
    within = "**yes**" if bool(r["within_band"]) else "no"
    return f"{_value(r['value'])} [{_value(r['ci_low'])}, {_value(r['ci_high'])}]: {within}"


def _model_section(table: EvidenceTable, values: pd.DataFrame) -> list[str]:
    """How the model at the shipped defaults measures each target, and whether it meets it."""
    targets = table.targets()
    lines = [
        "## The model at the shipped defaults",
        "",
    ]
    if values.empty:
        return [
            *lines,
            "Not computed yet: run `python run_simulation.py evidence --size full`.",
            "",
        ]
    first = values.iloc[0]
    within = int(values["within_band"].astype(bool).sum())
    lines += [
        f"Computed by `python run_simulation.py evidence --size {first['size']}` "
        f"({int(first['households'])} households in {int(first['villages'])} villages, "
        f"{int(first['steps'])} months, {int(first['replicates'])} replicates with common random "
        f"numbers, root seed {int(first['root_seed'])}) and stored in "
        "`sim/data/calibration/model_values.csv`; the values are not recomputed when the page "
        "is re-rendered, so a change that moves the model's numbers must rerun the command. "
        f"**{within} of {len(values)} targets with a model output lie within their band** (the "
        "mean over replicates in the band, ends included); the interval is the 95% t-interval "
        "over replicates (run-to-run noise, not parameter uncertainty). The same values are "
        "what `sim.experiments.targets.simulate_targets` gives the calibration.",
        "",
        "| target | model | 95% interval | band | within | how the model measures it |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for _, r in values.iterrows():
        t = targets[r["target"]]
        lines.append(
            f"| [`{t.id}`](#{t.id}) | {_value(r['value'])} {t.unit} | "
            f"[{_value(r['ci_low'])}, {_value(r['ci_high'])}] | {_band(t)} | "
            f"{'yes' if bool(r['within_band']) else 'no'} | "
            f"{_cell(MEASUREMENTS[t.id].note)} |"
        )
    return [*lines, ""]


def _summary(table: EvidenceTable) -> list[str]:
    verified = table.verified()
    fitted = table.verified(("outcome", "initial_condition"))
    unverified = [t for t in table.target if not t.verified]
    judged = [t for t in verified if t.band_basis == "judgement"]
    runnable = [t for t in verified if t.model_output]
    return [
        f"- **{len(verified)} verified targets** from **{len(table.independent_studies())} "
        f"independent studies** ({len(table.source)} documents read); "
        f"{len(fitted)} of them outcomes or initial conditions (from "
        f"{len(table.independent_studies(fitted))} studies), "
        f"{len(verified) - len(fitted)} programme inputs.",
        f"- **{len(unverified)} targets could not be verified** (their numbers were not in the "
        "text the searches returned); they are listed with the reason and count toward nothing.",
        f"- {len(runnable)} verified targets map to an output the model already declares; the "
        "others need an output the measurement model below proposes.",
        f"- {len(judged)} verified targets have a band set by judgement (no interval could be "
        "read): their estimates are read, their bands are placeholders.",
    ]


def _verified_table(table: EvidenceTable, values: pd.DataFrame) -> list[str]:
    lines = [
        "| target | kind | quantity | estimate | band (basis) | unit | model output | "
        "model at the shipped defaults: value [95% interval]: within band |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in table.verified():
        lines.append(
            f"| [`{t.id}`](#{t.id}) | {_KIND[t.kind]} | {_cell(t.quantity)} | "
            f"{_number(t.estimate)} | {_band(t)} ({t.band_basis}) | {t.unit} | "
            f"{f'`{t.model_output}`' if t.model_output else 'none yet'} | "
            f"{_model_cell(t, values)} |"
        )
    return lines


def _target_details(table: EvidenceTable, t: Target) -> list[str]:
    source = table.sources()[t.source]
    lines = [f"### {t.id}", "", f"**{t.quantity}** ({t.unit}; {_KIND[t.kind]})", ""]
    if t.verified:
        note = t.band_note or BAND_BASES[t.band_basis]
        lines.append(
            f"- Estimate: **{_number(t.estimate)}**, band {_band(t)}: {note} ({t.band_basis})."
        )
        if t.computed:
            lines.append(f"- Computed from the numbers quoted: `{t.computed}`.")
    else:
        lines.append(f"- **Not verified**: {t.reason}.")
    lines += [
        f"- Population: {t.population}.",
        f"- Horizon: {t.horizon}.",
        f"- Source: {source.citation} Place: {t.place}. Read at: {source.where_read}.",
        f"- Model output: {f'`{t.model_output}`' if t.model_output else 'none yet'}. "
        f"Experiment: {t.experiment}.",
        "",
        f"> {_cell(t.quote)}",
        "",
    ]
    return lines


def _measures(table: EvidenceTable) -> list[str]:
    lines = [
        "| model state | measured quantity | unit | mapping | status | outputs | targets |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in table.measure:
        outputs = ", ".join(f"`{o}`" for o in m.outputs) or "none yet"
        targets = ", ".join(f"[`{t}`](#{t})" for t in m.targets) or "none yet"
        lines.append(
            f"| {_cell(m.state)} | {_cell(m.measured)} | {m.unit} | {_cell(m.mapping)} | "
            f"{m.status} | {outputs} | {targets} |"
        )
    return lines


def _initial_income(table: EvidenceTable) -> list[str]:
    """The income levers a lognormal needs to start from BPS's Gini and poverty rate."""
    fields = PopulationSection.model_fields
    sigma0, median0 = fields["income_sigma"].default, fields["income_median"].default
    t = table.targets()
    rows = [
        ("shipped defaults", sigma0, median0),
        *(
            (
                f"BPS {area}: Gini {t[g].estimate:g} ({t[g].horizon}), "
                f"{t[p].estimate:g}% poor ({t[p].horizon})",
                *lognormal_income_for(t[g].estimate, t[p].estimate / 100),
            )
            for area, g, p in (
                ("rural", "bps_gini_rural", "bps_poverty_rate_rural"),
                ("national", "bps_gini_national", "bps_poverty_rate_national"),
            )
        ),
    ]
    lines = [
        "| income distribution | `income_sigma` | `income_median` | Gini | below the line |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, sigma, median in rows:
        lines.append(
            f"| {label} | {sigma:.3f} | {median:.2f} | {lognormal_gini(sigma):.3f} | "
            f"{100 * lognormal_poverty(sigma, median):.1f}% |"
        )
    return lines


def _defaults_sentence(table: EvidenceTable) -> list[str]:
    fields = PopulationSection.model_fields
    sigma0, median0 = fields["income_sigma"].default, fields["income_median"].default
    t = table.targets()
    gini, poor = lognormal_gini(sigma0), 100 * lognormal_poverty(sigma0, median0)
    return [
        f"The shipped defaults start at a Gini of {gini:.3f} (BPS: "
        f"{t['bps_gini_rural'].estimate:g} rural, {t['bps_gini_national'].estimate:g} national) "
        f"with {poor:.1f}% below the line (BPS: {t['bps_poverty_rate_rural'].estimate:g}% "
        f"rural, {t['bps_poverty_rate_national'].estimate:g}% national). "
    ]


def render(table: EvidenceTable, values: pd.DataFrame | None = None) -> str:
    """The Markdown page of ``table`` (``docs/evidence.md``).

    ``values`` are the model's values at the shipped defaults (:func:`read_model_values`,
    the stored ones, when None).
    """
    if values is None:
        values = read_model_values()
    lines = [
        "# Evidence: calibration targets and the measurement model",
        "",
        "<!-- Generated by `python run_simulation.py evidence` from calibration/targets.toml; "
        "do not edit by hand. -->",
        "",
        'Kemitraan\'s conclusions rest on constants marked "calibration assumption". This page '
        "lists what field evidence and official statistics say, in units, with bands, and which "
        "model output would have to reproduce each number. Every estimate below was read in the "
        "text cited (the quoted sentence is shown); a number that could not be read is not "
        "kept. The table is `calibration/targets.toml` (shipped as "
        "`sim/data/calibration/targets.toml`); `sim.scenario.evidence` checks it (units from a "
        "controlled list, bands that contain their estimates, a place in the source, the quoted "
        "number agreeing with the estimate) and `python run_simulation.py evidence` renders this "
        "page (`--check` fails when the page is stale).",
        "",
        "## Summary",
        "",
        *_summary(table),
        "",
        "## Verified targets",
        "",
        *_verified_table(table, values),
        "",
        "Band bases: " + "; ".join(f"`{k}`: {v}" for k, v in BAND_BASES.items()) + ".",
        "",
        "Units: " + "; ".join(f"{k} ({v})" for k, v in UNITS.items()) + ".",
        "",
        *_model_section(table, values),
        "## The measurement model",
        "",
        "The model's states are indices and stocks in [0, 1], incomes in multiples of the poverty "
        "line, trust and leakage shares. Targets are measured as consumption in rupiah, service "
        "use, access rates, meeting participation and missing expenditures. The table below "
        "states how each state maps to a measured quantity. Rows marked *implemented* use an "
        "output the model declares today; rows marked *proposal* say what output or conversion "
        "would have to be added before the target can be compared. Until then those targets "
        "cannot be checked, and a calibration can use only the targets with an implemented "
        "mapping.",
        "",
        *_measures(table),
        "",
        "Two mappings deserve a word. Income is already in multiples of the poverty line, so "
        "consumption in rupiah is income times the line and every inequality index is unchanged "
        "by the map: the Gini targets can be checked at step 0 today, and the poverty targets as "
        "soon as the income poverty headcount is an output (issue 15 reported a Gini of 0.43 "
        "and 31% below the line at step 0, outside both bands). The "
        "welfare index W has no measured counterpart; it should be reported through its parts "
        "in their measured units rather than be calibrated itself.",
        "",
        "### Initial income from BPS statistics",
        "",
        "The model draws income as lognormal (`population.income_sigma`, "
        "`population.income_median` in multiples of the poverty line), so the Gini and the "
        "share below the line have closed forms (`sim.scenario.evidence.lognormal_gini`, "
        "`lognormal_poverty`) and the two levers that reproduce a BPS Gini and poverty rate "
        "follow by inverting them (`lognormal_income_for`):",
        "",
        *_initial_income(table),
        "",
        *_defaults_sentence(table),
        "The rural pair is the closer target (the model's villages are rural); it "
        "combines a 2018 Gini with a 2022 poverty rate, the releases read. The shipped "
        "defaults are the calibration's posterior means (docs/calibration.md): fitted to the "
        "model's own step 0, whose finite sample of households puts them in the middle of the "
        "rural bands (the BPS rows above reproduce the estimates, at the bands' edges). The "
        "closed forms hold for the distribution; a run draws a finite sample from it.",
        "",
        "## Targets in detail",
        "",
    ]
    for t in table.verified():
        lines += _target_details(table, t)
    lines += ["## Targets that could not be verified", ""]
    for t in (t for t in table.target if not t.verified):
        lines += _target_details(table, t)
    lines += ["## Sources", ""]
    for s in table.source:
        lines.append(
            f"- `{s.id}` ({s.kind}; study: {s.study}): {s.citation} Read at: {s.where_read}."
        )
    # The site renders $...$ as mathematics (pymdownx.arithmatex): dollars here are money.
    return "\n".join(lines).replace("$", "\\$") + "\n"


def _parser() -> argparse.ArgumentParser:
    p = opts.Parser(
        prog="run_simulation.py evidence",
        description="Check the evidence table and render it into docs/evidence.md.",
    )
    p.add_argument(
        "--targets",
        type=Path,
        default=TARGETS_FILE,
        help="evidence table (default: the shipped one)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=DOCS / "evidence.md",
        help="page to write (default: docs/evidence.md)",
    )
    p.add_argument(
        "--check", action="store_true", help="write nothing; fail if --out differs from a rendering"
    )
    p.add_argument(
        "--size",
        choices=sorted(SIZES),
        default=None,
        help="run the model at the shipped defaults at this size (ci or full) and store its "
        "values (--values) before rendering; without it the stored values are used",
    )
    p.add_argument(
        "--values",
        type=Path,
        default=MODEL_VALUES,
        help="model values to read, or to write with --size (default: the shipped file)",
    )
    p.add_argument(
        "--workers", type=opts.workers, default=1, help="processes (results are identical)"
    )
    return p


def command(argv: list[str]) -> int:
    """Run ``python run_simulation.py evidence [--size ci|full] [--check] [--out FILE] ...``."""
    args = _parser().parse_args(argv)
    table = load_evidence(args.targets)
    if args.size is not None and args.check:
        raise UserError("--check compares with the stored values: leave out --size")
    if args.size is not None:
        ids = [t for t in TARGETS_WITH_OUTPUTS if t in table.targets()]
        values = model_values({}, SIZES[args.size], ids, args.workers)
        if not args.values.parent.is_dir():
            raise UserError(f"--values {args.values}: folder {args.values.parent} does not exist")
        values.to_csv(args.values, index=False, float_format="%.17g")
        print(
            f"model at the shipped defaults ({args.size}): "
            f"{int(values['within_band'].sum())} of {len(values)} targets within their band; "
            f"values: {args.values}"
        )
    else:
        values = read_model_values(args.values)
    page = render(table, values)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != page:
            print(f"{args.out} is stale: run python run_simulation.py evidence")
            return 1
        print(f"{args.out} is up to date")
        return 0
    if not args.out.parent.is_dir():
        raise UserError(f"--out {args.out}: folder {args.out.parent} does not exist")
    args.out.write_text(page, encoding="utf-8")
    print(
        f"{len(table.verified())} verified targets from {len(table.independent_studies())} "
        f"studies; {sum(not t.verified for t in table.target)} not verified\npage: {args.out}"
    )
    return 0
