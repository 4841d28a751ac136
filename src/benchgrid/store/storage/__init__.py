"""The store's storage: what is on disk and the rules for changing it.

The project's layout and ``project.json`` (``_layout``), the typed settings
(``_settings``), the job table (``_jobs``, ``_job_columns``), the append-only
logs and their records (``_records``, ``_record_types``, ``_droplog``), the
lock (``_lock``, ``_lease_lock``), the claim protocol (``_queue``), leases and
the judgement of a dead worker (``_leases``, ``_observe``, ``_process``),
memory lanes (``_lanes``), lost runs and drops (``_lost``, ``_drops``), the
pool ledger, creation (``_create``) and the job states replayed from the logs
(``_state``). Two guards of what is read: **trust** (who may write the
project and the folders code is imported from: ``_trust``,
``_trusted_folders``) and **integrity** (damaged or missing files are
reported, never read as empty: ``_integrity``).

Nothing here formats for people; that is :mod:`benchgrid.store.views`. The
rest of benchgrid imports the names :mod:`benchgrid.store` exports.
"""
