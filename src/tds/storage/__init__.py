"""Blob storage for uploads, render inputs and outputs."""
