"""benchgrid.store layer (see DESIGN.md)."""
