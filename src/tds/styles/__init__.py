"""GET /api/v1/styles: the catalogue as the API shows it."""
