"""Renders: create (hold credits), execute on an engine, capture or release, read back."""
