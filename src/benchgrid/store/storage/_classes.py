"""Job classes: one lanes mechanism for memory, time and resources (issue 21).

A job *needs* a :class:`JobClass`: a memory class (from its ``memory_key``
column, see :mod:`._lanes`), a time class (from its ``time_key`` column of
expected seconds, or raised when it was handed back at a walltime limit) and
resource counts (its ``resource_keys`` columns, e.g. ``gpus``). A worker
*has* a :class:`Capacity`: its memory budget, the time its allocation
gives it and its resource counts. Two rules decide everything:

- :func:`may_claim` — may a worker with this capacity claim a job of this
  class? Memory: the class bound plus a margin fits the budget (the
  smallest class always does); time: the class's lower bound is below the
  worker's limit (the walltime rule then refuses, job by job, what would not
  end in the time left); resources: the worker has at least the counts.
- :func:`claim_order` — which lanes a worker tries, neediest first: jobs
  that need what it has go to it first (a GPU worker takes GPU jobs first, a
  big worker big jobs, a long worker long jobs), so the scarce workers are
  not spent on jobs any worker could run.

Each class is a *lane* of the queue (see :mod:`._queue`). A project with a
``memory_key`` only keeps the lanes of its format (lane *k* is memory class
*k*, 24 lanes); a project with a ``time_key`` or ``resource_keys`` lists its
lanes' classes in the cursor (``lk``, class keys such as ``"6/2/gpus=1"``),
and a lane is added when a job first needs its class, so the cursor holds
only the classes the project uses.

Examples
--------
>>> big_gpu = JobClass(mem=6, time=0, res=(("gpus", 1),))
>>> may_claim(big_gpu, Capacity(mem_gb=16, resources={"gpus": 1}))
True
>>> may_claim(big_gpu, Capacity(mem_gb=16))
False
>>> lanes = [JobClass(), JobClass(res=(("gpus", 1),)), JobClass(mem=6)]
>>> claim_order(lanes, Capacity(mem_gb=16, resources={"gpus": 1}))
[1, 2, 0]
>>> claim_order(lanes, Capacity(mem_gb=2))
[0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..._errors import InputError
from ._lanes import MEM_CLASSES_GB, MEM_MARGIN, N_LANES, expected_gb, lane_above, lane_of

__all__ = [
    "JobClass",
    "Capacity",
    "TIME_CLASSES_S",
    "may_claim",
    "claim_order",
    "class_of",
    "lane_classes",
    "time_class_of",
    "time_class_above",
    "mem_class_above",
    "validate_resource_count",
    "uses_classes",
    "assign_lanes",
]

# upper bounds of the time classes: 1 min, 2 min, 4 min, ... 68 h, then longer
TIME_CLASSES_S: tuple[float, ...] = tuple(60.0 * 2**k for k in range(13)) + (math.inf,)
N_TIME = len(TIME_CLASSES_S)
MAX_RESOURCE_COUNT = 64


@dataclass(frozen=True)
class JobClass:
    """What a job needs: memory class, time class and resource counts (name, count > 0), sorted.

    Examples
    --------
    >>> c = JobClass(mem=6, time=2, res=(("gpus", 1),))
    >>> c.key(), JobClass.parse(c.key()) == c, c.describe()
    ('6/2/gpus=1', True, '<= 4 GB, <= 4:00, gpus=1')
    """

    mem: int = 0
    time: int = 0
    res: tuple[tuple[str, int], ...] = ()

    def key(self) -> str:
        """The class as the cursor's ``lk`` keeps it."""
        return f"{self.mem}/{self.time}/" + ",".join(f"{n}={c}" for n, c in self.res)

    @classmethod
    def parse(cls, key: str) -> "JobClass":
        """The class of a key written by :meth:`key`."""
        mem, time_class, res = str(key).split("/", 2)
        pairs = tuple((n, int(c)) for n, _, c in (item.partition("=") for item in res.split(",") if item))
        return cls(int(mem), int(time_class), pairs)

    def with_(self, *, mem: int | None = None, time: int | None = None) -> "JobClass":
        """This class with another memory or time class."""
        return JobClass(self.mem if mem is None else mem, self.time if time is None else time, self.res)

    def describe(self) -> str:
        """For people: ``<= 4 GB, <= 4:00, gpus=1`` (the parts that are not the smallest)."""
        from ..._format import fmt_seconds

        parts = [f"<= {MEM_CLASSES_GB[self.mem]:g} GB"] if self.mem else []
        if self.time:
            bound = TIME_CLASSES_S[self.time]
            parts.append(f"<= {fmt_seconds(bound)}" if math.isfinite(bound) else f"> {fmt_seconds(TIME_CLASSES_S[-2])}")
        parts += [f"{n}={c}" for n, c in self.res]
        return ", ".join(parts) or "smallest"

    def pool_text(self, need_s: float | None = None) -> str:
        """A ``submit --pool`` of one worker that may claim this class: ``1x4G+1gpu@0:05:00``.

        Memory: the class's bound and its margin (4 GB for the smallest);
        time: twice ``need_s`` (default: the class's bound) and a minute for
        the warning, in whole minutes (``@0:01:00`` when the class has no
        bound of time, a placeholder to edit).

        >>> JobClass(time=1).pool_text(), JobClass(mem=6, res=(("gpus", 1),)).pool_text(45.0)
        ('1x4G@0:03:00', '1x4.4G+1gpu@0:03:00')
        """
        gb = MEM_CLASSES_GB[self.mem] * (1 + MEM_MARGIN) if self.mem else 4
        res = "".join(f"+{c}{'gpu' if n == 'gpus' else n}" for n, c in self.res)
        if need_s is None:
            bound = TIME_CLASSES_S[self.time] if self.time else 0.0
            need_s = bound / 2 if math.isfinite(bound) else 0.0
        minutes = max(1, math.ceil((2 * need_s + 60) / 60 - 1e-9))
        return f"1x{gb:.3g}G{res}@{minutes // 60}:{minutes % 60:02d}:00"


