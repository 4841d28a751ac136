"""benchgrid.backends layer (see DESIGN.md)."""
