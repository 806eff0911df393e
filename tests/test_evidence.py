"""The evidence table's bookkeeping: units, bands, places, quotes, cross-references, the page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.paths import ROOT
from sim.present.cli import main
from sim.present.evidence_report import render
from sim.scenario.evidence import (
    BAND_BASES,
    TARGETS_FILE,
    UNITS,
    EvidenceError,
    load_evidence,
    lognormal_gini,
    lognormal_income_for,
    lognormal_poverty,
)
from sim.scenario.outcomes import OUTCOMES
from sim.scenario.schema import PopulationSection

SHIPPED = TARGETS_FILE.read_text(encoding="utf-8")
PAGE = ROOT / "docs" / "evidence.md"


@pytest.fixture(scope="module")
def table():
    return load_evidence()


def test_the_shipped_table_has_twelve_verified_targets_from_six_studies(table):
    verified = table.verified()
    assert len(verified) >= 12
    assert len(table.independent_studies()) >= 6
    # The count that matters for calibration: outcomes and starting states, not programme sizes.
    fitted = table.verified(("outcome", "initial_condition"))
    assert len(fitted) >= 12
    assert len(table.independent_studies(fitted)) >= 6


def test_verified_targets_keep_their_bookkeeping(table):
    for t in table.verified():
        low, high = t.band
        assert low <= t.estimate <= high, t.id
        assert t.unit in UNITS and t.band_basis in BAND_BASES, t.id
        assert " ".join(t.as_written.split()) in " ".join(t.quote.split()), t.id
        assert not t.model_output or t.model_output in OUTCOMES, t.id


def test_unverified_targets_carry_a_reason_and_no_number(table):
    unverified = [t for t in table.target if not t.verified]
    assert unverified, "the table records what could not be verified"
    for t in unverified:
        assert t.reason and t.estimate is None and t.band is None, t.id


def test_a_few_numbers_as_read(table):
    t = table.targets()
    assert (t["bps_gini_national"].estimate, t["bps_gini_national"].band) == (0.389, (0.379, 0.393))
    assert t["olken_audit_missing_expenditures"].estimate == -8.0
    assert t["olken_audit_missing_expenditures"].model_output == "leakage"
    # Alatas et al. (2012), Table 3: 0.031 (0.017) in percentage points, +- 1.96 SE.
    low, high = t["alatas_community_vs_pmt_error"].band
    assert low == pytest.approx(100 * (0.031 - 1.96 * 0.017), abs=0.05)
    assert high == pytest.approx(100 * (0.031 + 1.96 * 0.017), abs=0.05)


# BPS rural poverty rates (percent) as read in the releases quoted by bps_rural_poverty_trend
# and bps_poverty_rate_rural, keyed by (year, month).
RURAL_RATES = {
    (2018, 3): 13.20,
    (2018, 9): 13.10,
    (2019, 3): 12.85,
    (2019, 9): 12.60,
    (2021, 9): 12.53,
    (2022, 3): 12.29,
    (2023, 3): 12.22,
    (2024, 3): 11.79,
}


def test_the_rural_trend_band_is_the_range_over_same_month_spans(table):
    t = table.targets()["bps_rural_poverty_trend"]
    paces = [
        (RURAL_RATES[b] - RURAL_RATES[a]) / (b[0] - a[0])
        for a in RURAL_RATES
        for b in RURAL_RATES
        if a[1] == b[1] and b[0] > a[0]
    ]
    # By hand: September 2018 -> 2019 (13.10 -> 12.60) is the fastest, -0.50 a year;
    # September 2019 -> 2021 (12.60 -> 12.53, 2 years) the slowest, -0.035 a year.
    assert min(paces) == pytest.approx(-0.50) and max(paces) == pytest.approx(-0.035)
    assert t.band == pytest.approx((min(paces), max(paces)))
    # The estimate is the longest span: March 2018 -> March 2024, 6 years.
    assert t.estimate == pytest.approx((11.79 - 13.20) / 6, abs=5e-4)
    for rate in RURAL_RATES.values():  # every rate used was read in one of the two quotes
        written = f"{rate:.2f}".replace(".", ",")
        quotes = t.quote + table.targets()["bps_poverty_rate_rural"].quote
        assert written in quotes or f"{rate:.2f}" in quotes, rate


def _mutated(tmp_path: Path, old: str, new: str) -> Path:
    assert SHIPPED.count(old) >= 1, old
    path = tmp_path / "targets.toml"
    path.write_text(SHIPPED.replace(old, new, 1), encoding="utf-8")
    return path


OLKEN = 'source = "olken2007"\nkind = "outcome"'
BAD = {
    "unit not in the list": (
        'unit = "percentage points"\nestimate = -8.0',
        'unit = "pct points"\nestimate = -8.0',
        ["olken_audit_missing_expenditures", "unknown unit 'pct points'", "percentage points"],
    ),
    "band without the estimate": (
        "band = [-12.0, -4.0]",
        "band = [-7.0, -4.0]",
        ["band [-7.0, -4.0] does not contain the estimate -8.0"],
    ),
    "band from a standard error off centre": (
        "band = [-0.2, 6.4]",
        "band = [-0.2, 9.0]",
        ["alatas_community_vs_pmt_error", "not centred on the estimate 3.1"],
    ),
    "band upside down": (
        "band = [0.379, 0.393]",
        "band = [0.393, 0.379]",
        ["bps_gini_national", "low is above high"],
    ),
    "no place in the source": (
        'place = "BPS press release of 16 July 2018, first bullet"',
        'place = "BPS"',
        ["bps_gini_national", "place 'BPS' does not say where in the source"],
    ),
    "number not in the quote": (
        'as_written = "0.389"',
        'as_written = "0.398"',
        ["bps_gini_national", "as_written '0.398' does not appear in the quote"],
    ),
    "estimate not the number read": (
        "estimate = 17.29",
        "estimate = 17.5",
        ["bps_bottom40_share", "estimate 17.5 does not agree with the number as written '17.29'"],
    ),
    "an unverified number kept": (
        'reason = "only the abstract was read; it says',
        'estimate = 20.0\nreason = "only the abstract was read; it says',
        ["bjorkman_utilization", "carries no estimate or band"],
    ),
    "unverified without a reason": (
        'reason = "only the book\'s summary was read; it gives no quantitative estimate"',
        "",
        ["mansuri_rao_capture", "needs a reason"],
    ),
    "verified without an estimate": (
        "estimate = 0.324\n",
        "",
        ["bps_gini_rural", "a verified target needs estimate"],
    ),
    "undeclared model output": (
        'model_output = "leakage"',
        'model_output = "leakag"',
        ["model_output 'leakag' is not a declared outcome", "Did you mean 'leakage'?"],
    ),
    "unknown key": (
        'band_note = "the standard error',
        'bandnote = "the standard error',
        ["unknown key 'bandnote'", "Did you mean 'band_note'?"],
    ),
    "unknown source": (
        OLKEN,
        OLKEN.replace("olken2007", "olken207"),
        ["source 'olken207' is not a [[source]]", "Did you mean 'olken2007'?"],
    ),
    "unknown target in the measurement model": (
        'targets = ["olken_audit_missing_expenditures", "zamboni_litschig_audit_risk", '
        '"olken_materials_share"]',
        'targets = ["olken_audit_missing_expenditure"]',
        ["target 'olken_audit_missing_expenditure' is not a [[target]]"],
    ),
    "a computed number not in the quote": (
        'computed = "(11.79 - 13.20) / 6"',
        'computed = "(11.79 - 13.02) / 6"',
        ["bps_rural_poverty_trend", "computed: 13.02 does not appear in the quote"],
    ),
    "a computed value that is not the estimate": (
        'computed = "(11.79 - 13.20) / 6"',
        'computed = "(11.79 - 13.20) / 3"',
        ["bps_rural_poverty_trend", "gives -0.47, not the estimate -0.235"],
    ),
    "a computed expression that is not arithmetic": (
        'computed = "(11.79 - 13.20) / 6"',
        'computed = "__import__(11.79)"',
        ["bps_rural_poverty_trend", "only numbers, + - * / and brackets are allowed"],
    ),
    "a computed expression that does not parse": (
        'computed = "(11.79 - 13.20) / 6"',
        'computed = "(11.79 - 13.20 / 6"',
        ["bps_rural_poverty_trend", "is not an arithmetic expression", "numbers, + - * /"],
    ),
    "a computed expression that divides by zero": (
        'computed = "(11.79 - 13.20) / 6"',
        'computed = "(11.79 - 13.20) / 0"',
        ["bps_rural_poverty_trend", "divides by zero"],
    ),
    "a judged band without a note": (
        'band_note = "the standard error was not read; +-50% is a plausible range until the '
        "interval of the paper's main table is read\"",
        "",
        ["a band set by judgement needs a band_note"],
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_target_is_refused_with_a_clear_error(tmp_path, case):
    old, new, phrases = BAD[case]
    path = _mutated(tmp_path, old, new)
    with pytest.raises(EvidenceError) as info:
        load_evidence(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message.strip(), message  # one line
    for phrase in phrases:
        assert phrase in message, (phrase, message)


def test_a_repeated_id_is_refused(tmp_path):
    path = _mutated(
        tmp_path, 'id = "olken_materials_share"', 'id = "olken_audit_missing_expenditures"'
    )
    with pytest.raises(EvidenceError, match="target ids must be unique"):
        load_evidence(path)


def test_shares_and_percentages_agree_with_the_number_as_written(tmp_path):
    # 0.031 as written, 3.1 percentage points as estimated: the same number x 100.
    assert load_evidence().targets()["alatas_community_vs_pmt_error"].estimate == 3.1
    path = _mutated(tmp_path, "estimate = 3.1\n", "estimate = 0.31\n")
    with pytest.raises(EvidenceError, match="does not agree with the number as written"):
        load_evidence(path)


def test_the_page_matches_the_table(table):
    assert PAGE.read_text(encoding="utf-8") == render(table), (
        "docs/evidence.md is stale: run python run_simulation.py evidence"
    )


def test_the_page_shows_every_target_and_its_quote(table):
    page = render(table)
    for t in table.target:
        assert f"### {t.id}\n" in page
        assert " ".join(t.quote.split()).replace("|", "\\|").replace("$", "\\$") in page
    assert "$" not in page.replace("\\$", "")  # money, not mathematics, on the site
    counts = (
        f"**{len(table.verified())} verified targets** from "
        f"**{len(table.independent_studies())} independent studies**"
    )
    assert counts in page


def test_the_page_is_in_the_site_navigation():
    assert "evidence.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def test_the_command_writes_checks_and_refuses(tmp_path, capsys):
    out = tmp_path / "evidence.md"
    assert main(["evidence", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == PAGE.read_text(encoding="utf-8")
    assert main(["evidence", "--out", str(out), "--check"]) == 0
    out.write_text("stale", encoding="utf-8")
    assert main(["evidence", "--out", str(out), "--check"]) == 1
    bad = _mutated(tmp_path, "band = [-12.0, -4.0]", "band = [-7.0, -4.0]")
    capsys.readouterr()
    assert main(["evidence", "--targets", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "does not contain the estimate" in err
    assert "Traceback" not in err


def test_the_lognormal_inverse_is_exact():
    for gini, poor in [(0.324, 0.1229), (0.389, 0.0954), (0.2, 0.4)]:
        sigma, median = lognormal_income_for(gini, poor)
        assert lognormal_gini(sigma) == pytest.approx(gini, abs=1e-12)
        assert lognormal_poverty(sigma, median) == pytest.approx(poor, abs=1e-12)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        lognormal_income_for(1.0, 0.1)


@pytest.mark.parametrize("levers", ["defaults", "bps_rural"])
def test_the_closed_forms_describe_the_models_initial_income(table, levers):
    """The measurement model's income mapping, checked on the model's own step 0."""
    from sim.model.model import PartnershipModel

    fields = PopulationSection.model_fields
    sigma, median = fields["income_sigma"].default, fields["income_median"].default
    if levers == "bps_rural":
        t = table.targets()
        sigma, median = lognormal_income_for(
            t["bps_gini_rural"].estimate, t["bps_poverty_rate_rural"].estimate / 100
        )
    model = PartnershipModel(
        seed=1, record_steps=[0], households=4000, villages=20,
        income_sigma=sigma, income_median=median,
    )  # fmt: skip
    # 4,000 draws: the sample Gini and poverty share sit within about 0.01 of the closed
    # forms (seeds 1-3 at the defaults gave 0.423-0.429 against 0.428; 29.8-31.0% against 30.6%).
    assert model.results()["income_gini"].iloc[0] == pytest.approx(lognormal_gini(sigma), abs=0.015)
    poor = float((model.hh.income < 1.0).mean())
    assert poor == pytest.approx(lognormal_poverty(sigma, median), abs=0.025)


# ------------------------------------------------------------------ the model at the defaults
def _values(**within):
    from sim.experiments.targets import MODEL_VALUE_COLUMNS

    rows = [
        {"target": t, "value": v, "ci_low": v - 1, "ci_high": v + 1, "replicates": 4,
         "band_low": 0.0, "band_high": 1.0, "within_band": w, "size": "ci", "households": 150,
         "villages": 3, "steps": 72, "root_seed": 7}
        for t, (v, w) in within.items()
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(MODEL_VALUE_COLUMNS))


def test_the_page_shows_the_model_at_the_defaults_with_its_verdict(table):
    page = render(
        table, _values(bps_gini_rural=(0.5, True), olken_audit_missing_expenditures=(-3.0, False))
    )
    verified = page.split("## Verified targets")[1].split("## ")[0]  # the summary table
    row = {line.split(" | ")[0]: line for line in verified.splitlines() if line.startswith("| [`")}
    assert row["| [`bps_gini_rural`](#bps_gini_rural)"].endswith("| 0.5 [-0.5, 1.50]: **yes** |")
    olken = row["| [`olken_audit_missing_expenditures`](#olken_audit_missing_expenditures)"]
    assert olken.endswith("| -3.00 [-4.00, -2.00]: no |")
    # A target with an output but no stored value, and one without an output.
    assert row["| [`bps_gini_national`](#bps_gini_national)"].endswith(
        "| not computed (run `evidence --size full`) |"
    )
    assert row["| [`alatas_pmt_error_rate`](#alatas_pmt_error_rate)"].endswith("| no output yet |")
    assert "**1 of 2 targets with a model output lie within their band**" in page
    assert "evidence --size ci` (150 households in 3 villages, 72 months, 4 replicates" in page
    assert "Not computed yet" in render(table, _values())


def test_the_stored_model_values_cover_every_target_with_an_output():
    from sim.experiments.targets import TARGETS_WITH_OUTPUTS
    from sim.present.evidence_report import read_model_values

    stored = read_model_values()
    assert sorted(stored["target"]) == sorted(TARGETS_WITH_OUTPUTS), (
        "sim/data/calibration/model_values.csv is stale: run "
        "python run_simulation.py evidence --size full"
    )
    assert stored["size"].nunique() == 1 and (stored["replicates"] >= 2).all()


def test_the_command_runs_the_model_and_stores_its_values(tmp_path, monkeypatch, capsys):
    import dataclasses

    from sim.experiments.validation import SIZES
    from sim.present.evidence_report import read_model_values

    tiny = dataclasses.replace(SIZES["ci"], households=60, villages=2, steps=12, replications=2)
    monkeypatch.setitem(SIZES, "ci", tiny)
    out, values = tmp_path / "evidence.md", tmp_path / "values.csv"
    assert main(["evidence", "--size", "ci", "--out", str(out), "--values", str(values)]) == 0
    assert "targets within their band" in capsys.readouterr().out
    stored = read_model_values(values)
    assert (stored["households"] == 60).all() and len(stored) >= 8
    assert main(["evidence", "--out", str(out), "--values", str(values), "--check"]) == 0
    assert main(["evidence", "--size", "ci", "--check", "--out", str(out)]) == 2
    assert "leave out --size" in capsys.readouterr().err
