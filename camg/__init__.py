"""camg: calcium and magnesium balance from dietary surveys."""

__version__ = "0.1.0"
