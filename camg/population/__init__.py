"""Population stage: persons + survey design -> single-day and usual-intake figures with SEs."""
