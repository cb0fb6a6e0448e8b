"""Alembic environment: runs migrations on the connection :meth:`bot.store.Store.upgrade` hands over.

There is no ``alembic.ini``: the store builds the :class:`alembic.config.Config` in code and passes its open
connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from bot.store._models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("newsbrief migrations run only through Store.upgrade(), which passes a live connection")
_run(connection)
