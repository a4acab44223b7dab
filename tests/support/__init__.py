"""Helpers the tests share: servers, accounts, images, database sessions. Fixtures that use
them are registered in tests/conftest.py."""
