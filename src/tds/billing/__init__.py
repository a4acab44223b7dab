"""Buying credits: packs as data, Stripe Checkout, and the webhook that grants a paid pack once."""
