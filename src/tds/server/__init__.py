"""The HTTP server: app factory, runtime wiring, dependencies, error rendering."""