@dataclass(frozen=True)
class Capacity:
    """What a worker has: memory budget (GB), seconds its allocation gives it, resource counts.

    None for memory or time means unknown: such a worker claims every class
    of that dimension (as before classes existed). Resources a worker does
    not list it has none of.
    """

    mem_gb: float | None = None
    limit_s: float | None = None
    resources: Mapping[str, int] = field(default_factory=dict)


def may_claim(job: JobClass, cap: Capacity) -> bool:
    """The one rule: may a worker of capacity ``cap`` claim a job of class ``job``?

    Examples
    --------
    >>> may_claim(JobClass(time=1), Capacity(limit_s=50)), may_claim(JobClass(time=1), Capacity(limit_s=150))
    (False, True)
    >>> may_claim(JobClass(mem=6), Capacity(mem_gb=4.3)), may_claim(JobClass(mem=6), Capacity(mem_gb=4.4))
    (False, True)
    """
    if job.mem and cap.mem_gb is not None and MEM_CLASSES_GB[job.mem] * (1 + MEM_MARGIN) > cap.mem_gb + 1e-9:
        return False
    if job.time and cap.limit_s is not None and TIME_CLASSES_S[job.time - 1] >= cap.limit_s:
        return False
    return all(int(cap.resources.get(name, 0)) >= count for name, count in job.res)


def claim_order(classes: Sequence[JobClass], cap: Capacity) -> list[int]:
    """Lanes (indices of ``classes``) a worker of ``cap`` may claim from, neediest first.

    Resources first (more of them first), then memory, then time, each
    largest first; ties keep the lane order.
    """
    allowed = [i for i, c in enumerate(classes) if may_claim(c, cap)]
    return sorted(allowed, key=lambda i: (-sum(c for _, c in classes[i].res), -classes[i].mem, -classes[i].time, i))


def time_class_of(seconds: float | None) -> int:
    """The smallest time class whose bound holds ``seconds`` (class 0 when unknown).

    Examples
    --------
    >>> time_class_of(None), time_class_of(30), time_class_of(90), time_class_of(10**9)
    (0, 0, 1, 13)
    """
    if seconds is None:
        return 0
    for k, bound in enumerate(TIME_CLASSES_S):
        if seconds <= bound:
            return k
    return N_TIME - 1


def time_class_above(limit_s: float) -> int:
    """The first time class a worker whose limit is ``limit_s`` may not claim (``N_TIME`` when none).

    A job handed back at that limit goes there, to longer workers.

    Examples
    --------
    >>> time_class_above(50), time_class_above(60), time_class_above(150)
    (1, 1, 3)
    """
    for k in range(1, N_TIME):
        if TIME_CLASSES_S[k - 1] >= limit_s:
            return k
    return N_TIME


def mem_class_above(mem: int, budget_gb: float | None) -> int:
    """The memory class a job goes to when it ran out of memory (``N_LANES`` when none is left)."""
    return lane_above(mem, budget_gb)


