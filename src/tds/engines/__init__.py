"""Render engines. Nothing here imports server code: an engine is a job in, an image out."""
