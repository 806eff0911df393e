"""Face kept for ``solara run sim/app.py`` and users' scripts: see :mod:`sim.present.app`."""

from sim.present.app import *  # noqa: F403
from sim.present.app import Page  # noqa: F401  (Solara looks for ``Page`` by name)
