"""benchgrid.plots layer (see DESIGN.md)."""
