"""The status summary as text and HTML: one formatter for ``benchgrid status``, the REPL and notebooks."""

from __future__ import annotations

import html
from typing import Any

from ..._format import fmt_seconds


__all__ = ["fmt_seconds", "memory_lines", "status_html", "status_lines"]


def _gb(x: float) -> str:
    return f"{x:g} GB"


def memory_lines(memory: dict[str, Any] | None) -> list[str]:
    """The memory part of the status (projects with memory lanes): pools, classes waiting, escalations.

    Examples
    --------
    >>> for line in memory_lines({"pools": [{"mem_gb": 4.0, "alive": 2, "largest_class_gb": 2.83}],
    ...                           "lanes": [{"class_gb": 0.5, "waiting": 7, "served": True},
    ...                                     {"class_gb": 8.0, "waiting": 1, "served": False}],
    ...                           "escalated": [{"job_id": 6, "reason": "out of memory; moved to the 8 GB class"}]}):
    ...     print(line)
      memory pools (live workers): 2 x 4 GB (jobs up to 2.83 GB)
      waiting per memory class: <= 0.5 GB: 7; <= 8 GB: 1 (no live worker takes these)
      moved to a larger memory class:
        job 6: out of memory; moved to the 8 GB class
    """
    if not memory:
        return []
    pools = [
        f"{p['alive']} x " + ("unknown budget (any job)" if p["mem_gb"] is None
                             else f"{_gb(p['mem_gb'])} (jobs up to {_gb(p['largest_class_gb'])})")
        for p in memory.get("pools", [])
    ]
    lines = [f"  memory pools (live workers): {', '.join(pools) if pools else 'none'}"]
    lanes = [
        f"<= {_gb(lane['class_gb'])}: {lane['waiting']}" + ("" if lane["served"] or not pools else " (no live worker takes these)")
        for lane in memory.get("lanes", [])
    ]
    if lanes:
        lines.append(f"  waiting per memory class: {'; '.join(lanes)}")
    if memory.get("escalated"):
        lines.append("  moved to a larger memory class:")
        lines += [f"    job {e['job_id']}: {e['reason']}" for e in memory["escalated"]]
    return lines


def status_lines(
    status: Any,
    *,
    project: dict[str, Any] | None = None,
    schedulers: dict[str, dict[str, int]] | None = None,
) -> list[str]:
    """The lines ``benchgrid status`` prints.

    ``project`` is the content of ``project.json`` (adds the runner and the
    code folders; default: the status's own, which :meth:`Project.status`
    gives it); ``schedulers`` the worker counts per scheduler
    (``{"SLURM": {"pending": 1, ...}}``), when known.
    """
    if project is None:
        project = getattr(status, "project", None)
    where = f"project {status.project_dir}: " if status.project_dir else ""
    lines = [f"{where}{status.n_jobs} jobs"]
    if project is not None:
        lines.append(f"  runner: {project.get('runner')}")
        from ..storage._settings import ProjectSettings
        from ..storage._trusted_folders import untrusted_reason

        group_shared = ProjectSettings.of(project.get("settings", {})).group_shared
        folders = []
        for folder in project.get("code_path") or []:
            reason = untrusted_reason(folder, group_shared)
            folders.append(folder if reason is None else f"{folder} (not searched: {reason})")
        lines.append(f"  code path: {', '.join(folders) if folders else '(installed packages only)'}")
    c = status.counts
    lines.append("  " + "  ".join(f"{s} {c[s]}" for s in c))
    w = status.workers
    lines.append(f"  workers: {w.get('alive', 0)} alive, {w.get('dead', 0)} dead, {w.get('exited', 0)} exited")
    for title, n in (schedulers or {}).items():
        lines.append(f"  {title} workers: {n['pending']} pending, {n['running']} running, {n['ended']} ended")
    if status.finished:
        if status.overall_per_s is not None:
            lines.append(f"  throughput over the run: {status.overall_per_s:,.2f} jobs/s (first claim to last end)")
    else:
        rate = status.recent_per_s or status.overall_per_s
        lines.append(f"  throughput: {rate or 0:,.2f} jobs/s   ETA: {fmt_seconds(status.eta_s)}")
    if status.running:
        lines.append("  running:")
        for r in status.running[:20]:
            lines.append(
                f"    job {r['job_id']} (attempt {r['attempt']}) on {r['worker']} @ {r['host']}: "
                f"{fmt_seconds(r['elapsed_s'])}"
            )
    if status.errors:
        lines.append("  recent errors (benchgrid results DIR, or Project.errors() for tracebacks):")
        for e in status.errors:
            lines.append(f"    job {e['job_id']} attempt {e['attempt']}: {e['error']}")
    if status.stranded:
        lines.append(f"  stranded jobs: {status.stranded[:20]}")
    lines += memory_lines(getattr(status, "memory", None))
    if status.clock_offsets:
        offs = ", ".join(f"{w} {'+' if o > 0 else '-'}{fmt_seconds(abs(o))}" for w, o in sorted(status.clock_offsets.items())[:5])
        lines.append(
            f"  note: {len(status.clock_offsets)} worker(s) have a clock off the file server's ({offs}); their "
            "timestamps are shifted by as much, and no decision depends on them (fix the host's time: chronyc tracking)"
        )
    wasted = getattr(status, "wasted", None)
    if wasted is not None and wasted.n:
        lines.append(f"  {wasted.text()}")
    if status.stale_results:
        lines.append(
            f"  note: {status.stale_results} late result(s) of runs already given up (a worker that ran on past "
            "its lease) were not used; each job keeps its latest run's result"
        )
    if status.hint:
        lines.append(f"  hint: {status.hint}")
    checked = status.last_audit
    if checked is not None and not checked["ok"]:
        import time

        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(checked["t"]))
        lines.append(
            f"  WARNING: the last check ({when}) found {checked['n_problems']} problem(s); "
            f"see `benchgrid check {status.project_dir or 'DIR'}`"
        )
    return lines


def status_html(status: Any) -> str:
    """A small HTML table of the counts plus the text summary (for notebooks)."""
    counts = "".join(
        f"<td style='padding:0 .6em'><b>{html.escape(str(n))}</b> {html.escape(s)}</td>"
        for s, n in status.counts.items()
    )
    text = html.escape("\n".join(status_lines(status)[1:]))
    title = html.escape(f"{status.project_dir or 'benchgrid project'}: {status.n_jobs} jobs")
    return (
        f"<div class='benchgrid-status'><div><b>{title}</b></div>"
        f"<table><tr>{counts}</tr></table><pre>{text}</pre></div>"
    )
