"""benchgrid.ml layer (see DESIGN.md)."""
