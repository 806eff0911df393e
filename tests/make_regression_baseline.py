#!/usr/bin/env python
"""Regenerate the regression baseline ``tests/data/regression.csv``.

The baseline stores ``model.results()`` for a few scenarios at a small size and fixed seed;
``tests/test_regression.py`` recomputes them and compares. Regenerate ONLY when a change is
meant to move the model's outputs (a new mechanism, a fixed bug), and say why in the commit
message::

    python tests/make_regression_baseline.py          # rewrite the baseline
    python tests/make_regression_baseline.py --check  # compare only, exit 1 on a difference

Floats are written with 17 significant digits, so they read back bit for bit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim import PartnershipModel  # noqa: E402

BASELINE = ROOT / "tests" / "data" / "regression.csv"
SCENARIOS = (
    "baseline",
    "msp",
    "msp_power_imbalance",
    "msp_no_evaluation",
    "msp_low_trust",
    "pmg",
    "ppp",
    "psp",
)
"""No partnership; the full partnership; the variants that change power, evaluation and
membership exits; and the three partial partnership types (community without firms/NGOs, no
community, firms with the community)."""
SIZE = {"households": 400, "villages": 8}
SEED = 7
STEPS = 60
"""Five evaluations (every 12 steps) and room for members to leave (exit patience 12)."""


def compute() -> pd.DataFrame:
    """The results of every regression scenario, stacked."""
    frames = [
        PartnershipModel.from_scenario(ROOT / "scenarios" / f"{name}.toml", seed=SEED, **SIZE)
        .run(STEPS)
        .results()
        for name in SCENARIOS
    ]
    return pd.concat(frames, ignore_index=True)


def read_baseline(path: Path = BASELINE) -> pd.DataFrame:
    """The stored baseline, with the dtypes :func:`compute` produces."""
    return pd.read_csv(path)


def main(argv: list[str] | None = None) -> int:
    """Write the baseline (or, with --check, compare against it)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare only; do not write")
    args = parser.parse_args(argv)
    df = compute()
    if args.check:
        stored = read_baseline()
        try:
            pd.testing.assert_frame_equal(df, stored, check_dtype=False, check_exact=True)
        except AssertionError as exc:
            print(f"differs from {BASELINE}:\n{exc}")
            return 1
        print(f"identical to {BASELINE}")
        return 0
    BASELINE.parent.mkdir(parents=True, exist_ok=True)
    tmp = BASELINE.with_suffix(".tmp")
    df.to_csv(tmp, index=False, float_format="%.17g")
    tmp.replace(BASELINE)
    print(f"wrote {BASELINE} ({len(df)} rows, {len(SCENARIOS)} scenarios)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
