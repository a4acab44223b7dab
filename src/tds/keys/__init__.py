"""API keys: generation, offline checksum, keyed digests, issue and revoke."""
