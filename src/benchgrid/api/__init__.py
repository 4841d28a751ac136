"""benchgrid.api layer (see DESIGN.md)."""
