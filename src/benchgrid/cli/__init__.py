"""benchgrid.cli layer (see DESIGN.md)."""
