"""POST /api/v1/uploads: store a validated, re-encoded image behind a capability URL."""
