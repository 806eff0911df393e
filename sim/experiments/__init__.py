"""Many runs: engines, the runner, results folders, sweeps, comparisons and validation."""

from sim.experiments.runs import (
    MANIFEST,
    ResultsFolderError,
    is_complete,
    manifest,
    paired_differences,
    prepare_output_folder,
    replicate_seeds,
    run_comparison,
    run_one,
    summarize,
    write_atomic,
    write_results,
)

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
    "summarize",
    "write_atomic",
    "write_results",
]
