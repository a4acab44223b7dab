"""Domain-free helpers: database plumbing, ids, secrets, request ids, logs, rate limits."""
