"""Validate stage: raw text rows -> typed canonical rows, or quarantine with the rule they broke."""
