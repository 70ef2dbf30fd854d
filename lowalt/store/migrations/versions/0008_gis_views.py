"""GIS-friendly PostGIS: one view per geometry type with flat columns, a primary key on every table.

QGIS (and GDAL/OGR) want one geometry type per layer, a unique integer key, and plain columns to style
and filter on. ``airspace_features`` mixes polygons, points and lines and keeps the attributes in
JSONB; ``plans`` has three geometry columns; ``track_points`` had no key. This adds:

- ``airspace_features.fid`` (identity, unique) and ``track_points.id`` (identity, primary key);
- ``lowalt_schedule_text(jsonb)``: a schedule as one readable line;
- views ``gis_airspace_volumes`` (MultiPolygon), ``gis_airspace_routes`` (MultiLineString, the
  centre lines), ``gis_airspace_points`` (Point), ``gis_restrictions`` (MultiPolygon, not deleted),
  ``gis_plan_areas`` (MultiPolygon) and ``gis_plan_routes`` (MultiLineString): key ``fid``, names
  zh/en, class and kind, floor/ceiling with their reference, the schedule as text.

See docs/qgis.md. The views read the tables: nothing is copied, and writers are unchanged.

Revision ID: 0008
"""

from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

SCHEDULE_TEXT = r"""
CREATE FUNCTION lowalt_schedule_text(s jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN s IS NULL OR jsonb_typeof(s) <> 'object' THEN 'always' ELSE
        coalesce(nullif(concat_ws('; ',
            (SELECT string_agg(array_to_string(ARRAY(SELECT jsonb_array_elements_text(w -> 'days')), ',')
                               || ' ' || (w ->> 'start') || '-' || (w ->> 'end'), '; ')
               FROM jsonb_array_elements(coalesce(s -> 'weekly', '[]')) AS w),
            (SELECT string_agg('on ' || (a ->> 'start') || ' to ' || (a ->> 'end'), '; ')
               FROM jsonb_array_elements(coalesce(s -> 'activations', '[]')) AS a),
            (SELECT string_agg('off ' || (a ->> 'start') || ' to ' || (a ->> 'end'), '; ')
               FROM jsonb_array_elements(coalesce(s -> 'deactivations', '[]')) AS a)), ''), 'always')
        || ' (' || coalesce(s ->> 'timezone', 'Asia/Shanghai') || ')'
    END
$$
"""


def _fid(text_id: str) -> str:
    """A stable integer key from a text id (60 bits of its MD5): QGIS wants an integer key column."""
    return f"('x' || substr(md5({text_id}), 1, 15))::bit(60)::bigint"


def _window(alias: str) -> str:
    """``on 2026-06-15T02:00Z to 2026-06-15T04:00Z``: a time window as schedule text (UTC)."""
    fmt = """'YYYY-MM-DD"T"HH24:MI"Z"'"""
    return (f"'on ' || to_char({alias}.starts_at AT TIME ZONE 'UTC', {fmt}) || ' to ' "
            f"|| to_char({alias}.ends_at AT TIME ZONE 'UTC', {fmt})")


def _categories(column: str) -> str:
    return f"array_to_string(ARRAY(SELECT jsonb_array_elements_text({column} -> 'allowed_categories')), ', ')"


def _limits(props: str) -> str:
    return f"""
        ({props} ->> 'floor_m')::double precision AS floor_m, {props} ->> 'floor_ref' AS floor_ref,
        ({props} ->> 'ceiling_m')::double precision AS ceiling_m, {props} ->> 'ceiling_ref' AS ceiling_ref,
        ({props} ->> 'floor_m') || ' m ' || ({props} ->> 'floor_ref') AS floor_text,
        ({props} ->> 'ceiling_m') || ' m ' || ({props} ->> 'ceiling_ref') AS ceiling_text"""


