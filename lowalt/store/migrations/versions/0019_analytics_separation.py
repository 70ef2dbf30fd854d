"""Analytics (issue #20): corridor separation and density, rolled up with the corridors' minutes and hours.

``analytics_separation``: per rolled minute or hour (``span``), route and scope (``all``, ``org:<name>``,
``none``, as ``analytics_corridor_hours``), the separation samples (an aircraft inside a corridor, in a
second when another one is inside too: the horizontal distance to the nearest of them), their sum in whole millimetres (integers add up the same in any order),
their histogram (``metres``: the bins' lower edges in whole metres, 5 m wide below 500 m, 5 % above;
``counts`` beside them: a p95 of any union of buckets is read from the summed histograms, to the bin) and the pair-seconds in loss of separation (below the
monitor's minima, ``lowalt.conflict.separation.SeparationMatrix``), and the aircraft-seconds inside
(``inside_s``: the corridor's mean aircraft per km is ``inside_s`` / seconds / length). A row exists for
every bucket, route and scope with an aircraft inside; without a second aircraft its samples are 0 and its
arrays empty. Definitions:
``lowalt.analytics.measures._separation`` and docs/analytics.md. Minute rows are dropped with the other
per-minute rows once their hour is rolled.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_separation",
        sa.Column("span", sa.Text, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("route_id", sa.Text, primary_key=True),
        sa.Column("scope", sa.Text, primary_key=True),
        sa.Column("samples", sa.BigInteger, nullable=False),
        sa.Column("sum_mm", sa.BigInteger, nullable=False),
        sa.Column("metres", ARRAY(sa.Integer), nullable=False),
        sa.Column("counts", ARRAY(sa.Integer), nullable=False),
        sa.Column("los_s", sa.BigInteger, nullable=False),
        sa.Column("inside_s", sa.BigInteger, nullable=False),
        sa.CheckConstraint("span IN ('minute', 'hour')", name="analytics_separation_span"),
    )


def downgrade() -> None:
    op.drop_table("analytics_separation")
