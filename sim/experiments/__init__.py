"""Many runs: tasks, engines, the runner, statistics, results, sweeps, comparisons, validation.

The face of the floor: the names users' scripts and the README use. The modules, bottom up:
``disk`` (atomic writes, checksums), ``tasks`` (what a run is, replicate seeds), ``stats`` (the
t-interval, paired differences, Holm), ``store`` (a sweep's runs on disk), ``engines`` (where
runs execute), ``runs`` (the one runner), ``results`` (results folders and manifests),
``sweep``, ``analysis``, ``compare``, ``validation`` (arms and their runner), ``effects``
(paired effects, bands and verdicts) and ``discovery`` (PRIM boxes of the conditions under
which runs fail, with EMA Workbench's PRIM).
"""

from sim.experiments.disk import write_atomic
from sim.experiments.results import (
    MANIFEST,
    ResultsFolderError,
    is_complete,
    manifest,
    prepare_output_folder,
    save_figure,
    steps_run,
    write_results,
)
from sim.experiments.runs import run_comparison, run_one
from sim.experiments.stats import paired_differences, summarize
from sim.experiments.tasks import replicate_seeds

__all__ = [
    "MANIFEST",
    "ResultsFolderError",
    "is_complete",
    "manifest",
    "paired_differences",
    "prepare_output_folder",
    "replicate_seeds",
    "run_comparison",
    "run_one",
    "save_figure",
    "steps_run",
    "summarize",
    "write_atomic",
    "write_results",
]
