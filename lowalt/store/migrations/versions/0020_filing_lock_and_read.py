"""Filing: take a decision's advisory locks and read what must be read under them in one round trip.

``filing_lock_and_read`` takes ``pg_advisory_xact_lock`` on the keys in the order given (callers sort
them: no deadlock), then reads, in a second statement of its own, the aircraft/operator registry and
the organisation's pilot register, the cells' versions, the plans changed in them since the versions
the calling node saw, and the aircraft's and licence's bookings (``lowalt.store.filing_repo``). The
function is VOLATILE: in READ COMMITTED its second statement takes a fresh snapshot, after the locks,
so it sees every change committed by whoever held them before (one plain statement would read the
snapshot taken before it waited for the locks). Before this, a filing spent two round trips on it.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION filing_lock_and_read(p_keys bigint[], p_aircraft text, p_user text, p_org text,
                                             p_cells bigint[], p_since bigint[], p_licence text, p_states text[],
                                             p_from timestamptz, p_to timestamptz)
        RETURNS TABLE (o_category text, o_organisation text, o_suspended boolean, o_off boolean, o_register text,
                       o_cells bigint[], o_versions bigint[], o_changed text[], o_bookings text)
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            PERFORM count(pg_advisory_xact_lock(u.k)) FROM unnest(p_keys) WITH ORDINALITY AS u(k, o);
            -- a new statement: a new snapshot, taken after the locks
            RETURN QUERY SELECT
                CAST(a.category AS text), CAST(a.organisation AS text), a.suspended,
                (SELECT u.disabled OR u.suspended FROM users u WHERE u.name = p_user LIMIT 1),
                (SELECT CAST(json_agg(json_build_array(p.name, p.licence_number, p.licence_class, p.licence_expiry))
                             AS text) FROM pilots p WHERE p.organisation = p_org),
                (SELECT array_agg(c.cell ORDER BY c.cell) FROM filing_cells c WHERE c.cell = ANY(p_cells)),
                (SELECT array_agg(c.version ORDER BY c.cell) FROM filing_cells c WHERE c.cell = ANY(p_cells)),
                (SELECT array_agg(DISTINCT i) FROM filing_changes f
                    JOIN unnest(p_cells, p_since) AS s(cell, lo) ON f.cell = s.cell AND f.version > s.lo,
                    unnest(f.plan_ids) AS i),
                (SELECT CAST(json_agg(json_build_array(b.id, b.aircraft_id, b.licence_id, b.starts_at, b.ends_at))
                             AS text)
                 FROM plans b WHERE (b.aircraft_id = p_aircraft OR b.licence_id = p_licence)
                 AND b.state = ANY(p_states) AND b.starts_at < p_to AND b.ends_at > p_from)
            FROM (SELECT 1) AS one LEFT JOIN aircraft a ON a.id = p_aircraft;
        END $$
    """)


def downgrade() -> None:
    op.execute("DROP FUNCTION filing_lock_and_read(bigint[], text, text, text, bigint[], bigint[], text, text[],"
               " timestamptz, timestamptz)")
