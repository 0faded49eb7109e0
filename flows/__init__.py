"""Prefect flows: they only wire camg's plain functions into tasks."""

import camg  # noqa: F401  first: it sets the allocator variables before anything imports polars
