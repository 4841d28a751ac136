"""The store's views: what the storage says, read for people and for checks.

The status (``_status``: :class:`Status`, counts, running jobs, errors,
throughput, ETA; the result columns), its text (``_status_text``), the memory
view (``_memory``: jobs waiting per memory class, a starved class), the
**audit** of the logs (``_audit``: every (job, attempt) handed out once, one
accepted result per job; what ``benchgrid check`` prints) and the names a
result may take in the results table (``_result_names``).

Views read :mod:`benchgrid.store.storage`; storage never imports a view
(tests/test_layers.py).
"""
