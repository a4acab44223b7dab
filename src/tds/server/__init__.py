"""The composition root: the app factory and the runtime's start, stop and reaper."""
