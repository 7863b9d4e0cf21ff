"""Migrate: backed-up content into another Looker instance, by plan (identity.py, target.py,
scope.py, run.py)."""
