"""Government fleets (政务"一网统飞", issue #19): standing approvals for patrol areas, the priority levels of
emergency > police > inspection > commercial, and preemption in the coordination audit.

- ``standing_approvals``: a government organisation's standing approval, registered by the centre (an
  area, an altitude band with its references, a validity window, the missions it covers); revoked, never
  deleted (who, when, why).
- ``coordination_audit.subject`` admits ``standing`` (created, revoked) and ``preemption`` (who
  preempted which plan, when, under which rule): the audit stays insert-only.
- ``plans.priority`` is renumbered: the emergency level moves from 3 to 4, so police (3) and inspection
  (2) fit between it and commercial (1) (``lowalt.filing.model.Priority``).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

OLD_SUBJECTS = ("constraint", "approval", "case")
SUBJECTS = (*OLD_SUBJECTS, "standing", "preemption")


def _subjects_check(subjects: tuple[str, ...]) -> None:
    op.drop_constraint("coordination_audit_subject", "coordination_audit", type_="check")
    op.create_check_constraint("coordination_audit_subject", "coordination_audit",
                               f"subject IN ({', '.join(repr(s) for s in subjects)})")


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "standing_approvals",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("organisation", sa.String(120), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("geometry", JSONB, nullable=False),
        sa.Column("floor_m", sa.Float, nullable=False),
        sa.Column("floor_ref", sa.String(8), nullable=False),
        sa.Column("ceiling_m", sa.Float, nullable=False),
        sa.Column("ceiling_ref", sa.String(8), nullable=False),
        sa.Column("starts_at", ts, nullable=False),
        sa.Column("ends_at", ts, nullable=False),
        sa.Column("missions", ARRAY(sa.Text), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("revoked_by", sa.String(120), nullable=True),
        sa.Column("revoked_at", ts, nullable=True),
        sa.Column("revoke_reason", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint("state IN ('active', 'revoked')", name="standing_approvals_state"),
        sa.CheckConstraint("ends_at > starts_at", name="standing_approvals_window"),
    )
    op.create_index("standing_approvals_org_idx", "standing_approvals", ["organisation", "state", "ends_at"])
    # the trigger refuses UPDATE/DELETE of rows, not a change of the table's own constraint
    _subjects_check(SUBJECTS)
    op.execute("UPDATE plans SET priority = 4 WHERE priority = 3")


def downgrade() -> None:
    op.execute("UPDATE plans SET priority = 1 WHERE priority = 2")
    op.execute("UPDATE plans SET priority = 3 WHERE priority = 4")
    op.execute("ALTER TABLE coordination_audit DISABLE TRIGGER coordination_audit_insert_only")
    op.execute("DELETE FROM coordination_audit WHERE subject IN ('standing', 'preemption')")
    op.execute("ALTER TABLE coordination_audit ENABLE TRIGGER coordination_audit_insert_only")
    _subjects_check(OLD_SUBJECTS)
    op.drop_index("standing_approvals_org_idx", "standing_approvals")
    op.drop_table("standing_approvals")
