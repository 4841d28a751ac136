"""benchgrid.api: the Project class (create, open, run, submit, status, results)."""
