"""Hostile-input suites run behind the fetch suite's network guard: any connect off this
machine or any real DNS lookup fails the test, and a canary on loopback must see no hit."""

from tests.fetch.conftest import canary, canary_never_hit, network_guard

__all__ = ["canary", "canary_never_hit", "network_guard"]
