"""HTTP plumbing that the domains' routes import: dependencies, errors, OpenAPI, middleware,
metrics and the runtime's type. Nothing here imports a domain with routes."""
