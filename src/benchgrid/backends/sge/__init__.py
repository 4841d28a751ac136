"""Grid Engine (Son of Grid Engine, Univa/Altair): workers as one array job (``qsub -t``)."""

from ._backend import SgeBackend, SgeError, parse_qstat_xml
from ._script import SgeArray, sge_array

__all__ = ["SgeArray", "SgeBackend", "SgeError", "parse_qstat_xml", "sge_array"]
