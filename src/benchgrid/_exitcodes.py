"""Exit codes of the ``benchgrid`` command and of its worker processes.

One table, so the CLI, the local supervisor and the docs agree:

====  ===================  =====================================================
code  name                 meaning
====  ===================  =====================================================
0     ``OK``               every job is done
1     ``ERRORS``           every job ended, some with a runner error (``retry``)
2     ``USAGE``            bad input or a damaged project (the message says which)
3     ``FAILED``           some jobs failed: they lost ``max_attempts`` runs
4     ``INCOMPLETE``       ``run`` stopped with jobs left: its workers kept dying
                           before taking a job (see their messages)
5     ``DISK_FULL``        the disk filled; jobs were handed back, free space and
                           run again
75    ``WORKER_RESTART``   (a worker only) it stopped itself after putting its
                           job back (past ``job_timeout_s``, or the memory
                           guard); start another in its place
130   ``INTERRUPTED``      Ctrl-C / SIGINT; running jobs were handed back
====  ===================  =====================================================

When several apply, ``run`` returns the first of DISK_FULL, INCOMPLETE,
FAILED, ERRORS.

Examples
--------
>>> EXIT_DISK_FULL, EXIT_INTERRUPTED
(5, 130)
"""

from __future__ import annotations

__all__ = [
    "EXIT_OK",
    "EXIT_ERRORS",
    "EXIT_USAGE",
    "EXIT_FAILED",
    "EXIT_INCOMPLETE",
    "EXIT_DISK_FULL",
    "EXIT_WORKER_RESTART",
    "EXIT_INTERRUPTED",
]

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_INCOMPLETE = 4
EXIT_DISK_FULL = 5
EXIT_WORKER_RESTART = 75  # EX_TEMPFAIL in sysexits.h
EXIT_INTERRUPTED = 130
