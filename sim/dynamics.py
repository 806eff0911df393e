"""Face kept for users' scripts: the rules now live in :mod:`sim.mechanisms.dynamics`."""

from sim.mechanisms.dynamics import *  # noqa: F403
