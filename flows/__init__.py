"""Prefect flows: they only wire camg's plain functions into tasks."""
