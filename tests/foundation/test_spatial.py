"""PostGIS answers spatial questions about geometry written through geoalchemy2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point, Polygon
from sqlalchemy import func, insert, select

from lowalt.store.db import Database
from lowalt.store.tables import restrictions

# A box around Jingdezhen's Imperial Kiln site (illustrative), lon/lat
KILN_BOX = Polygon([(117.190, 29.285), (117.207, 29.285), (117.207, 29.299), (117.190, 29.299)])


async def _write_box(db: Database) -> None:
    now = datetime.now(UTC)
    async with db.unit_of_work() as uow:
        await uow.conn.execute(insert(restrictions).values(
            id="r-kiln", reason="event", geom=from_shape(KILN_BOX, srid=4326), floor_m=0, floor_ref="AGL",
            ceiling_m=300, ceiling_ref="AGL", starts_at=now, ends_at=now + timedelta(hours=2), created_by="test",
        ))
        await uow.commit()


async def test_contains_and_dwithin_on_geography(database: Database) -> None:
    await _write_box(database)
    inside = from_shape(Point(117.1986, 29.2917), srid=4326)  # city centre / kiln
    outside = func.ST_GeomFromEWKT("SRID=4326;POINT(117.1760 29.3386)")  # Luojia airport ARP, ~4.6 km from the box's NW corner
    async with database.unit_of_work() as uow:
        q = select(
            func.ST_Contains(restrictions.c.geom, inside),
            func.ST_Contains(restrictions.c.geom, outside),
            func.ST_DWithin(func.geography(restrictions.c.geom), func.geography(outside), 4000),
            func.ST_DWithin(func.geography(restrictions.c.geom), func.geography(outside), 5000),
            func.ST_Area(func.geography(restrictions.c.geom)),
            restrictions.c.geom,
        ).where(restrictions.c.id == "r-kiln")
        row = (await uow.conn.execute(q)).one()
    assert row[0] is True
    assert row[1] is False
    assert row[2] is False  # ~4.6 km (1.36 km east-west, 4.4 km north-south) to the nearest corner
    assert row[3] is True
    # ~1.65 km x 1.56 km
    assert 2.3e6 < row[4] < 2.8e6
    assert to_shape(row[5]).equals(KILN_BOX)


async def test_uncommitted_work_rolls_back(database: Database) -> None:
    async with database.unit_of_work() as uow:
        now = datetime.now(UTC)
        await uow.conn.execute(insert(restrictions).values(
            id="r-x", reason="event", geom=from_shape(KILN_BOX, srid=4326), floor_m=0, floor_ref="AGL",
            ceiling_m=1, ceiling_ref="AGL", starts_at=now, ends_at=now + timedelta(hours=1), created_by="t"))
    async with database.unit_of_work() as uow:
        n = (await uow.conn.execute(select(func.count()).select_from(restrictions))).scalar_one()
    assert n == 0
