"""SLURM: workers as job arrays (``sbatch --array``): the hooks in :mod:`._backend`, the script in :mod:`._script`."""

from typing import Any

from .._script_checks import parse_time as parse_slurm_time
from .._template import ArrayChunk, split_array
from ._backend import SlurmBackend, SlurmError, Submission, max_array_size
from ._script import DEFAULT_MAX_ARRAY_SIZE, slurm_array_script, slurm_array_scripts

_SLURM = SlurmBackend()  # module functions, as before the base class had them: submit(project, n, **options) ...
submit, cancel, recorded_job_ids, worker_counts = _SLURM.launch, _SLURM.cancel, _SLURM.recorded_job_ids, _SLURM.worker_counts


def slurm_workers(project: Any) -> list[dict[str, str]]:
    """The project's SLURM workers that squeue still knows (it forgets ended ones after ``MinJobAge``), as dicts."""
    return [row.as_dict() for row in _SLURM.workers(project)]


__all__ = ["DEFAULT_MAX_ARRAY_SIZE", "ArrayChunk", "SlurmBackend", "SlurmError", "Submission", "cancel",
           "max_array_size", "parse_slurm_time", "recorded_job_ids", "slurm_array_script", "slurm_array_scripts",
           "slurm_workers", "split_array", "submit", "worker_counts"]
