"""Face kept for users' scripts: the rules now live in :mod:`sim.mechanisms.power`."""

from sim.mechanisms.power import *  # noqa: F403
