"""Assess stage: intake items -> person-day and person intakes, Ca:Mg ratio, DRI assessment."""
