"""Operations: settings, run lock, logs, progress, liveness, cache, SQL files, bounded DuckDB.

Used by every stage; imports none of them.
"""
