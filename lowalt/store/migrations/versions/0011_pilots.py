"""Pilots and their licences, per organisation (issue #22, the operator portal).

Filing checks a plan's pilot against this register (``lowalt.filing.pilot_rules``): the pilot is the
organisation's, the licence named is that pilot's, its class covers the category, and it is valid on
the flight date (expiry inclusive). ``id_number`` is the real-name identity number (GB 11643, 实名):
stored for the centre, masked in every API response. The licence is optional (micro and light UAVs
need none, E2) but comes whole: number, class and expiry together or none of them. A licence number
is unique within an organisation (one pilot may fly for several organisations, so not globally).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

LICENCE_CLASSES = ("uas_small", "uas_medium", "uas_large", "evtol", "helicopter", "aeroplane")


def upgrade() -> None:
    op.create_table(
        "pilots",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("licence_number", sa.String(64), nullable=True),
        sa.Column("licence_class", sa.String(16), nullable=True),
        sa.Column("licence_expiry", sa.Date, nullable=True),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("organisation", "licence_number", name="pilots_org_licence"),
        sa.UniqueConstraint("organisation", "id_number", name="pilots_org_person"),
        sa.CheckConstraint("(licence_number IS NULL) = (licence_class IS NULL) AND "
                           "(licence_number IS NULL) = (licence_expiry IS NULL)", name="pilots_licence_whole"),
        sa.CheckConstraint(f"licence_class IN ({', '.join(repr(c) for c in LICENCE_CLASSES)})",
                           name="pilots_licence_class"),
    )


def downgrade() -> None:
    op.drop_table("pilots")
