"""Ingest stage: raw export files -> raw canonical rows (text), one reader per export format."""
