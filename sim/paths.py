"""Where Kemitraan's files live: shipped data inside the package, the user's files in the cwd.

Shipped data (scenarios, policy designs, the example map, sweep files) is package data under
``sim/data/`` and is found with :mod:`importlib.resources`, so it is there in a source checkout,
an editable install and an installed wheel alike. In a checkout the top-level ``scenarios/`` and
``sweeps/`` folders are links to ``sim/data/scenarios`` and ``sim/data/sweeps`` (and
``calibration/`` to ``sim/data/calibration``, the evidence table), so the paths the
README shows (``scenarios/msp.toml``) keep working from the checkout's top folder.

Everything a user names (a scenario file, ``--out``) is resolved against the working
directory, and results go under the working directory (``results/``), never into the package.

Example:
    >>> (SCENARIOS / "msp.toml").is_file(), (SWEEPS / "partnership_grid.toml").is_file()
    (True, True)
    >>> RESULTS
    PosixPath('results')
"""

from importlib.resources import files
from pathlib import Path

__all__ = [
    "CALIBRATION",
    "CHECKOUT",
    "DATA",
    "DOCS",
    "RESULTS",
    "ROOT",
    "SCENARIOS",
    "SWEEPS",
    "source_checkout",
]

ROOT = Path(__file__).resolve().parent.parent
"""The folder that holds ``sim/``: a source checkout, or ``site-packages`` when installed."""

DATA = Path(str(files("sim") / "data"))
"""Shipped data (a plain folder: the package is installed unzipped, as pip does)."""

SCENARIOS = DATA / "scenarios"
"""The shipped scenarios, with ``policies/`` (policy designs) and ``maps/`` (an example map)."""

SWEEPS = DATA / "sweeps"
"""The shipped sweep files."""

CALIBRATION = DATA / "calibration"
"""The evidence table (``targets.toml``): calibration targets with their sources."""

RESULTS = Path("results")
"""Default results folder, relative to the working directory at the time of writing."""


def source_checkout(root: Path = ROOT) -> bool:
    """Whether ``root`` is Kemitraan's own source checkout (not an install in site-packages).

    A checkout has ``pyproject.toml`` and ``docs/ODD.md`` beside ``sim/``. An installed package
    has neither, even when it sits inside a user's git repository (a project ``.venv``), so the
    user's git commit is never taken for the model's.
    """
    return (root / "pyproject.toml").is_file() and (root / "docs" / "ODD.md").is_file()


CHECKOUT = source_checkout()
"""True when running from a source checkout (or an editable install of one)."""

DOCS = ROOT / "docs" if CHECKOUT else Path(".")
"""Where generated reports go (``validate``): the checkout's ``docs/``, else the working dir."""
