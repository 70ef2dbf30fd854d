"""Alert log as insert-only events; ``alerts`` becomes the view of each alert's latest event.

Until 0004 the log was one row per alert, upserted on an id counted in memory from 1, so a
restart could overwrite last week's row. Now every lifecycle step (raised, updated, acknowledged,
cleared) is a new row carrying the whole alert as it was; a trigger refuses UPDATE and DELETE.
Rows of the old table are carried over as one ``raised`` event each (``node`` = 'migrated').

Revision ID: 0005
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE alert_events (
            event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            alert_id text NOT NULL,
            event text NOT NULL CHECK (event IN ('raised', 'updated', 'acknowledged', 'cleared')),
            at timestamptz NOT NULL DEFAULT now(),
            kind text NOT NULL,
            severity text NOT NULL,
            state text NOT NULL,
            aircraft text[] NOT NULL,
            first_seen timestamptz NOT NULL,
            last_seen timestamptz NOT NULL,
            cleared_at timestamptz,
            acknowledged_by text,
            acknowledged_at timestamptz,
            details jsonb NOT NULL DEFAULT '{}',
            node text
        )
        """
    )
    op.execute("CREATE INDEX alert_events_alert_idx ON alert_events (alert_id, event_id DESC)")
    op.execute("CREATE INDEX alert_events_at_idx ON alert_events USING brin (at)")
    op.execute("CREATE INDEX alert_events_aircraft_idx ON alert_events USING gin (aircraft)")
    op.execute(
        """
        INSERT INTO alert_events (alert_id, event, at, kind, severity, state, aircraft, first_seen, last_seen,
                                  cleared_at, acknowledged_by, acknowledged_at, details, node)
        SELECT id, 'raised', last_seen, kind, severity, state, aircraft, first_seen, last_seen, cleared_at,
               acknowledged_by, acknowledged_at, details, 'migrated'
        FROM alerts
        """
    )
    op.execute("DROP TABLE alerts")
    op.execute(
        """
        CREATE FUNCTION alert_events_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'alert_events is insert-only (% refused)', TG_OP;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER alert_events_no_change BEFORE UPDATE OR DELETE ON alert_events "
        "FOR EACH ROW EXECUTE FUNCTION alert_events_insert_only()"
    )
    op.execute(
        "CREATE TRIGGER alert_events_no_truncate BEFORE TRUNCATE ON alert_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION alert_events_insert_only()"
    )
    op.execute(
        """
        CREATE VIEW alerts AS
        SELECT DISTINCT ON (alert_id)
               alert_id AS id, kind, severity, state, aircraft, first_seen, last_seen, cleared_at,
               acknowledged_by, acknowledged_at, details, event AS last_event, event_id AS last_event_id
        FROM alert_events
        ORDER BY alert_id, event_id DESC
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW alerts")
    op.execute("DROP TABLE alert_events")
    op.execute("DROP FUNCTION alert_events_insert_only()")
