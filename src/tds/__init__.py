"""tds: turn a CAD viewport capture into an architectural render through one REST API."""

__version__ = "0.1.0"
