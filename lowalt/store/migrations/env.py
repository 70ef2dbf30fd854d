"""Alembic environment: runs on the connection lowalt hands over (see lowalt.store.db.migrate)."""

from __future__ import annotations

from alembic import context

from lowalt.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `lowalt db migrate` / lowalt.store.db.migrate")
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
