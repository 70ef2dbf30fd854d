"""Analytics (issue #20): a per-minute rollup for the hours not rolled up yet, so the dashboard's live hour
reads at most the last minute or two of raw history (``lowalt.analytics.measures.reads``).

- ``analytics_cell_minutes``: seconds each aircraft spent in each EPSG:4548 1 km cell in each closed
  minute (as ``analytics_cell_hours`` per hour).
- ``analytics_corridor_minutes``: per closed minute, route and scope (``all``, ``org:<name>``, ``none``) the
  most aircraft inside in one second and the aircraft inside (an array: an hour's flights are its distinct
  aircraft, which minute counts cannot give).
- ``analytics_rolled_minutes``: which minutes are rolled up.

The minutes of an hour are rolled into the hourly tables and deleted once the hour is rolled
(``lowalt.store.analytics_repo.roll_up``), so these tables hold an hour or two.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_cell_minutes",
        sa.Column("minute", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("cx", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("cy", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("aircraft_id", sa.Text, primary_key=True),
        sa.Column("seconds", sa.Float, nullable=False),
    )
    op.create_table(
        "analytics_corridor_minutes",
        sa.Column("minute", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("route_id", sa.Text, primary_key=True),
        sa.Column("scope", sa.Text, primary_key=True),
        sa.Column("peak", sa.Integer, nullable=False),
        sa.Column("aircraft", ARRAY(sa.Text), nullable=False),
    )
    op.create_table(
        "analytics_rolled_minutes",
        sa.Column("minute", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("analytics_rolled_minutes")
    op.drop_table("analytics_corridor_minutes")
    op.drop_table("analytics_cell_minutes")
