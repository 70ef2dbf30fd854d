"""Airspace in PostGIS: published volumes/points/routes as features, and temporary restrictions.

Features are stored as a PostGIS geometry (for spatial queries) plus their GeoJSON properties
(JSONB), so the model round-trips through the same parsers that read the data files.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import mapping, shape
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from lowalt.airspace.geojson import (
    restriction_from_feature,
    restriction_to_feature,
    route_from_feature,
    route_to_feature,
    vertiport_from_feature,
    vertiport_to_feature,
    volume_from_feature,
    volume_to_feature,
)
from lowalt.airspace.model import AirspaceSet, Restriction
from lowalt.store.tables import airspace_features, restrictions

_TO = {"volumes": volume_to_feature, "points": vertiport_to_feature, "routes": route_to_feature}
_FROM = {"volumes": volume_from_feature, "points": vertiport_from_feature, "routes": route_from_feature}


async def feature_count(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(airspace_features))).scalar_one())


async def replace_airspace(conn: AsyncConnection, aset: AirspaceSet) -> int:
    """Replace the published airspace (volumes, points, routes) with ``aset``'s."""
    await conn.execute(delete(airspace_features))
    rows = []
    for collection, items in (("volumes", aset.volumes), ("points", aset.vertiports), ("routes", aset.routes)):
        for seq, item in enumerate(items):
            feat = _TO[collection](item)  # type: ignore[operator]
            rows.append({"collection": collection, "id": feat["id"], "seq": seq,
                         "geom": from_shape(shape(feat["geometry"]), srid=4326), "properties": feat["properties"]})
    if rows:
        await conn.execute(insert(airspace_features), rows)
    for r in aset.restrictions:
        await insert_restriction(conn, r)
    return len(rows)


async def load_airspace_set(conn: AsyncConnection, area: str, *, restrictions_after: datetime) -> AirspaceSet:
    """The published airspace plus restrictions not deleted and not ended before ``restrictions_after``."""
    rows = (await conn.execute(
        select(airspace_features.c.collection, airspace_features.c.geom, airspace_features.c.properties)
        .order_by(airspace_features.c.collection, airspace_features.c.seq)  # file order: it breaks ties
    )).all()
    parsed: dict[str, list[Any]] = {"volumes": [], "points": [], "routes": []}
    for collection, geom, props in rows:
        feat = {"type": "Feature", "id": props.get("id"), "geometry": mapping(to_shape(geom)), "properties": props}
        parsed[collection].append(_FROM[collection](feat))
    return AirspaceSet(area=area, volumes=tuple(parsed["volumes"]), vertiports=tuple(parsed["points"]),
                       routes=tuple(parsed["routes"]),
                       restrictions=tuple(await list_restrictions(conn, after=restrictions_after)))


async def insert_restriction(conn: AsyncConnection, r: Restriction) -> None:
    feat = restriction_to_feature(r)
    await conn.execute(insert(restrictions).values(
        id=r.id, reason=r.reason.value, geom=from_shape(r.polygon, srid=4326),
        floor_m=r.floor.value_m, floor_ref=r.floor.reference.value.upper(),
        ceiling_m=r.ceiling.value_m, ceiling_ref=r.ceiling.reference.value.upper(),
        starts_at=r.start, ends_at=r.end, created_by=r.created_by, properties=feat["properties"],
    ))


async def delete_restriction(conn: AsyncConnection, restriction_id: str, at: datetime) -> bool:
    """Soft delete (kept for the record); True if an undeleted restriction had that id."""
    result = await conn.execute(
        update(restrictions).where(restrictions.c.id == restriction_id, restrictions.c.deleted_at.is_(None))
        .values(deleted_at=at)
    )
    return bool(result.rowcount)


async def restriction_exists(conn: AsyncConnection, restriction_id: str) -> bool:
    q = select(func.count()).select_from(restrictions).where(restrictions.c.id == restriction_id)
    return bool((await conn.execute(q)).scalar_one())


async def list_restrictions(conn: AsyncConnection, *, after: datetime) -> list[Restriction]:
    rows = (await conn.execute(
        select(restrictions.c.geom, restrictions.c.properties)
        .where(restrictions.c.deleted_at.is_(None), restrictions.c.ends_at > after)
        .order_by(restrictions.c.starts_at, restrictions.c.id)
    )).all()
    return [restriction_from_feature({"type": "Feature", "geometry": mapping(to_shape(g)), "properties": p})
            for g, p in rows]
