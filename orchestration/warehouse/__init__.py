"""Engine connections and the published copy of the DuckDB warehouse."""
