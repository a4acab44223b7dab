"""Helpers the tests share; the fixtures that use them are registered in tests/conftest.py.

servers (LiveServer, `tds serve` processes), accounts, images, http (error shape, polling),
engines (fakes that fail, block or do no work), db (sessions), databases, workers (Celery)."""
