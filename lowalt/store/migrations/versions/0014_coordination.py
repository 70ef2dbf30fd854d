"""Three-party coordination (军地民, issue #19): the parties' roles, their constraints' versions, each
authority's part of a multi-party approval, counter-UAS cases, and one audit of all three.

- ``users.role`` admits ``military``, ``atc`` and ``police``.
- ``coordination_constraints``: one row per version of a party constraint (a change is a new version,
  never an overwrite; the airspace restriction that carries a version is named by ``restriction_id``).
- ``coordination_approvals``: one row per (plan, authority); its decision (who, when, why, on which
  constraint versions) is set once, and logged in the audit.
- ``cuas_cases``: an unauthorised or non-cooperative track handed to police, with the facts at hand-off.
- ``coordination_audit``: insert-only (a trigger refuses UPDATE and DELETE), as ``alert_events``.

Revision ID: 0014
Revises: 0011 (0012/0013 were not on main when this was written; chain after them when they land)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None

OLD_ROLES = ("operator", "device", "centre", "viewer", "admin")
ROLES = (*OLD_ROLES, "military", "atc", "police")


def _roles_check(roles: tuple[str, ...]) -> None:
    op.drop_constraint("users_role_known", "users", type_="check")
    op.create_check_constraint("users_role_known", "users", f"role IN ({', '.join(repr(r) for r in roles)})")


def upgrade() -> None:
    _roles_check(ROLES)
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "coordination_constraints",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("constraint_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("authority", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("geometry", JSONB, nullable=False),
        sa.Column("floor_m", sa.Float, nullable=False),
        sa.Column("floor_ref", sa.String(8), nullable=False),
        sa.Column("ceiling_m", sa.Float, nullable=False),
        sa.Column("ceiling_ref", sa.String(8), nullable=False),
        sa.Column("starts_at", ts, nullable=False),
        sa.Column("ends_at", ts, nullable=False),
        sa.Column("short_notice", sa.Boolean, nullable=False),
        sa.Column("coordinated_categories", ARRAY(sa.Text), nullable=False),
        sa.Column("restriction_id", sa.String(120), nullable=True),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.UniqueConstraint("constraint_id", "version", name="coordination_constraints_version"),
        sa.CheckConstraint("authority IN ('military', 'atc', 'local')", name="coordination_constraints_authority"),
        sa.CheckConstraint("status IN ('active', 'cancelled')", name="coordination_constraints_status"),
    )
    op.create_table(
        "coordination_approvals",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("plan_id", sa.Text, nullable=False),
        sa.Column("authority", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decide_by", ts, nullable=False),
        sa.Column("escalated_at", ts, nullable=True),
        sa.Column("decided_by", sa.String(120), nullable=True),
        sa.Column("decided_at", ts, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("constraint_refs", ARRAY(sa.Text), nullable=False),
        sa.Column("decided_on", ARRAY(sa.Text), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.UniqueConstraint("plan_id", "authority", name="coordination_approvals_plan_authority"),
        sa.CheckConstraint("state IN ('pending', 'approved', 'refused')", name="coordination_approvals_state"),
    )
    op.create_table(
        "cuas_cases",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("aircraft_id", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("alert_id", sa.String(64), nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("facts", JSONB, nullable=False),
        sa.Column("opened_by", sa.String(120), nullable=False),
        sa.Column("opened_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.CheckConstraint("kind IN ('unauthorised', 'non_cooperative')", name="cuas_cases_kind"),
        sa.CheckConstraint("state IN ('assigned', 'intercepting', 'resolved')", name="cuas_cases_state"),
        sa.CheckConstraint("outcome IN ('landed', 'left_area', 'countered')", name="cuas_cases_outcome"),
    )
    op.create_index("cuas_cases_open_idx", "cuas_cases", ["state", "opened_at"])
    op.create_table(
        "coordination_audit",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("at", ts, nullable=False),
        sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.CheckConstraint("subject IN ('constraint', 'approval', 'case')", name="coordination_audit_subject"),
    )
    op.create_index("coordination_audit_subject_idx", "coordination_audit", ["subject", "subject_id", "id"])
    op.execute(
        """
        CREATE FUNCTION coordination_audit_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'coordination_audit is insert-only (% refused)', TG_OP;
        END $$
        """
    )
    op.execute("CREATE TRIGGER coordination_audit_insert_only BEFORE UPDATE OR DELETE ON coordination_audit "
               "FOR EACH ROW EXECUTE FUNCTION coordination_audit_insert_only()")


def downgrade() -> None:
    op.execute("DROP TRIGGER coordination_audit_insert_only ON coordination_audit")
    op.execute("DROP FUNCTION coordination_audit_insert_only()")
    for table in ("coordination_audit", "cuas_cases", "coordination_approvals", "coordination_constraints"):
        op.drop_table(table)
    op.execute("DELETE FROM users WHERE role IN ('military', 'atc', 'police')")
    _roles_check(OLD_ROLES)
