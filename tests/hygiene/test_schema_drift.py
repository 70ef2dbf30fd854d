"""One metadata: ``lowalt.store.tables`` describes exactly what the migrations create.

Alembic's autogenerate comparison (tables, columns, types, nullability, server defaults, keys, indexes,
unique constraints, foreign keys) between the metadata and the session's freshly migrated template
database must find nothing. Views, functions and triggers are SQL-only (listed in ``tables``' docstring);
PostGIS' ``spatial_ref_sys`` is not ours.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2.alembic_helpers import include_object as geo_include_object
from sqlalchemy import Column, Connection, DefaultClause, Index, Integer, MetaData, Table, text

from lowalt.store.cluster import ManagedCluster
from lowalt.store.db import make_engine
from lowalt.store.tables import VIEWS, metadata
from lowalt.store.track_partitions import is_partition


def _include(obj: Any, name: str | None, obj_type: str, reflected: bool, compare_to: Any) -> bool:
    if obj_type == "table" and name in ("spatial_ref_sys",):  # PostGIS' own table, not in our metadata
        return False
    if obj_type == "table" and name is not None and is_partition(name):  # made at run time (0018)
        return False
    return bool(geo_include_object(obj, name, obj_type, reflected, compare_to))


def _diff(conn: Connection, md: MetaData = metadata) -> list[Any]:
    context = MigrationContext.configure(conn, opts={
        "compare_type": True, "compare_server_default": True, "include_object": _include})
    return list(compare_metadata(context, md))


async def test_metadata_matches_the_migrated_database(pg_cluster: ManagedCluster, template_db: str) -> None:
    engine = make_engine(pg_cluster.url(template_db))
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
            views = set((await conn.execute(text(
                "SELECT table_name FROM information_schema.views WHERE table_schema = 'public'"))).scalars())
    finally:
        await engine.dispose()
    assert diff == [], "tables.py and the migrations disagree:\n" + "\n".join(map(str, diff))
    postgis = {"geometry_columns", "geography_columns"}  # PostGIS' catalogue views
    assert views - postgis == set(VIEWS)  # every view the migrations make is named in tables.py (and no more)


async def test_the_comparison_sees_a_difference(pg_cluster: ManagedCluster, template_db: str) -> None:
    """The check can fail: a column the metadata lacks, one of another type, an index too many."""
    changed = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["plans"].append_column(Column("not_migrated", Integer))
    changed.tables["users"].c.organisation.type = Integer()
    changed.tables["aircraft"].c.suspended.server_default = DefaultClause("true")
    Index("not_migrated_idx", changed.tables["aircraft"].c.category)
    Table("not_migrated_table", changed, Column("id", Integer, primary_key=True))

    engine = make_engine(pg_cluster.url(template_db))
    try:
        async with engine.connect() as conn:
            found = "\n".join(map(str, await conn.run_sync(_diff, changed)))
    finally:
        await engine.dispose()
    for expected in ("not_migrated", "organisation", "not_migrated_idx", "not_migrated_table", "suspended"):
        assert expected in found, found


def test_no_repository_declares_tables_of_its_own() -> None:
    """One schema definition: every ``Table`` a store module holds is ``tables.metadata``'s (the
    migrations are checked against that metadata above)."""
    import importlib
    import pkgutil

    import lowalt.store

    own = []
    for info in pkgutil.iter_modules(lowalt.store.__path__):
        module = importlib.import_module(f"lowalt.store.{info.name}")
        own += [f"lowalt.store.{info.name}.{name}" for name, value in vars(module).items()
                if isinstance(value, Table) and value.metadata is not metadata]
    assert own == [], f"tables declared outside lowalt.store.tables: {own}"
