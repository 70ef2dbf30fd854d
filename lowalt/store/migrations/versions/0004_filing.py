"""Filing: flight plans (operational intents), their audit trail, weather warnings, suspensions.

Revision ID: 0004
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE plans (
            id text PRIMARY KEY,
            organisation text NOT NULL,
            submitted_by text NOT NULL,
            aircraft_id text NOT NULL,
            category text NOT NULL,
            pilot text NOT NULL,
            licence_id text,
            mission text NOT NULL,
            priority smallint NOT NULL,
            geom geometry(Geometry, 4326) NOT NULL,
            half_width_m double precision NOT NULL DEFAULT 0,
            floor_m double precision NOT NULL,
            floor_ref text NOT NULL,
            ceiling_m double precision NOT NULL,
            ceiling_ref text NOT NULL,
            takeoff geometry(Point, 4326) NOT NULL,
            landing geometry(Point, 4326) NOT NULL,
            starts_at timestamptz NOT NULL,
            ends_at timestamptz NOT NULL,
            state text NOT NULL,
            decision jsonb NOT NULL DEFAULT '{}',
            attrs jsonb NOT NULL DEFAULT '{}',
            idempotency_key text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT plans_refs CHECK (floor_ref IN ('AGL', 'AMSL') AND ceiling_ref IN ('AGL', 'AMSL')),
            CONSTRAINT plans_window CHECK (ends_at > starts_at),
            CONSTRAINT plans_state CHECK (state IN ('submitted', 'approved', 'referred', 'rejected', 'active',
                                                    'completed', 'cancelled', 'withdrawn')),
            CONSTRAINT plans_idempotency UNIQUE (organisation, idempotency_key)
        )
        """
    )
    op.execute("CREATE INDEX plans_geom_idx ON plans USING gist (geom)")
    op.execute("CREATE INDEX plans_state_time_idx ON plans (state, starts_at, ends_at)")
    op.execute("CREATE INDEX plans_org_idx ON plans (organisation, created_at)")
    op.execute(
        """
        CREATE TABLE plan_events (
            id bigserial PRIMARY KEY,
            plan_id text NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
            from_state text,
            to_state text NOT NULL,
            by text NOT NULL,
            at timestamptz NOT NULL DEFAULT now(),
            reason text NOT NULL DEFAULT '',
            details jsonb NOT NULL DEFAULT '{}'
        )
        """
    )
    op.execute("CREATE INDEX plan_events_plan_idx ON plan_events (plan_id, id)")
    op.execute(
        """
        CREATE TABLE weather_warnings (
            id text PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('thunderstorm', 'wind', 'visibility', 'precipitation')),
            geom geometry(Geometry, 4326),
            starts_at timestamptz NOT NULL,
            ends_at timestamptz NOT NULL,
            value double precision,
            text text NOT NULL DEFAULT '',
            created_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            CHECK (ends_at > starts_at)
        )
        """
    )
    op.execute("ALTER TABLE aircraft ADD COLUMN suspended boolean NOT NULL DEFAULT false")
    op.execute("ALTER TABLE users ADD COLUMN suspended boolean NOT NULL DEFAULT false")


def downgrade() -> None:
    op.execute("ALTER TABLE users DROP COLUMN suspended")
    op.execute("ALTER TABLE aircraft DROP COLUMN suspended")
    op.execute("DROP TABLE weather_warnings")
    op.execute("DROP TABLE plan_events")
    op.execute("DROP TABLE plans")
