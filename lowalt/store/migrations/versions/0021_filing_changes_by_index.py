"""Filing: read a cell's changes through the ``filing_changes`` primary key, not a scan of the whole log.

``filing_lock_and_read`` (0020) found the plans changed in the decision's cells with a join of
``filing_changes`` to the cells. Taking the cells for ten rows (an array's default estimate), the planner
hashed a sequential scan of the log, which only grows (every approval adds a row per cell), and a pooled
connection kept that plan as the log grew: 0.13 ms of PostGIS per decision at 2,750 rows, after 1,000
filings (issue 16, docs/filing.md). Now each cell's changes after the version the node saw come from a
range of the primary key (cell, version), a LATERAL subquery per cell (``OFFSET 0`` keeps the planner from
flattening it back into the join): 0.04 ms for the whole read. Same function, same results.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_FUNCTION = """
    CREATE OR REPLACE FUNCTION filing_lock_and_read(p_keys bigint[], p_aircraft text, p_user text, p_org text,
                                                    p_cells bigint[], p_since bigint[], p_licence text,
                                                    p_states text[], p_from timestamptz, p_to timestamptz)
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
            (SELECT array_agg(DISTINCT i) FROM unnest(p_cells, p_since) AS s(cell, lo)
                CROSS JOIN LATERAL (SELECT f.plan_ids FROM filing_changes f
                                    WHERE f.cell = s.cell AND f.version > s.lo OFFSET 0) AS f,
                unnest(f.plan_ids) AS i),
            (SELECT CAST(json_agg(json_build_array(b.id, b.aircraft_id, b.licence_id, b.starts_at, b.ends_at))
                         AS text)
             FROM plans b WHERE (b.aircraft_id = p_aircraft OR b.licence_id = p_licence)
             AND b.state = ANY(p_states) AND b.starts_at < p_to AND b.ends_at > p_from)
        FROM (SELECT 1) AS one LEFT JOIN aircraft a ON a.id = p_aircraft;
    END $$
"""


def upgrade() -> None:
    op.execute(_FUNCTION)


def downgrade() -> None:
    from importlib import import_module

    previous = import_module("lowalt.store.migrations.versions.0020_filing_lock_and_read")
    op.execute("DROP FUNCTION filing_lock_and_read(bigint[], text, text, text, bigint[], bigint[], text, text[],"
               " timestamptz, timestamptz)")
    previous.upgrade()
