"""The `tds` command."""
