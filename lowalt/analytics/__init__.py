"""Capacity and utilisation analytics (issue #20): what the take-off points, the corridors, the airspace
cells, filing and the operators actually did, and where capacity will run out in the next 24 hours.

Shape (functional core, thin shell):

- :mod:`lowalt.analytics.measures`: the measures as PostGIS SQL, built by pure functions from a
  :class:`~lowalt.analytics.measures.Window` and a scope (all organisations, or one); no I/O.
- :mod:`lowalt.analytics.model`: the typed rows every measure returns, and pure derivations over them
  (peak hours, the next free slot, CSV).
- :mod:`lowalt.store.analytics_repo`: runs the SQL and maps rows to the typed rows (the only I/O).
- :mod:`lowalt.analytics.report`: the daily report (HTML with plots, the CSVs behind them, a Chinese
  summary); ``lowalt report daily``.

The definitions of every measure (what counts, bucket edges, units) are in ``docs/analytics.md``.
"""
