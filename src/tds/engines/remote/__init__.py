"""The `remote` engine: jobs sent to a hosted model API (Replicate's predictions API)."""
