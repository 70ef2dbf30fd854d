"""The live picture: every aircraft's latest state as numpy arrays, cooperative and not."""

from lowalt.surveillance.reports import ReportBatch, Source, decode_frame
from lowalt.surveillance.tracks import Snapshot, TrackTable, UpsertResult

__all__ = ["ReportBatch", "Snapshot", "Source", "TrackTable", "UpsertResult", "decode_frame"]
