"""Nutrition rules (DESIGN section 4) applied to values: DRI values per person, the Ca:Mg ratio and its bands.

Stated once here and used by the person assessment and the population figures alike.
"""
