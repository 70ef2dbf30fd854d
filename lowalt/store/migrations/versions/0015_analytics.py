"""Analytics (issue #20): an hourly rollup of track history per 1 km cell, and the indexes the measures'
windows need (``lowalt.analytics.measures``, docs/analytics.md).

- ``analytics_cell_hours``: seconds each aircraft spent in each EPSG:4548 1 km cell in each closed hour
  (the cells measure's flight hours). Projecting every report to EPSG:4548 is the measures' main cost
  (about 3 us a report in PostGIS, 86 M reports a day at 1,000 aircraft): the rollup pays it once per
  hour, and a day's report then reads about 10^5 rows. ``analytics_corridor_hours``: per closed hour and
  route, flights and peak simultaneous aircraft for every organisation (``scope`` ``org:<name>``, ``none``)
  and for all (``all``). ``analytics_rolled_hours`` records which hours
  are rolled up (``lowalt.store.analytics_repo.roll_up``); an hour is rolled once it has been closed for
  ``SETTLE`` (reports written later than that are not in it; docs/analytics.md).
- indexes for windows on ``plans.starts_at`` / ``ends_at`` (take-off and landing movements; the existing
  ``plans_state_time_idx`` leads with the state), ``plan_events.at`` (decisions) and the raised events
  of ``alert_events`` by ``first_seen`` (alerts per window).

Not done: partitioning ``track_points`` by time. On PostgreSQL 15 the partition key cannot be its
generated column ``t`` (it would be ``t_epoch``), every unique key (the identity ``id`` of 0008) must
include the key, identity values are filled only for rows inserted through the parent, and the history
would have to be copied into the new table while the history consumer waits. BRIN on ``t`` and this
rollup keep the measures' reads bounded meanwhile.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_cell_hours",
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("cx", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("cy", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("aircraft_id", sa.Text, primary_key=True),
        sa.Column("seconds", sa.Float, nullable=False),
    )
    op.create_table(
        "analytics_corridor_hours",
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("route_id", sa.Text, primary_key=True),
        sa.Column("scope", sa.Text, primary_key=True),
        sa.Column("flights", sa.Integer, nullable=False),
        sa.Column("peak", sa.Integer, nullable=False),
    )
    op.create_table(
        "analytics_rolled_hours",
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("plans_starts_at_idx", "plans", ["starts_at"])
    op.create_index("plans_ends_at_idx", "plans", ["ends_at"])
    op.create_index("plan_events_at_idx", "plan_events", ["at"])
    op.create_index("alert_events_raised_idx", "alert_events", ["first_seen"],
                    postgresql_where=sa.text("event = 'raised'"))


def downgrade() -> None:
    op.drop_index("alert_events_raised_idx", table_name="alert_events")
    op.drop_index("plan_events_at_idx", table_name="plan_events")
    op.drop_index("plans_ends_at_idx", table_name="plans")
    op.drop_index("plans_starts_at_idx", table_name="plans")
    op.drop_table("analytics_rolled_hours")
    op.drop_table("analytics_corridor_hours")
    op.drop_table("analytics_cell_hours")
