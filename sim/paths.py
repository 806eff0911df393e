"""Where the project's own files live (scenarios, docs) when run from a checkout."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The checkout's top folder: it holds ``sim/``, ``scenarios/``, ``docs/`` and ``results/``."""
