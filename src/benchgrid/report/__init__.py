"""benchgrid.report layer (see DESIGN.md)."""
