"""Alembic migrations of the store, shipped inside the package and run by :meth:`bot.store.Store.upgrade`."""
