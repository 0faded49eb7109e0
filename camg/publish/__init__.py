"""Publish stage: a run's tables -> a new run folder (DuckDB + Parquet), switched in atomically."""
