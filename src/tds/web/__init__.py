"""The web dashboard: server-rendered pages on the same services as the API."""
