"""Enrich stage: validated diary rows + composition tables -> intake items with grams, Ca and Mg."""
