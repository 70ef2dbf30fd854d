"""Typed rows of every measure, and the pure derivations over them (peak hours, next free slot, CSV).

Times are timezone-aware UTC; a bucket is named by its start and holds ``start <= t < start + size``
(a movement at 10:15:00 is in the 10:15 bucket). Durations are in hours or seconds, as named.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

SLOT = timedelta(minutes=15)
"""A take-off point's capacity period (``capacity_per_15min``; policy.yaml ``vertiports.slot_min``)."""
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class SlotUse:
    """One take-off point's movements (take-offs plus landings) in one 15-minute slot."""

    point_id: str
    name_zh: str
    slot: datetime
    capacity: int
    """Movements the point admits per slot (``capacity_per_15min``)."""
    booked: int
    """Movements of plans that hold or held the slot (approved, active, completed)."""
    flown: int
    """Of those, movements of plans that flew (active, completed)."""
    no_shows: int
    """Of those, movements of plans still approved after their window ended (never activated)."""


@dataclass(frozen=True, slots=True)
class PeakHour:
    """A take-off point's busiest hour: the most movements booked (earliest on a tie)."""

    point_id: str
    name_zh: str
    hour: datetime
    booked: int
    capacity: int
    """Movements the point admits in an hour (4 slots)."""


@dataclass(frozen=True, slots=True)
class CorridorHour:
    """One corridor in one hour, from track history (horizontal footprint: centreline +- half width)."""

    route_id: str
    name_zh: str
    hour: datetime
    flights: int
    """Distinct aircraft with at least one report inside the corridor in the hour."""
    peak_simultaneous: int
    """Most distinct aircraft inside in one whole second of the hour."""
    separation_samples: int = 0
    """Aircraft-seconds inside with another aircraft inside too (``lowalt.analytics.separation``), over the
    window's rolled part (``Corridors.separation_from`` - ``separation_to``)."""
    mean_separation_m: float | None = None
    """Mean horizontal distance to the nearest other aircraft inside, over those samples (m)."""
    p95_separation_m: int | None = None
    """95th percentile of those distances (nearest rank) as its histogram bin's lower edge in whole metres:
    bins 5 m wide below 500 m, 5 % wide above (``separation.sep_bins``)."""
    loss_of_separation_s: int = 0
    """Pair-seconds inside below the monitor's minima for the pair's categories (horizontal and vertical)."""
    length_km: float | None = None
    """The corridor's centreline length (EPSG:4548), km; None for a route no longer published."""
    mean_density_per_km: float | None = None
    """Mean aircraft inside per km of corridor: aircraft-seconds inside / the hour's seconds in the window /
    ``length_km``."""
    peak_density_per_km: float | None = None
    """``peak_simultaneous`` / ``length_km``."""


@dataclass(frozen=True, slots=True)
class Corridors:
    """A window's corridor hours, and the part of the window their separation measures cover."""

    hours: list[CorridorHour]
    separation_from: datetime | None = None
    """Start of the covered part: the first rolled minute or hour of the window (None: nothing rolled)."""
    separation_to: datetime | None = None
    """End of the covered part ("covered up to"): reports after it are not in the separation yet (the roller
    measures each minute ``MINUTE_SETTLE`` after it closes, every ``LOWALT_ANALYTICS_ROLLUP_S``)."""


@dataclass(frozen=True, slots=True)
class CellUse:
    """One 1 km cell of the EPSG:4548 grid (``cx = floor(x / 1000)``, ``cy = floor(y / 1000)``)."""

    cx: int
    cy: int
    lon: float
    """The cell centre, WGS84."""
    lat: float
    flight_hours: float
    """Sum over reports in the cell of the time to the aircraft's next report (each gap at most
    ``MAX_GAP_S``), in hours."""
    occupancy: float
    """``flight_hours`` / the window's hours: the mean number of aircraft in the cell."""
    conflicts: int
    """Conflict alerts raised in the window, placed at the first aircraft's report nearest the raise."""
    intrusions: int
    """Intrusion alerts, placed the same way."""


