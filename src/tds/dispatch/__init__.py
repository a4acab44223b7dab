"""Getting renders to workers: the in-process pool (embedded default)."""
