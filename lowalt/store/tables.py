"""Table definitions (SQLAlchemy Core). Only the store package imports these.

Geometry columns are WGS84 lon/lat (SRID 4326); metres live in the core, not here.
Altitude limits are stored as value + reference, never as a bare number.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

ROLES = ("operator", "device", "centre", "viewer", "admin")

users = Table(
    "users",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("organisation", String(200), nullable=True),
    Column("disabled", Boolean, nullable=False, server_default="false"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLES)})", name="users_role_known"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("label", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

aircraft = Table(
    "aircraft",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("registration", String(64), nullable=True),
    Column("category", String(32), nullable=False),
    Column("organisation", String(200), nullable=True),
    Column("device_user_id", BigInteger, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

airspace_features = Table(
    "airspace_features",
    metadata,
    Column("collection", String(16), nullable=False, primary_key=True),
    Column("id", String(120), nullable=False, primary_key=True),
    Column("seq", Integer, nullable=False, server_default="0"),
    Column("geom", Geometry(srid=4326, spatial_index=False), nullable=False),
    Column("properties", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("collection IN ('volumes', 'points', 'routes')", name="airspace_features_collection"),
    Index("airspace_features_geom_idx", "geom", postgresql_using="gist"),
)

restrictions = Table(
    "airspace_restrictions",
    metadata,
    Column("id", String(120), primary_key=True),
    Column("reason", String(32), nullable=False),
    Column("geom", Geometry(srid=4326, spatial_index=False), nullable=False),
    Column("floor_m", Float, nullable=False),
    Column("floor_ref", String(4), nullable=False),
    Column("ceiling_m", Float, nullable=False),
    Column("ceiling_ref", String(4), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("deleted_at", DateTime(timezone=True), nullable=True),
    Column("properties", JSONB, nullable=False, server_default="{}"),
    CheckConstraint("floor_ref IN ('AGL', 'AMSL') AND ceiling_ref IN ('AGL', 'AMSL')", name="restr_refs"),
    CheckConstraint("ends_at > starts_at", name="restr_window"),
    Index("airspace_restrictions_geom_idx", "geom", postgresql_using="gist"),
    Index("airspace_restrictions_time_idx", "starts_at", "ends_at"),
)

__all__ = ["metadata", "users", "api_tokens", "aircraft", "airspace_features", "restrictions", "ROLES"]
