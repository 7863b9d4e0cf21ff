"""Restore: put backed-up objects back into Looker, in place where they live, re-created where
they are gone, verified by reading them back. See engine.py for the flow."""
