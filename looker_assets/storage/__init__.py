"""Everything that talks to SQLite: schema, store, codec."""

from looker_assets.storage.store import ContentStore, Row, StoreError

__all__ = ["ContentStore", "Row", "StoreError"]
