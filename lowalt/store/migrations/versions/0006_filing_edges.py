"""Filing at the edges: idempotency fingerprints, ended weather warnings, aircraft bookings.

Revision ID: 0006
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SHA-256 of the canonical request body: a reused Idempotency-Key with another body is refused.
    op.execute("ALTER TABLE plans ADD COLUMN request_hash text")
    # One aircraft (or pilot licence) holds one plan at a time: find its other plans quickly.
    op.execute("CREATE INDEX plans_aircraft_time_idx ON plans (aircraft_id, starts_at, ends_at)")
    op.execute("CREATE INDEX plans_licence_time_idx ON plans (licence_id, starts_at, ends_at) "
               "WHERE licence_id IS NOT NULL")
    # A warning ended early keeps its row (audit): ended_at/ended_by say when and by whom.
    op.execute("ALTER TABLE weather_warnings ADD COLUMN ended_at timestamptz")
    op.execute("ALTER TABLE weather_warnings ADD COLUMN ended_by text")


def downgrade() -> None:
    op.execute("ALTER TABLE weather_warnings DROP COLUMN ended_by")
    op.execute("ALTER TABLE weather_warnings DROP COLUMN ended_at")
    op.execute("DROP INDEX plans_licence_time_idx")
    op.execute("DROP INDEX plans_aircraft_time_idx")
    op.execute("ALTER TABLE plans DROP COLUMN request_hash")
