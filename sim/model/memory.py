"""Memory: what a run will need, estimated before it starts, and refused if it cannot fit.

A model with twenty million households does not fail politely: the operating system kills it
(or the whole machine swaps) minutes into building the graph. So every model and every command
first estimates the bytes it will need from the scenario, and refuses with a
:class:`MemoryLimitError` naming the lever, its value and the largest size that fits when the
estimate exceeds the memory available now (``MemAvailable`` in ``/proc/meminfo``) or the cap
set in the environment variable ``KEMITRAAN_MEMORY_LIMIT`` (e.g. ``2GB``, ``500MB``).

The estimate counts the model's arrays and graph (constants measured as peak resident memory of
Python 3.11, numpy 2.4 and networkx 3.6 models of 20 000 to 80 000 households; the test
``tests/test_bad_inputs.py::test_memory_estimate_is_close_to_measured`` keeps them honest):

==========================  ==========  =====================================================
item                        bytes       what
==========================  ==========  =====================================================
household                   600         arrays, graph node and adjacency dict, Mesa bookkeeping
social tie                  280         an edge in both adjacency dicts, its attributes, CSR
organization-household tie  200         an edge from an organization to a household it serves
household x organization    48          trust, tie and tie weight, degree, two work arrays
recorded step               1 000       one row of 24 outcomes in the DataCollector
results row                 600         one row of the tidy table, twice while concatenating
==========================  ==========  =====================================================

Example:
    >>> from sim.scenario.schema import Scenario
    >>> small = Scenario.from_dict({"population": {"households": 1000, "villages": 10}})
    >>> 1_000_000 < model_bytes(small) < 10_000_000
    True
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from sim.errors import UserError
from sim.scenario.schema import Scenario

__all__ = [
    "MemoryLimitError",
    "available_bytes",
    "check_fits",
    "format_bytes",
    "memory_cap",
    "model_bytes",
    "results_bytes",
]

PER_HOUSEHOLD = 600
PER_SOCIAL_TIE = 280
PER_ORG_TIE = 200
PER_HOUSEHOLD_ORG = 48
PER_RECORDED_STEP = 1_000
PER_RESULTS_ROW = 600

CAP_VARIABLE = "KEMITRAAN_MEMORY_LIMIT"
"""Environment variable holding an optional memory cap, e.g. ``2GB`` or ``750MB``."""


class MemoryLimitError(UserError):
    """A run that would need more memory than is available or allowed."""


def model_bytes(scenario: Scenario, steps: int | None = None) -> int:
    """Estimated peak bytes of one :class:`~sim.model.PartnershipModel` run for ``steps``.

    Social ties: ``n·k/2`` within villages plus ``n·ties_across`` across them. Organization
    ties: every government serves all villages, each firm and NGO its coverage share.
    """
    pop, orgs = scenario.population, scenario.organizations
    n = pop.households
    n_orgs = orgs.governments + orgs.firms + orgs.ngos
    social = n * pop.ties_within / 2 + n * pop.ties_across
    served = n * (
        orgs.governments + orgs.firms * orgs.firm_coverage + orgs.ngos * orgs.ngo_coverage
    )
    steps = scenario.run.steps if steps is None else steps
    return int(
        n * (PER_HOUSEHOLD + PER_HOUSEHOLD_ORG * n_orgs)
        + social * PER_SOCIAL_TIE
        + served * PER_ORG_TIE
        + (steps + 1) * PER_RECORDED_STEP
    )


def results_bytes(rows: int) -> int:
    """Estimated bytes of a tidy results table of ``rows`` rows while it is assembled."""
    return int(rows * PER_RESULTS_ROW)


def available_bytes() -> int | None:
    """Memory available to new allocations now (Linux ``MemAvailable``), or None if unknown."""
    try:
        text = Path("/proc/meminfo").read_text()
        match = re.search(r"^MemAvailable:\s+(\d+)\s+kB", text, re.MULTILINE)
        if match:
            return int(match.group(1)) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def memory_cap() -> int | None:
    """The cap in ``KEMITRAAN_MEMORY_LIMIT`` in bytes, or None when unset.

    Example:
        >>> os.environ[CAP_VARIABLE] = "1.5GB"; memory_cap()
        1500000000
        >>> del os.environ[CAP_VARIABLE]
    """
    text = os.environ.get(CAP_VARIABLE, "").strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)B?", text.upper())
    if not match or float(match.group(1)) <= 0:
        raise UserError(
            f"environment {CAP_VARIABLE}={text!r}: expected a positive size such as 2GB or 500MB"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def format_bytes(n: float) -> str:
    """``n`` bytes in readable units (decimal).

    Example:
        >>> format_bytes(2_500_000_000)
        '2.5 GB'
    """
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} TB"


def check_fits(
    scenarios: Iterable[Scenario],
    *,
    replications: int = 1,
    steps: int | None = None,
    workers: int = 1,
    source: str = "scenario",
    files: Iterable[object] | None = None,
) -> int:
    """Refuse a run that would not fit in memory; return the estimated bytes otherwise.

    ``workers`` models are alive at once (the largest ones, to be safe), and the tidy table of
    all runs is held in memory before it is written. ``files`` (aligned with ``scenarios``)
    name the file of the scenario the message blames; otherwise ``source`` is named.

    Raises:
        MemoryLimitError: naming the lever and value, the estimate, the limit, and what fits.
    """
    scenarios = list(scenarios)
    if not scenarios:
        return 0
    names = [str(f) for f in files] if files is not None else [source] * len(scenarios)
    sizes = sorted(
        ((model_bytes(s, steps), s, name) for s, name in zip(scenarios, names, strict=True)),
        key=lambda item: item[0],
    )
    parallel = min(workers, replications * len(scenarios))
    models = sum(item[0] for item in sizes[-parallel:])
    rows = sum(replications * ((steps or s.run.steps) + 1) for s in scenarios)
    table = results_bytes(rows)
    need = models + table
    cap, available = memory_cap(), available_bytes()
    limits = [(v, w) for v, w in ((cap, CAP_VARIABLE), (available, "available memory")) if v]
    if not limits:
        return need
    limit, limit_name = min(limits, key=lambda item: item[0])
    if need <= limit:
        return need
    biggest_bytes, biggest, source = sizes[-1]
    if models >= table:
        n = biggest.population.households
        per_household = biggest_bytes / n
        fits = int(max(0, limit - table) / parallel / per_household)
        what = f"population.households = {n}: about {format_bytes(per_household)} per household" + (
            f", {parallel} models at once (--workers)" if parallel > 1 else ""
        )
        allowed = f"at most about {fits} households with these settings"
    else:
        per_run = table / (replications * len(scenarios))
        fits = int(max(0, limit - models) / (per_run * len(scenarios)))
        what = (
            f"replications = {replications} of {len(scenarios)} scenario(s) with "
            f"{rows // (replications * len(scenarios))} recorded steps each: a results table "
            f"of {rows} rows"
        )
        allowed = f"at most about {fits} replications with these steps"
    raise MemoryLimitError(
        f"{source}: {what} would need about {format_bytes(need)}, more than the "
        f"{format_bytes(limit)} of {limit_name}; allowed: {allowed} (see docs/reliability.md)"
    )
