"""Domain-free helpers: database plumbing, ids, crypto."""
