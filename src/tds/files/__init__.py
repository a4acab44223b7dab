"""Serving stored files (uploads, inputs, outputs) at their capability URLs."""
