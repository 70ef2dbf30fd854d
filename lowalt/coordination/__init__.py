"""军地民 three-party coordination (issue #19): parties, their constraints, multi-party approval and the
counter-UAS hand-off to police.

``model`` and ``rules`` are pure (plain data, no I/O, no clock reads): who an authority is, what each
party may see, which authorities a plan's footprint needs, how their decisions combine, when a request is
overdue, and the counter-UAS case lifecycle. ``lowalt.services.coordination`` is the thin shell that stores
(PostGIS, through
``lowalt.store.coordination_repo``) and reuses the existing paths: a party constraint is published as an
airspace restriction (so it takes effect at once in filing, in the monitor and on the map, and approved
plans it forbids are withdrawn by filing's own restriction path), and a combined decision is carried
out by filing's own approve/reject (which re-runs every rule). See ``docs/coordination.md``.
"""
