"""Face kept for users' scripts: the rules now live in :mod:`sim.mechanisms.metrics`."""

from sim.mechanisms.metrics import *  # noqa: F403
