"""Filing across nodes: per-cell versions and the change log that proves a node's 4D index fresh.

``filing_cells``: one row per grid cell (2 km squares in EPSG:4548, keyed like the advisory locks
of ``lowalt.filing.deconfliction.cell_keys``) whose held airspace changed; ``version`` is bumped in
the transaction that changes it, under the cell's ``pg_advisory_xact_lock``.
``filing_changes``: which plans changed in each (cell, version), so a node brings its in-memory
index up to date by reading only what changed since the version it last saw.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "filing_cells",
        sa.Column("cell", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "filing_changes",
        sa.Column("cell", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("plan_ids", ARRAY(sa.Text), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("filing_changes")
    op.drop_table("filing_cells")
