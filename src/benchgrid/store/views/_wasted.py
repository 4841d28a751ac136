"""Wasted runs: runs that started and whose work was thrown away (issue 25).

Every such run is one (job, attempt) that a worker began and whose outcome
is not the job's accepted one, for one of three reasons:

``lost``
    it ended without a result and counts towards ``max_attempts``: its
    worker died (SIGKILL, node lost), froze past its lease and was given up,
    or the job ran past ``job_timeout_s`` (the put-back's ``why`` is
    ``lost`` or ``expired``, or the worker's hand-back says ``lost``);
``handed_back``
    its worker gave it back unfinished without a lost run: a signal (SLURM's
    time limit, ``scancel``), the allocation's deadline, or out of memory
    (the job moved to a larger memory class);
``late``
    it ended with a result after it had been given up (a worker that ran on
    past its lease): fenced out, not used (a result a user's ``retry``
    replaced is the user's choice, not waste).

One run counts once, under the first of ``late``, ``lost``,
``handed_back`` that applies. Its run time is known when its own worker
recorded both its start and its end (a late result, a hand-back); a run
whose worker died says nothing of how long it ran, and ``n_timed`` tells
how many runs ``seconds`` covers. No other host's clock is compared.

A claim held but not started when its worker died or handed it back is not
a wasted run: nothing of it ran (a lease expiry counts a lost run only for
the held job that was running, :func:`~._leases.expire_dead_workers`).

Examples
--------
>>> w = WastedRuns(lost=2, handed_back=0, late=1, seconds=3.5, n_timed=1)
>>> w.n
3
>>> print(w.text())
wasted runs: 3 (2 lost: a worker died, froze past its lease or timed out; 1 late result not used); 3.5 s of run time known for 1 of them
>>> WastedRuns().text()
'wasted runs: 0'
"""

from __future__ import annotations

from dataclasses import dataclass

from ..._format import fmt_seconds
from ..storage._state import ProjectState

__all__ = ["WastedRuns", "wasted_runs"]


@dataclass(frozen=True)
class WastedRuns:
    """How many started runs were thrown away, by reason, and the run time known of them."""

    lost: int = 0  # ended without a result, counted against max_attempts (died, froze past its lease, timed out)
    handed_back: int = 0  # given back unfinished without a lost run (a signal, the allocation's end, out of memory)
    late: int = 0  # a result that came after its run had been given up: fenced out
    seconds: float = 0.0  # run time of the wasted runs whose worker recorded their start and end
    n_timed: int = 0  # how many of the wasted runs ``seconds`` covers

    @property
    def n(self) -> int:
        """Wasted runs in all."""
        return self.lost + self.handed_back + self.late

    def text(self) -> str:
        """One line for people (``benchgrid status``)."""
        if not self.n:
            return "wasted runs: 0"
        parts = [
            f"{n} {what}"
            for n, what in (
                (self.lost, "lost: a worker died, froze past its lease or timed out"),
                (self.handed_back, "handed back unfinished: a signal, the allocation's end or out of memory"),
                (self.late, "late result not used"),
            )
            if n
        ]
        took = f"{self.seconds:.1f} s" if self.seconds < 60 else fmt_seconds(self.seconds)
        known = f"; {took} of run time known for {self.n_timed} of them" if self.n_timed else ""
        return f"wasted runs: {self.n} ({'; '.join(parts)}){known}"


def wasted_runs(state: ProjectState) -> WastedRuns:
    """The wasted runs of a refreshed :class:`ProjectState`: the one rule ``status`` shows.

    Parameters
    ----------
    state : ProjectState
        Refreshed (:meth:`ProjectState.refresh`).

    Returns
    -------
    WastedRuns
    """
    late = state.late_runs()  # (job, attempt) -> seconds
    kinds: dict[tuple[int, int], str] = {key: "late" for key in late}
    seconds = dict(late)
    for key, (run_s, lost) in state.cut_short.items():
        if key not in kinds:
            kinds[key] = "lost" if lost or state.given_up.get(key) else "handed_back"
            seconds[key] = run_s
    for key, counted in state.given_up.items():
        kinds.setdefault(key, "lost" if counted else "handed_back")
    counts = {"lost": 0, "handed_back": 0, "late": 0}
    for kind in kinds.values():
        counts[kind] += 1
    return WastedRuns(**counts, seconds=round(sum(seconds.values()), 3), n_timed=len(seconds))
