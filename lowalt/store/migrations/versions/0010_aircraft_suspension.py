"""Aircraft suspension: who suspended or reinstated an aircraft, when and why (an insert-only audit),
and the index that lets authentication find a device's aircraft.

``aircraft.suspended`` itself exists since 0004 (filing refuses a suspended aircraft). From 0010 the
centre sets it through ``POST /aircraft/{id}/suspend`` and ``/reinstate``; each change adds one
``aircraft_audit`` row in the same transaction. A device token whose bound aircraft are all suspended
is refused at authentication (``lowalt.store.identity_repo.check_tokens``), which looks the aircraft up
by ``device_user_id``.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "aircraft_audit",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("aircraft_id", sa.String(64), sa.ForeignKey("aircraft.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("by_user", sa.String(120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("action IN ('suspend', 'reinstate')", name="aircraft_audit_action"),
    )
    op.create_index("aircraft_audit_aircraft_idx", "aircraft_audit", ["aircraft_id", "id"])
    op.create_index("aircraft_device_user_idx", "aircraft", ["device_user_id"])


def downgrade() -> None:
    op.drop_index("aircraft_device_user_idx", table_name="aircraft")
    op.drop_index("aircraft_audit_aircraft_idx", table_name="aircraft_audit")
    op.drop_table("aircraft_audit")