def validate_resource_count(name: str, value: Any, where: str) -> int:
    """A resource count as an int in ``0..64``; otherwise an :class:`InputError` naming ``where``.

    Examples
    --------
    >>> validate_resource_count("gpus", 2, "jobs[0]")
    2
    >>> validate_resource_count("gpus", -1, "jobs[3]")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: jobs[3]['gpus'] must be a count of gpus (an integer from 0 to 64) or missing, got -1
    """
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RESOURCE_COUNT:
        if isinstance(value, float) and value.is_integer() and 0 <= value <= MAX_RESOURCE_COUNT:
            return int(value)
        raise InputError(
            f"{where}[{name!r}] must be a count of {name} (an integer from 0 to {MAX_RESOURCE_COUNT}) or missing, "
            f"got {value!r}"
        )
    return int(value)


def _expected_s(params: Mapping[str, Any], time_key: str | None, where: str = "job") -> float | None:
    if not time_key:
        return None
    value = params.get(time_key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
        raise InputError(f"{where}[{time_key!r}] must be the expected seconds of the job (a number > 0) or missing, "
                         f"got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def class_of(params: Mapping[str, Any], settings: Any, where: str = "job") -> JobClass:
    """The class a job's declared needs put it in (``settings``: memory_key, time_key, resource_keys).

    Examples
    --------
    >>> from types import SimpleNamespace as S
    >>> s = S(memory_key="gb", time_key="s", resource_keys=("gpus",))
    >>> class_of({"gb": 3, "s": 90, "gpus": 1}, s).key(), class_of({}, s).key()
    ('6/1/gpus=1', '0/0/')
    """
    mem = lane_of(expected_gb(dict(params), settings.memory_key))
    time_class = time_class_of(_expected_s(params, getattr(settings, "time_key", None), where))
    res = []
    for name in getattr(settings, "resource_keys", None) or ():
        count = validate_resource_count(name, params.get(name), where)
        if count:
            res.append((name, count))
    return JobClass(mem, time_class, tuple(sorted(res)))


def uses_classes(settings: Any) -> bool:
    """Whether a project's lanes list their classes (``lk``): it declares time or resources."""
    return bool(getattr(settings, "time_key", None) or getattr(settings, "resource_keys", None))


def lane_classes(cursor: Mapping[str, Any]) -> list[JobClass]:
    """The class of each lane of a cursor: its ``lk``, else memory class *k* for lane *k*."""
    if "lk" in cursor:
        return [JobClass.parse(k) for k in cursor["lk"]]
    return [JobClass(mem=k) for k in range(len(cursor.get("lanes") or [])) if k < N_LANES]


def assign_lanes(first_id: int, params: Sequence[Mapping[str, Any]], settings: Any,
                 cursor: dict[str, Any]) -> dict[int, list[int]]:
    """Job ids from ``first_id`` on, grouped by lane; a class not yet in ``cursor`` gets a new lane.

    ``cursor`` (a claim record with ``lanes``, and ``lk`` when the project
    lists its classes) is extended in place: call under the project lock and
    write it after the lanes' ids. A project with a ``memory_key`` only has
    lane *k* = memory class *k*, as before classes existed.

    Examples
    --------
    >>> from types import SimpleNamespace as S
    >>> cur = {"lanes": [[0, 0]], "lk": ["0/0/"]}
    >>> s = S(memory_key=None, time_key="s", resource_keys=("gpus",))
    >>> assign_lanes(0, [{"s": 1}, {"gpus": 1}, {"s": 100}], s, cur), cur["lk"]
    ({0: [0], 1: [1], 2: [2]}, ['0/0/', '0/0/gpus=1', '0/1/'])
    """
    by_lane: dict[int, list[int]] = {}
    if "lk" not in cursor:
        for i, p in enumerate(params):
            by_lane.setdefault(lane_of(expected_gb(dict(p), settings.memory_key)), []).append(first_id + i)
        return by_lane
    index = {key: k for k, key in enumerate(cursor["lk"])}
    for i, p in enumerate(params):
        key = class_of(p, settings, f"jobs[{first_id + i}]").key()
        if key not in index:
            index[key] = len(cursor["lk"])
            cursor["lk"] = [*cursor["lk"], key]
            cursor["lanes"] = [*cursor["lanes"], [0, 0]]
        by_lane.setdefault(index[key], []).append(first_id + i)
    return by_lane
