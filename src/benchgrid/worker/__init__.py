"""benchgrid.worker layer (see DESIGN.md)."""
