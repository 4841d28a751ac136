"""SLURM: workers as job arrays (``sbatch --array``); the script text is built by :mod:`._script`."""

from ._backend import (
    SlurmBackend,
    SlurmError,
    Submission,
    cancel,
    max_array_size,
    recorded_job_ids,
    slurm_workers,
    submit,
    worker_counts,
)
from ._script import DEFAULT_MAX_ARRAY_SIZE, parse_slurm_time, slurm_array_script, slurm_array_scripts, split_array

__all__ = [
    "DEFAULT_MAX_ARRAY_SIZE",
    "SlurmBackend",
    "SlurmError",
    "Submission",
    "cancel",
    "max_array_size",
    "parse_slurm_time",
    "recorded_job_ids",
    "slurm_array_script",
    "slurm_array_scripts",
    "slurm_workers",
    "split_array",
    "submit",
    "worker_counts",
]
