"""Airspace: volumes/points/routes as GeoJSON features with PostGIS geometry; temporary restrictions.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "airspace_features",
        sa.Column("collection", sa.String(16), nullable=False, primary_key=True),
        sa.Column("id", sa.String(120), nullable=False, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("geom", Geometry(srid=4326, spatial_index=False), nullable=False),
        sa.Column("properties", JSONB, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("collection IN ('volumes', 'points', 'routes')", name="airspace_features_collection"),
    )
    op.create_index("airspace_features_geom_idx", "airspace_features", ["geom"], postgresql_using="gist")
    op.create_table(
        "airspace_restrictions",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("geom", Geometry(srid=4326, spatial_index=False), nullable=False),
        sa.Column("floor_m", sa.Float, nullable=False),
        sa.Column("floor_ref", sa.String(4), nullable=False),
        sa.Column("ceiling_m", sa.Float, nullable=False),
        sa.Column("ceiling_ref", sa.String(4), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("properties", JSONB, nullable=False, server_default="{}"),
        sa.CheckConstraint("floor_ref IN ('AGL', 'AMSL') AND ceiling_ref IN ('AGL', 'AMSL')", name="restr_refs"),
        sa.CheckConstraint("ends_at > starts_at", name="restr_window"),
    )
    op.create_index(
        "airspace_restrictions_geom_idx", "airspace_restrictions", ["geom"], postgresql_using="gist"
    )
    op.create_index("airspace_restrictions_time_idx", "airspace_restrictions", ["starts_at", "ends_at"])


def downgrade() -> None:
    op.drop_table("airspace_restrictions")
    op.drop_table("airspace_features")
