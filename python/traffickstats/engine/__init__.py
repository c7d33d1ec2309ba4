"""The engine: typed columnar tables, CSV and Arrow I/O and group-by (no data model)."""
