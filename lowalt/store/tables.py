"""Table definitions (SQLAlchemy Core): the one metadata of the database. Only the store package
imports these.

The migrations (``store/migrations``) create the schema; this metadata must describe exactly what they
create, and ``tests/hygiene/test_schema_drift.py`` fails when the two differ (alembic's autogenerate
comparison against a freshly migrated database). Not tables, so not here:

- views: ``alerts`` (0005: each alert's latest event) and the ``gis_*`` views for QGIS/OGR (0008,
  docs/qgis.md): read-only projections defined in SQL by their migrations;
- the functions ``lowalt_schedule_text`` (0008) and ``filing_lock_and_read`` (0020), and the insert-only
  triggers of ``alert_events`` (0005) and ``coordination_audit`` (0014);
- PostGIS' own ``spatial_ref_sys`` and alembic's ``alembic_version``;
- the partitions of ``track_points`` (0018: ``track_points_default`` and one per day, made at run time by
  ``lowalt.store.track_partitions``; ``is_partition`` names them).

Geometry columns are WGS84 lon/lat (SRID 4326); metres live in the core, not here.
Altitude limits are stored as value + reference, never as a bare number.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    REAL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION, JSONB

metadata = MetaData()

ROLES = ("operator", "device", "centre", "viewer", "admin", "military", "atc", "police")  # 0014: parties

users = Table(
    "users",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("organisation", String(200), nullable=True),
    Column("disabled", Boolean, nullable=False, server_default="false"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("suspended", Boolean, nullable=False, server_default="false"),
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
    Column("suspended", Boolean, nullable=False, server_default="false"),
    Index("aircraft_device_user_idx", "device_user_id"),  # 0010: a device token's aircraft at authentication
)

# Who suspended or reinstated an aircraft, when and why (0010); one row per change.
aircraft_audit = Table(
    "aircraft_audit",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("aircraft_id", String(64), ForeignKey("aircraft.id", ondelete="CASCADE"), nullable=False),
    Column("action", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("by_user", String(120), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("action IN ('suspend', 'reinstate')", name="aircraft_audit_action"),
    Index("aircraft_audit_aircraft_idx", "aircraft_id", "id"),
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
    Column("fid", BigInteger, Identity(always=True), nullable=False, unique=True),  # a GIS key (0008)
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

PLAN_STATES = ("submitted", "approved", "referred", "rejected", "active", "completed", "cancelled", "withdrawn")

# Track history, written with COPY (``live_repo.TRACK_COLUMNS``): the time and the point are generated
# by the database so writers never build datetimes or WKB on the hot path. Partitioned by ``t_epoch``,
# one partition per Beijing day and a default one (0018; the partitions are made at run time:
# ``lowalt.store.track_partitions``), so the key includes ``t_epoch``.
track_points = Table(
    "track_points",
    metadata,
    Column("aircraft_id", Text, nullable=False),
    Column("t_epoch", DOUBLE_PRECISION, nullable=False),
    Column("lon", DOUBLE_PRECISION, nullable=False),
    Column("lat", DOUBLE_PRECISION, nullable=False),
    Column("alt_amsl", REAL, nullable=False),
    Column("vx", REAL, nullable=False),
    Column("vy", REAL, nullable=False),
    Column("vz", REAL, nullable=False),
    Column("src", SmallInteger, nullable=False),
    Column("t", DateTime(timezone=True), Computed("to_timestamp(t_epoch)", persisted=True)),
    Column("geom", Geometry("POINTZ", srid=4326, spatial_index=False),
           Computed("ST_SetSRID(ST_MakePoint(lon, lat, alt_amsl), 4326)", persisted=True)),
    Column("id", BigInteger, Identity(always=True), nullable=False),  # 0008
    PrimaryKeyConstraint("id", "t_epoch", name="track_points_pkey"),  # 0018: with the partition key
    Index("track_points_aircraft_t_idx", "aircraft_id", "t"),
    Index("track_points_t_brin", "t", postgresql_using="brin"),
    Index("track_points_geom_idx", "geom", postgresql_using="gist"),
    postgresql_partition_by="RANGE (t_epoch)",
)

# The alert log: insert-only events (a trigger refuses UPDATE/DELETE/TRUNCATE); the ``alerts`` view
# is each alert's latest event.
alert_events = Table(
    "alert_events",
    metadata,
    Column("event_id", BigInteger, Identity(always=True), primary_key=True),
    Column("alert_id", Text, nullable=False),
    Column("event", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("kind", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("aircraft", ARRAY(Text), nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("cleared_at", DateTime(timezone=True), nullable=True),
    Column("acknowledged_by", Text, nullable=True),
    Column("acknowledged_at", DateTime(timezone=True), nullable=True),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("node", Text, nullable=True),
    CheckConstraint("event IN ('raised', 'updated', 'acknowledged', 'cleared')", name="alert_events_event_check"),
    Index("alert_events_alert_idx", "alert_id", text("event_id DESC")),
    Index("alert_events_at_idx", "at", postgresql_using="brin"),
    Index("alert_events_aircraft_idx", "aircraft", postgresql_using="gin"),
    Index("alert_events_raised_idx", "first_seen", postgresql_where=text("event = 'raised'")),  # 0015 analytics
)

# Flight plans (operational intents) and their audit trail; ``filing_repo`` reads and writes them.
plans = Table(
    "plans",
    metadata,
    Column("id", Text, primary_key=True),
    Column("organisation", Text, nullable=False),
    Column("submitted_by", Text, nullable=False),
    Column("aircraft_id", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("pilot", Text, nullable=False),
    Column("licence_id", Text, nullable=True),
    Column("mission", Text, nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
    Column("half_width_m", DOUBLE_PRECISION, nullable=False, server_default="0"),
    Column("floor_m", DOUBLE_PRECISION, nullable=False),
    Column("floor_ref", Text, nullable=False),
    Column("ceiling_m", DOUBLE_PRECISION, nullable=False),
    Column("ceiling_ref", Text, nullable=False),
    Column("takeoff", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("landing", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("state", Text, nullable=False),
    Column("decision", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("attrs", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("idempotency_key", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("request_hash", Text, nullable=True),  # 0006
    CheckConstraint("floor_ref IN ('AGL', 'AMSL') AND ceiling_ref IN ('AGL', 'AMSL')", name="plans_refs"),
    CheckConstraint("ends_at > starts_at", name="plans_window"),
    CheckConstraint(f"state IN ({', '.join(repr(s) for s in PLAN_STATES)})", name="plans_state"),
    UniqueConstraint("organisation", "idempotency_key", name="plans_idempotency"),
    Index("plans_geom_idx", "geom", postgresql_using="gist"),
    Index("plans_state_time_idx", "state", "starts_at", "ends_at"),
    Index("plans_org_idx", "organisation", "created_at"),
    Index("plans_aircraft_time_idx", "aircraft_id", "starts_at", "ends_at"),
    Index("plans_licence_time_idx", "licence_id", "starts_at", "ends_at",
          postgresql_where=text("licence_id IS NOT NULL")),
    Index("plans_starts_at_idx", "starts_at"),  # 0015: analytics windows (take-offs, landings)
    Index("plans_ends_at_idx", "ends_at"),
)

plan_events = Table(
    "plan_events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("plan_id", Text, ForeignKey("plans.id", ondelete="CASCADE"), nullable=False),
    Column("from_state", Text, nullable=True),
    Column("to_state", Text, nullable=False),
    Column("by", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("reason", Text, nullable=False, server_default=""),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("plan_events_plan_idx", "plan_id", "id"),
    Index("plan_events_at_idx", "at"),  # 0015: decisions in a window (analytics)
)

weather_warnings = Table(
    "weather_warnings",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=True),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("value", DOUBLE_PRECISION, nullable=True),
    Column("text", Text, nullable=False, server_default=""),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("ended_at", DateTime(timezone=True), nullable=True),  # 0006
    Column("ended_by", Text, nullable=True),  # 0006
    CheckConstraint("kind IN ('thunderstorm', 'wind', 'visibility', 'precipitation')",
                    name="weather_warnings_kind_check"),
    CheckConstraint("ends_at > starts_at", name="weather_warnings_check"),
)

# Filing across nodes (0009): per-cell versions and their change log (``filing_repo``; docs/filing.md).
filing_cells = Table(
    "filing_cells",
    metadata,
    Column("cell", BigInteger, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)

filing_changes = Table(
    "filing_changes",
    metadata,
    Column("cell", BigInteger, primary_key=True, autoincrement=False),
    Column("version", BigInteger, primary_key=True, autoincrement=False),
    Column("plan_ids", ARRAY(Text), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Pilots and their licences per organisation (0011; ``pilot_repo``, ``lowalt.filing.pilot_rules``).
PILOT_LICENCE_CLASSES = ("uas_small", "uas_medium", "uas_large", "evtol", "helicopter", "aeroplane")
pilots = Table(
    "pilots",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("organisation", String(200), nullable=False),
    Column("name", String(120), nullable=False),
    Column("id_number", String(18), nullable=False),
    Column("licence_number", String(64), nullable=True),
    Column("licence_class", String(16), nullable=True),
    Column("licence_expiry", Date, nullable=True),
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("organisation", "licence_number", name="pilots_org_licence"),
    UniqueConstraint("organisation", "id_number", name="pilots_org_person"),
    CheckConstraint("(licence_number IS NULL) = (licence_class IS NULL) AND "
                    "(licence_number IS NULL) = (licence_expiry IS NULL)", name="pilots_licence_whole"),
    CheckConstraint(f"licence_class IN ({', '.join(repr(c) for c in PILOT_LICENCE_CLASSES)})",
                    name="pilots_licence_class"),
)

# Three-party coordination (0014; ``coordination_repo``, ``lowalt.coordination``): each party constraint's
# versions (insert-only: a change is a new version), each authority's part of a multi-party approval,
# counter-UAS cases handed to police, and one insert-only audit of all three.
COORDINATION_AUTHORITIES = ("military", "atc", "local")
COORDINATION_AUDIT_SUBJECTS = ("constraint", "approval", "case", "standing", "preemption")  # 0016: fleets
coordination_constraints = Table(
    "coordination_constraints",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("constraint_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("authority", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("title", String(200), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("geometry", JSONB, nullable=False),
    Column("floor_m", Float, nullable=False),
    Column("floor_ref", String(8), nullable=False),
    Column("ceiling_m", Float, nullable=False),
    Column("ceiling_ref", String(8), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("short_notice", Boolean, nullable=False),
    Column("coordinated_categories", ARRAY(Text), nullable=False),
    Column("restriction_id", String(120), nullable=True),
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("constraint_id", "version", name="coordination_constraints_version"),
    CheckConstraint(f"authority IN ({', '.join(repr(a) for a in COORDINATION_AUTHORITIES)})",
                    name="coordination_constraints_authority"),
    CheckConstraint("status IN ('active', 'cancelled')", name="coordination_constraints_status"),
)
coordination_approvals = Table(
    "coordination_approvals",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("plan_id", Text, nullable=False),
    Column("authority", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("decide_by", DateTime(timezone=True), nullable=False),
    Column("escalated_at", DateTime(timezone=True), nullable=True),
    Column("decided_by", String(120), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("reason", Text, nullable=False),
    Column("constraint_refs", ARRAY(Text), nullable=False),
    Column("decided_on", ARRAY(Text), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("plan_id", "authority", name="coordination_approvals_plan_authority"),
    CheckConstraint("state IN ('pending', 'approved', 'refused')", name="coordination_approvals_state"),
)
cuas_cases = Table(
    "cuas_cases",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("aircraft_id", String(120), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("outcome", String(16), nullable=True),
    Column("alert_id", String(64), nullable=True),
    Column("note", Text, nullable=False),
    Column("facts", JSONB, nullable=False),
    Column("opened_by", String(120), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("kind IN ('unauthorised', 'non_cooperative')", name="cuas_cases_kind"),
    CheckConstraint("state IN ('assigned', 'intercepting', 'resolved')", name="cuas_cases_state"),
    CheckConstraint("outcome IN ('landed', 'left_area', 'countered')", name="cuas_cases_outcome"),
    Index("cuas_cases_open_idx", "state", "opened_at"),
)
coordination_audit = Table(
    "coordination_audit",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("subject", String(16), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    CheckConstraint(f"subject IN ({', '.join(repr(s) for s in COORDINATION_AUDIT_SUBJECTS)})",
                    name="coordination_audit_subject"),
    Index("coordination_audit_subject_idx", "subject", "subject_id", "id"),
)
# Government fleets (0016; ``coordination_repo``, ``lowalt.coordination.fleets``): a government
# organisation's standing approval for a patrol area (revoked, never deleted).
standing_approvals = Table(
    "standing_approvals",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("organisation", String(120), nullable=False),
    Column("title", String(200), nullable=False),
    Column("geometry", JSONB, nullable=False),
    Column("floor_m", Float, nullable=False),
    Column("floor_ref", String(8), nullable=False),
    Column("ceiling_m", Float, nullable=False),
    Column("ceiling_ref", String(8), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("missions", ARRAY(Text), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_by", String(120), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoke_reason", Text, nullable=False, server_default=""),
    CheckConstraint("state IN ('active', 'revoked')", name="standing_approvals_state"),
    CheckConstraint("ends_at > starts_at", name="standing_approvals_window"),
    Index("standing_approvals_org_idx", "organisation", "state", "ends_at"),
)

# Analytics rollup (0015; ``analytics_repo.roll_up``): seconds per aircraft, 1 km EPSG:4548 cell and closed hour.
analytics_cell_hours = Table(
    "analytics_cell_hours",
    metadata,
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("cx", Integer, primary_key=True, autoincrement=False),
    Column("cy", Integer, primary_key=True, autoincrement=False),
    Column("aircraft_id", Text, primary_key=True),
    Column("seconds", Float, nullable=False),
)

analytics_corridor_hours = Table(
    "analytics_corridor_hours",
    metadata,
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("route_id", Text, primary_key=True),
    Column("scope", Text, primary_key=True),  # 'all', 'org:<organisation>' or 'none'
    Column("flights", Integer, nullable=False),
    Column("peak", Integer, nullable=False),
)

analytics_rolled_hours = Table(
    "analytics_rolled_hours",
    metadata,
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("points", BigInteger, nullable=False),
    Column("rolled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Per-minute rollup of the hours not rolled yet (0017; the live hour): dropped once their hour is rolled.
analytics_cell_minutes = Table(
    "analytics_cell_minutes",
    metadata,
    Column("minute", DateTime(timezone=True), primary_key=True),
    Column("cx", Integer, primary_key=True, autoincrement=False),
    Column("cy", Integer, primary_key=True, autoincrement=False),
    Column("aircraft_id", Text, primary_key=True),
    Column("seconds", Float, nullable=False),
)

analytics_corridor_minutes = Table(
    "analytics_corridor_minutes",
    metadata,
    Column("minute", DateTime(timezone=True), primary_key=True),
    Column("route_id", Text, primary_key=True),
    Column("scope", Text, primary_key=True),  # as analytics_corridor_hours
    Column("peak", Integer, nullable=False),
    Column("aircraft", ARRAY(Text), nullable=False),  # distinct aircraft inside (an hour's flights)
)

analytics_rolled_minutes = Table(
    "analytics_rolled_minutes",
    metadata,
    Column("minute", DateTime(timezone=True), primary_key=True),
    Column("points", BigInteger, nullable=False),
    Column("rolled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Corridor separation (0019; measured by ``lowalt.analytics.separation``): per rolled minute or hour, route and scope,
# the separation samples, their sum, their histogram by bin (separation.sep_bins), the loss-of-separation pair-seconds and the
# aircraft-seconds inside.
analytics_separation = Table(
    "analytics_separation",
    metadata,
    Column("span", Text, primary_key=True),  # 'minute' or 'hour'
    Column("at", DateTime(timezone=True), primary_key=True),
    Column("route_id", Text, primary_key=True),
    Column("scope", Text, primary_key=True),  # as analytics_corridor_hours
    Column("samples", BigInteger, nullable=False),
    Column("sum_mm", BigInteger, nullable=False),
    Column("metres", ARRAY(Integer), nullable=False),
    Column("counts", ARRAY(Integer), nullable=False),
    Column("los_s", BigInteger, nullable=False),
    Column("inside_s", BigInteger, nullable=False),  # aircraft-seconds inside (density per km)
    CheckConstraint("span IN ('minute', 'hour')", name="analytics_separation_span"),
)

# Views created by migrations (not tables: autogenerate never compares them), for reference.
VIEWS = ("alerts", "gis_airspace_volumes", "gis_airspace_routes", "gis_airspace_points", "gis_restrictions",
         "gis_plan_areas", "gis_plan_routes")

__all__ = ["metadata", "users", "api_tokens", "aircraft", "aircraft_audit", "airspace_features", "restrictions", "track_points",
           "alert_events", "plans", "plan_events", "weather_warnings", "filing_cells", "filing_changes", "ROLES",
           "PLAN_STATES", "VIEWS", "pilots", "PILOT_LICENCE_CLASSES",
           "analytics_cell_hours", "analytics_corridor_hours", "analytics_rolled_hours", "analytics_cell_minutes",
           "analytics_corridor_minutes", "analytics_rolled_minutes", "COORDINATION_AUTHORITIES",
           "coordination_constraints", "coordination_approvals", "cuas_cases", "coordination_audit",
           "COORDINATION_AUDIT_SUBJECTS", "standing_approvals"]