@dataclass(frozen=True, slots=True)
class DecisionCount:
    decider: str
    """``automatic`` (filing's rules, also the automatic handling of due emergencies) or ``centre``."""
    pathway: str
    """The plan's pathway (即报即飞 basis) as decided."""
    verdict: str
    """approved, referred or rejected."""
    decisions: int


@dataclass(frozen=True, slots=True)
class DecisionTime:
    decider: str
    decisions: int
    median_s: float | None
    """Median seconds from filing to this decision."""


@dataclass(frozen=True, slots=True)
class ReferralReason:
    code: str
    """A reason code of an automatic referral (``lowalt.filing.messages``)."""
    label_zh: str
    """The reason in Chinese, without the plan's particulars (:func:`reason_zh`)."""
    plans: int


@dataclass(frozen=True, slots=True)
class AlternativesUse:
    """Plans offered alternatives (of one kind, or ``all``) and how many took one (``measures.alternatives_accepted``)."""

    kind: str
    """time, altitude, route, location, or ``all`` (distinct plans, whatever the kind)."""
    offered: int
    """Plans offered at least one alternative of this kind in the window."""
    accepted: int
    """Of those, plans re-filed as one of their offered alternatives (of this kind) and approved."""


@dataclass(frozen=True, slots=True)
class FilingSummary:
    decisions: list[DecisionCount]
    times: list[DecisionTime]
    referrals: list[ReferralReason]
    alternatives: list[AlternativesUse] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OperatorUse:
    organisation: str
    flights: int
    """Plans of the organisation that flew (active, completed) starting in the window."""
    flight_hours: float
    """From track history of the organisation's aircraft (as for cells)."""
    alerts: int
    """Alerts raised in the window involving at least one of its aircraft."""
    alerts_per_flight_hour: float | None
    deviations: int
    """Of those, nonconformance alerts."""
    deviations_per_flight_hour: float | None
    conformance_rate: float | None
    """Share of its flights with no nonconformance alert on the aircraft during the plan's window."""


@dataclass(frozen=True, slots=True)
class DemandSlot:
    """A take-off point's 15-minute slot in the coming hours, from approved and active plans."""

    point_id: str
    name_zh: str
    slot: datetime
    capacity: int
    booked: int
    saturated: bool
    """``booked >= capacity``: filing refuses the next movement here (``vertiport_full``)."""
    next_free_slot: datetime | None
    """When saturated: the first later slot of the horizon with a free movement (what a re-filing would
    get), else None."""


@dataclass(frozen=True, slots=True)
class CorridorDemand:
    route_id: str
    hour: datetime
    plans: int
    """Approved and active plans filed under the corridor starting in the hour."""


@dataclass(frozen=True, slots=True)
class Demand:
    start: datetime
    end: datetime
    slots: list[DemandSlot]
    corridors: list[CorridorDemand]


@dataclass(frozen=True, slots=True)
class Separation:
    """A corridor hour's separation samples as summed by the roll-ups: the count, their sum (mm), the
    histogram by bin (``metres``: the bins' lower edges ascending, ``counts`` beside) and the loss-of-separation
    seconds."""

    samples: int
    sum_mm: int
    """Sum of the separations in whole millimetres (integers: the same sum in any order of the parts)."""
    metres: Sequence[int]
    counts: Sequence[int]
    los_s: int
    inside_s: int = 0
    """Aircraft-seconds inside (each aircraft's whole seconds with a report inside)."""


def percentile_floor(metres: Sequence[int], counts: Sequence[int], q: float) -> int | None:
    """The ``q`` quantile (0 < q <= 1) by nearest rank of a histogram (bins' lower edges in metres): the
    smallest edge whose cumulative count reaches ``ceil(q * n)``; None when empty. Why a histogram: a percentile of a
    day is not a sum of its hours' percentiles, but a day's histogram is the sum of its hours'."""
    n = sum(counts)
    if n == 0:
        return None
    rank = max(1, math.ceil(q * n - 1e-9))
    cum = 0
    for m_, c in zip(metres, counts, strict=True):
        cum += c
        if cum >= rank:
            return int(m_)
    return int(metres[-1])


