"""Loaders that map public reference data sets into the data contract (thin extracts for model checks)."""
