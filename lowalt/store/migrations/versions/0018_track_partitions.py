"""``track_points`` partitioned by time (issue #20): one partition per Beijing day and a default one.

- ``track_points`` becomes ``PARTITION BY RANGE (t_epoch)``: PostgreSQL 15 cannot partition by the
  generated column ``t``, so each day partition also has ``CHECK (t >= day AND t < next day)``: the
  reads, which filter on ``t``, skip the other days by constraint exclusion (``lowalt.store.track_partitions``).
- The primary key becomes ``(id, t_epoch)`` (a partitioned table's keys must include the partition key);
  ``id`` stays an identity, filled for rows written through ``track_points`` (the history writer's COPY
  is). The same three indexes (``(aircraft_id, t)``, BRIN on ``t``, GiST on ``geom``), on every partition.
- ``track_points_default`` takes reports without a day partition (late, or a clock far ahead): never refused.
- Partitions for every day with reports in the existing history and for today and ``AHEAD_DAYS`` after it; the existing
  rows (with their ids) are copied over, the identity continues after the largest id. Then the server's
  upkeep (``lowalt.services.analytics_rollup``) keeps days ahead and drops days past the retention.

Copying is one ``INSERT ... SELECT``: the history writer waits meanwhile (its buffer holds the reports,
``lowalt.live``); estimated at about 3 min per 10 M reports on the 2-core machine (the analytics bench
wrote about 60,000 reports/s with these indexes maintained; a migration of a large history was not timed).
Downgrade copies back into one table.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from alembic import op
from sqlalchemy import text

from lowalt.store.track_partitions import AHEAD_DAYS, COLUMNS, DEFAULT, beijing_day, create_sql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_INDEXES = {
    "track_points_aircraft_t_idx": "(aircraft_id, t)",
    "track_points_t_brin": "USING brin (t)",
    "track_points_geom_idx": "USING gist (geom)",
}


def _create(partitioned: bool) -> None:
    """The new table like the one set aside (columns, NOT NULL, generated columns, the identity), keyed and
    indexed as before, partitioned or not."""
    key = "PRIMARY KEY (id, t_epoch)) PARTITION BY RANGE (t_epoch)" if partitioned else "PRIMARY KEY (id))"
    op.execute("CREATE TABLE track_points (LIKE track_points_old INCLUDING DEFAULTS INCLUDING GENERATED "
               f"INCLUDING IDENTITY, {key}")
    for name, spec in _INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON track_points {spec}")


def _set_aside() -> None:
    op.execute("ALTER TABLE track_points RENAME TO track_points_old")
    op.execute("ALTER INDEX track_points_pkey RENAME TO track_points_old_pkey")
    for name in _INDEXES:
        op.execute(f"ALTER INDEX {name} RENAME TO {name.replace('track_points', 'track_points_old')}")


def _copy_back() -> None:
    op.execute(f"INSERT INTO track_points ({COLUMNS}, id) OVERRIDING SYSTEM VALUE "
               f"SELECT {COLUMNS}, id FROM track_points_old")  # in the order written: time order
    op.execute("SELECT setval(pg_get_serial_sequence('track_points', 'id'), "
               "coalesce((SELECT max(id) FROM track_points), 0) + 1, false)")
    op.execute("DROP TABLE track_points_old")


def upgrade() -> None:
    _set_aside()
    _create(partitioned=True)
    op.execute(f"CREATE TABLE {DEFAULT} PARTITION OF track_points DEFAULT")
    today = beijing_day(datetime.now(UTC))
    days = {today + timedelta(days=k) for k in range(AHEAD_DAYS + 1)}
    days |= {date.fromordinal(EPOCH_ORDINAL + int(d)) for (d,) in op.get_bind().execute(text(
        "SELECT DISTINCT floor((t_epoch + 28800) / 86400) FROM track_points_old"))}  # Beijing days with reports
    for day in sorted(days):
        op.execute(create_sql(day))
    _copy_back()


def downgrade() -> None:
    _set_aside()
    _create(partitioned=False)
    _copy_back()
