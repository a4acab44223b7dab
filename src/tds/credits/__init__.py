"""The credit ledger: every change to a balance goes through tds.credits.ledger."""