VIEWS = {
    "gis_airspace_volumes": f"""
        SELECT f.fid, f.id, p ->> 'name_zh' AS name_zh, p ->> 'name_en' AS name_en, p ->> 'class' AS class,
               p ->> 'kind' AS kind, {_limits("p")},
               lowalt_schedule_text(p -> 'schedule') AS schedule_text, {_categories("p")} AS allowed_categories,
               p ->> 'provenance' AS provenance, p ->> 'source' AS source, p ->> 'notes' AS notes,
               ST_Multi(f.geom)::geometry(MultiPolygon, 4326) AS geom
        FROM airspace_features f, LATERAL (SELECT f.properties AS p) AS x
        WHERE f.collection = 'volumes'""",
    "gis_airspace_routes": f"""
        SELECT f.fid, f.id, p ->> 'name_zh' AS name_zh, p ->> 'name_en' AS name_en, p ->> 'class' AS class,
               p ->> 'kind' AS kind, {_limits("p")},
               (p ->> 'half_width_m')::double precision AS half_width_m, p ->> 'direction' AS direction,
               p ->> 'from_id' AS from_id, p ->> 'to_id' AS to_id,
               lowalt_schedule_text(p -> 'schedule') AS schedule_text, {_categories("p")} AS allowed_categories,
               p ->> 'provenance' AS provenance, p ->> 'source' AS source,
               ST_Multi(f.geom)::geometry(MultiLineString, 4326) AS geom
        FROM airspace_features f, LATERAL (SELECT f.properties AS p) AS x
        WHERE f.collection = 'routes'""",
    "gis_airspace_points": f"""
        SELECT f.fid, f.id, p ->> 'name_zh' AS name_zh, p ->> 'name_en' AS name_en, p ->> 'kind' AS kind,
               (p ->> 'elevation_m')::double precision AS elevation_m,
               (p ->> 'capacity_per_15min')::integer AS capacity_per_15min,
               lowalt_schedule_text(p -> 'opening_hours') AS schedule_text, {_categories("p")} AS allowed_categories,
               p ->> 'provenance' AS provenance, p ->> 'source' AS source,
               f.geom::geometry(Point, 4326) AS geom
        FROM airspace_features f, LATERAL (SELECT f.properties AS p) AS x
        WHERE f.collection = 'points'""",
    "gis_restrictions": f"""
        SELECT {_fid("r.id")} AS fid, r.id, r.properties ->> 'name_zh' AS name_zh,
               r.properties ->> 'name_en' AS name_en, r.reason,
               r.floor_m, r.floor_ref, r.ceiling_m, r.ceiling_ref,
               r.floor_m || ' m ' || r.floor_ref AS floor_text, r.ceiling_m || ' m ' || r.ceiling_ref AS ceiling_text,
               r.starts_at, r.ends_at,
               {_window("r")} AS schedule_text,
               r.created_by, ST_Multi(r.geom)::geometry(MultiPolygon, 4326) AS geom
        FROM airspace_restrictions r
        WHERE r.deleted_at IS NULL""",
}
_PLAN_COLUMNS = """
        p.organisation, p.aircraft_id, p.category, p.mission, p.state,
        p.floor_m, p.floor_ref, p.ceiling_m, p.ceiling_ref,
        p.floor_m || ' m ' || p.floor_ref AS floor_text, p.ceiling_m || ' m ' || p.ceiling_ref AS ceiling_text,
        p.starts_at, p.ends_at, """ + _window("p") + " AS schedule_text"
VIEWS["gis_plan_areas"] = f"""
        SELECT {_fid("p.id")} AS fid, p.id, {_PLAN_COLUMNS},
               ST_Multi(p.geom)::geometry(MultiPolygon, 4326) AS geom
        FROM plans p WHERE GeometryType(p.geom) IN ('POLYGON', 'MULTIPOLYGON')"""
VIEWS["gis_plan_routes"] = f"""
        SELECT {_fid("p.id")} AS fid, p.id, {_PLAN_COLUMNS}, p.half_width_m,
               ST_Multi(p.geom)::geometry(MultiLineString, 4326) AS geom
        FROM plans p WHERE GeometryType(p.geom) IN ('LINESTRING', 'MULTILINESTRING')"""


def upgrade() -> None:
    op.execute("ALTER TABLE airspace_features ADD COLUMN fid bigint GENERATED ALWAYS AS IDENTITY")
    op.execute("ALTER TABLE airspace_features ADD CONSTRAINT airspace_features_fid_key UNIQUE (fid)")
    op.execute("ALTER TABLE track_points ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
    op.execute(SCHEDULE_TEXT)
    for name, body in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {body}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
    op.execute("DROP FUNCTION lowalt_schedule_text(jsonb)")
    op.execute("ALTER TABLE track_points DROP COLUMN id")
    op.execute("ALTER TABLE airspace_features DROP COLUMN fid")