def with_separation(hours: Sequence[CorridorHour], sep: dict[tuple[str, datetime], Separation],
                    start: datetime, end: datetime) -> list[CorridorHour]:
    """The corridor hours of the window ``[start, end)`` with their separation and density measures filled
    in (an hour without separation samples keeps None and 0: one aircraft at a time has no separation to
    measure; density is over the part of the hour inside the window)."""
    out = []
    for h in hours:
        s = sep.get((h.route_id, h.hour))
        if h.length_km:
            seconds = (min(h.hour + HOUR, end) - max(h.hour, start)).total_seconds()
            h = replace(h, peak_density_per_km=h.peak_simultaneous / h.length_km,
                        mean_density_per_km=(s.inside_s if s else 0) / seconds / h.length_km)
        if s is None or s.samples == 0:
            out.append(h)
            continue
        out.append(replace(h, separation_samples=s.samples, mean_separation_m=s.sum_mm / s.samples / 1000,
                           p95_separation_m=percentile_floor(s.metres, s.counts, 0.95),
                           loss_of_separation_s=s.los_s))
    return out


def reason_zh(code: str) -> str:
    """A filing reason code as a short Chinese label: its catalogue message up to the colon, the plan's
    particulars replaced by an ellipsis; "其他原因" for a code the catalogue lacks. Why: the report and the
    dashboard show no raw codes."""
    from lowalt.filing.messages import MESSAGES

    text = MESSAGES.get(code, ("其他原因", ""))[0].split("：")[0]
    return re.sub(r"\{[^}]*\}", "…", text)


def floor_to(t: datetime, step: timedelta) -> datetime:
    """The start of ``t``'s bucket of size ``step`` (epoch-aligned, as PostgreSQL's ``date_bin`` with
    origin 1970-01-01 UTC)."""
    s = int(step.total_seconds())
    return datetime.fromtimestamp(int(t.timestamp()) // s * s, tz=t.tzinfo)


def peak_hours(slots: Iterable[SlotUse]) -> list[PeakHour]:
    """Each point's busiest hour by booked movements (earliest on a tie), ordered by point."""
    per: dict[str, dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    meta: dict[str, SlotUse] = {}
    for s in slots:
        per[s.point_id][floor_to(s.slot, HOUR)] += s.booked
        meta.setdefault(s.point_id, s)
    out = []
    for pid in sorted(per):
        hour, booked = min(per[pid].items(), key=lambda kv: (-kv[1], kv[0]))
        out.append(PeakHour(pid, meta[pid].name_zh, hour, booked, meta[pid].capacity * int(HOUR / SLOT)))
    return out


def with_next_free(slots: Sequence[DemandSlot], start: datetime, end: datetime) -> list[DemandSlot]:
    """``slots`` (sparse: only slots with bookings) with ``next_free_slot`` set on the saturated ones: the
    first later slot before ``end`` whose bookings are under capacity (a slot absent is free)."""
    booked: dict[tuple[str, datetime], DemandSlot] = {(s.point_id, s.slot): s for s in slots}
    out = []
    for s in sorted(slots, key=lambda x: (x.point_id, x.slot)):
        nxt: datetime | None = None
        if s.saturated:
            t = s.slot + SLOT
            while t < end:
                other = booked.get((s.point_id, t))
                if other is None or other.booked < other.capacity:
                    nxt = t
                    break
                t += SLOT
        out.append(replace(s, next_free_slot=nxt))
    return out


def _cell(v: Any) -> str:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else str(v)


def to_csv(rows: Sequence[Any], row_type: type[Any]) -> str:
    """The rows (instances of the dataclass ``row_type``) as CSV with a header of its field names."""
    names = [f.name for f in fields(row_type)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    for r in rows:
        w.writerow([_cell(getattr(r, n)) for n in names])
    return buf.getvalue()
