"""Idempotency-Key handling for POSTs (Stripe semantics)."""
