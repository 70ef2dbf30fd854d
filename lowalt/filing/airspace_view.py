"""Adapter from the airspace model (``lowalt.airspace``) to what filing asks of it.

``AirspaceIndex.classify`` answers per point and instant; filing needs per plan and
window: "the worst verdict over the footprint x band x window, and which volumes gave
it", plus route corridors and vertiports by location. Sampling is every ~250 m over the
footprint, at floor/middle/ceiling, and every 15 min over the window (schedules in the
Fuliang data change on :00/:30, so a window never hides a change longer than 15 min).
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from shapely.geometry import Point

from lowalt.airspace.index import AirspaceIndex
from lowalt.airspace.model import AirspaceSet, Route, Vertiport
from lowalt.airspace.rules import REASONS, VERDICTS, Reason, Verdict
from lowalt.airspace.schedule import WeeklyWindow
from lowalt.filing.model import FlightPlan, Footprint
from lowalt.geo.altitude import AltitudeReference
from lowalt.geo.crs import geometry_to_local, to_local
from lowalt.geo.terrain import TerrainInfo, TerrainModel

SAMPLE_STEP = timedelta(minutes=15)
RECENT_FOOTPRINTS = 8
"""Footprints whose samples and classifications are kept (one decision's candidates share a few)."""
MAX_STATES = 65_536
"""Activity states and vertiport answers kept (least recently used first out)."""
EDGE_M = 1e-6
"""Volumes are closed intervals [floor, ceiling]: a band whose ceiling is exactly a layer's floor
(120 m: W's ceiling and G's floor) only touches that layer. The band's limits are sampled this far
inside the band, so a 0-120 m band lies in W (以下 includes 120) and a 0-120.01 m band enters G."""


@dataclass(frozen=True)
class Hit:
    verdict: Verdict
    reason: Reason
    volume_id: str | None
    name_zh: str
    name_en: str
    at: datetime


@dataclass
class AirspaceFinding:
    """Worst verdict of a plan's samples and the (reason, volume) pairs behind it."""

    worst: Verdict = Verdict.ALLOWED
    hits: list[Hit] = field(default_factory=list)
    """One per distinct (verdict, reason, volume), first instant seen."""
    allowed_reasons: set[Reason] = field(default_factory=set)
    """Why the allowed samples were allowed (suitable airspace, or a released route)."""

    suitable_beneath: bool = False
    """Allowed as a released route, and the airspace beneath the route is suitable airspace too."""

    @property
    def suitable_only(self) -> bool:
        """Allowed everywhere as suitable airspace (适飞空域), route or not: the Art. 31 exemption's ground.

        A released route over suitable airspace keeps the exemption; one crossing controlled airspace
        (the city routes inside ZSJD's protection area) does not."""
        if self.worst is not Verdict.ALLOWED:
            return False
        return self.allowed_reasons <= {Reason.SUITABLE_AIRSPACE} or self.suitable_beneath

    def of(self, verdict: Verdict) -> list[Hit]:
        return [h for h in self.hits if h.verdict is verdict]


def sample_times(start: datetime, end: datetime, step: timedelta = SAMPLE_STEP) -> list[datetime]:
    out = [start]
    t = start + step
    while t < end:
        out.append(t)
        t += step
    last = end - timedelta(seconds=1)
    if last > start:
        out.append(last)
    return out


def hours_text(route: Route) -> str:
    """Release hours as text, e.g. ``'daily 06:00-22:00 Asia/Shanghai'``."""
    if route.schedule is None or not route.schedule.weekly:
        return "always"
    parts = [_window_text(w) for w in route.schedule.weekly]
    return "; ".join(parts) + f" {route.schedule.timezone}"


def hours_text_zh(route: Route) -> str:
    """Release hours in Chinese, e.g. ``'每日 06:00-22:00'`` (local time)."""
    if route.schedule is None or not route.schedule.weekly:
        return "全天"
    return "；".join(_window_text(w, zh=True) for w in route.schedule.weekly)


def _window_text(w: WeeklyWindow, zh: bool = False) -> str:
    from lowalt.filing.messages import DAYS_ZH

    names = DAYS_ZH if zh else ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
    every = "每日" if zh else "daily"
    days = every if len(w.days) == 7 else ("、" if zh else ",").join(names[d - 1] for d in sorted(w.days))
    return f"{days} {w.start.strftime('%H:%M')}-{w.end.strftime('%H:%M')}"


@dataclass(frozen=True)
class _Instant:
    """An instant under the key its activity is kept by: equal (and hashed) by the key alone."""

    key: object
    t: datetime = field(compare=False)


class AirspaceView:
    """Filing's questions over one :class:`AirspaceIndex` (restrictions included)."""

    def __init__(self, aset: AirspaceSet, terrain: TerrainModel, index: AirspaceIndex | None = None) -> None:
        self.airspace = aset
        self.terrain = terrain
        self.index = index or AirspaceIndex(aset, terrain)
        self._names: dict[str, tuple[str, str]] = {v.id: (v.name_zh, v.name_en) for v in self.index.volumes}
        self._routes = {r.id: r for r in aset.routes}
        self._corridors = {r.id: r.corridor_local() for r in aset.routes}
        self._base: AirspaceIndex | None = None
        self._ports = list(aset.vertiports)
        px, py = to_local([p.point.x for p in self._ports], [p.point.y for p in self._ports])
        self._port_xy = np.column_stack([px, py]) if self._ports else np.zeros((0, 2))
        self._port_near = functools.lru_cache(maxsize=MAX_STATES)(self._nearest_port)
        """Answers kept per point (a decision asks of its take-off and landing up to eight times: locks, rules,
        alternatives, slots); least recently asked first out."""
        self._grown_ids: list[str] = []
        self._grown_tree = shapely.STRtree([])
        self._recent: list[_Samples] = []
        self._states = functools.lru_cache(maxsize=MAX_STATES)(self._activity_at)
        """Activity key -> the scheduled volumes' activity (bytes) and every static volume's (the mask
        ``AirspaceIndex.classify`` would otherwise compute from each schedule again); least recently used
        first out."""
        self._scheduled = [v for v in self.index.volumes if v.schedule is not None]
        """The static volumes whose activity changes (the others are always active)."""
        schedules = [v.schedule for v in self._scheduled if v.schedule is not None]
        self._zones: list[tuple[ZoneInfo, list[time]]] | None = [
            (ZoneInfo(z), sorted({b for s in schedules if s.timezone == z for w in s.weekly for b in (w.start, w.end)}))
            for z in sorted({s.timezone for s in schedules})
        ] if all(not s.activations and not s.deactivations for s in schedules) else None
        """Weekly windows only (no one-off dates): the activity is a function of the local weekday and time of
        day in each zone, constant between the windows' start and end times, so it is kept per weekday and
        interval between them (a few hundred states) instead of per instant (sample times rarely repeat)."""

    def name(self, vid: str | None) -> tuple[str, str]:
        if vid is None:
            return ("本中心空域数据范围外", "outside the modelled airspace")
        if vid in self._names:
            return self._names[vid]
        for r in self.index.restrictions:
            if r.id == vid:
                return (r.name_zh or f"临时管制空域 {vid}", r.name_en or f"temporary restriction {vid}")
        return (vid, vid)

    def route(self, rid: str) -> Route | None:
        return self._routes.get(rid)

    def check(self, plan: FlightPlan, fp: Footprint, times: list[datetime] | None = None) -> AirspaceFinding:
        """Classify every sample at floor, middle and ceiling at each sample time.

        The samples and their classification under each activity state are kept for the last
        few footprints (:class:`_Samples`): a time alternative is the same footprint at other
        instants, so of its ~24 candidate windows only activity states not seen yet are classified.
        """
        s = self._samples(plan, fp)
        finding = AirspaceFinding()
        seen: set[tuple[int, int, str | None]] = set()
        states: set[bytes] = set()
        restrictions = self.index.restrictions
        if s.restrictions != restrictions:  # a restriction came or went: earlier answers no longer hold
            s.restrictions, s.by_state = restrictions, {}
        times = times or sample_times(plan.start, plan.end)
        for t in times:
            # same points + same set of active volumes = same answer: classify once per activity state
            state = self._volume_state(t) + bytes(r.is_active(t) for r in restrictions)
            if state in states:
                continue
            states.add(state)
            known = s.by_state.get(state)
            if known is None:
                known = s.by_state[state] = self._classified(s, plan, t)
            worst, allowed, keys = known
            if worst > VERDICTS.index(finding.worst):
                finding.worst = VERDICTS[worst]
            finding.allowed_reasons |= allowed
            for key in keys:
                if key in seen:
                    continue
                seen.add(key)
                v, r, vid = key
                zh, en = self.name(vid)
                finding.hits.append(Hit(VERDICTS[v], REASONS[r], vid, zh, en, t))
        if finding.worst is Verdict.ALLOWED and Reason.ROUTE_RELEASED in finding.allowed_reasons:
            finding.suitable_beneath = self._suitable_without_routes(s.lon, s.lat, s.alt, s.ref, s.ground,
                                                                     plan, times)
        return finding

    def _samples(self, plan: FlightPlan, fp: Footprint) -> _Samples:
        """The footprint's samples at floor, middle and ceiling (cached for the last few footprints)."""
        key = (plan.floor, plan.ceiling, plan.category)
        for s in self._recent:
            if s.points is fp.sample_lon and s.key == key:
                return s
        lon, lat = fp.sample_lon, fp.sample_lat
        n = lon.shape[0]
        mid = (plan.floor.value_m + plan.ceiling.value_m) / 2 if plan.floor.reference is plan.ceiling.reference \
            else None
        alts = [(plan.floor.value_m + EDGE_M, plan.floor.reference),
                (plan.ceiling.value_m - EDGE_M, plan.ceiling.reference)]
        if mid is not None:
            alts.append((mid, plan.floor.reference))
        all_lon = np.concatenate([lon] * len(alts))
        all_lat = np.concatenate([lat] * len(alts))
        all_alt = np.concatenate([np.full(n, a) for a, _ in alts])
        all_ref = np.concatenate([np.full(n, r.code, dtype=np.int8) for _, r in alts])
        # the same points at each altitude: the terrain under them (the footprint's, when it came from this
        # view's terrain) is repeated
        under = fp.sample_ground if fp.sample_ground is not None and fp.sampled_on is self.terrain \
            else np.asarray(self.terrain.elevation(lon, lat), dtype=np.float64)
        ground = np.tile(under, len(alts))
        # a floor below the ground at some point means "from the ground up" there, not "underground"
        low = np.where(all_ref == AltitudeReference.AGL.code, all_alt, all_alt - ground) < EDGE_M
        all_alt = np.where(low & (all_ref == AltitudeReference.AGL.code), EDGE_M, all_alt)
        all_alt = np.where(low & (all_ref == AltitudeReference.AMSL.code), ground + EDGE_M, all_alt)
        s = _Samples(lon, key, all_lon, all_lat, all_alt, all_ref, ground, self.index.restrictions, len(alts))
        self._recent = [s, *self._recent[:RECENT_FOOTPRINTS - 1]]
        return s

    def _volume_state(self, t: datetime) -> bytes:
        """Which scheduled static volumes are active at ``t``."""
        return self._activity(t)[0]

    def _activity(self, t: datetime) -> tuple[bytes, np.ndarray]:
        """Which scheduled static volumes are active at ``t``, and which static volumes (all of them, in the
        index's order). Their schedules never change: kept per instant, or per local weekday and interval
        of the day when they have weekly windows only."""
        if self._zones is None:
            return self._states(_Instant(t, t))
        return self._states(_Instant(tuple(_interval(t.astimezone(z), bounds) for z, bounds in self._zones), t))

    def _activity_at(self, at: _Instant) -> tuple[bytes, np.ndarray]:
        """The activity at ``at.t``, kept under ``at.key`` (every instant with that key has the same)."""
        mask = np.array([v.is_active(at.t) for v in self.index.volumes], dtype=np.bool_)
        return bytes(v.is_active(at.t) for v in self._scheduled), mask

    def _classified(self, s: _Samples, plan: FlightPlan, t: datetime
                    ) -> tuple[int, frozenset[Reason], tuple[tuple[int, int, str | None], ...]]:
        """Worst verdict, allowed reasons and distinct (verdict, reason, volume) of the samples at ``t``."""
        c = self.index.classify(s.lon, s.lat, s.alt, s.ref, plan.category, t, terrain=_Fixed(s.ground),
                                repeats=s.repeats, static_active=self._activity(t)[1])
        worst = int(c.verdict.max()) if len(c) else 0
        allowed = frozenset(REASONS[int(r)] for r in np.unique(c.reason[c.verdict == 0]))
        bad = np.nonzero(c.verdict > 0)[0]
        if bad.size == 0:
            return worst, allowed, ()
        keys = np.unique(np.column_stack([c.verdict[bad], c.reason[bad], c.volume[bad]]), axis=0)
        return worst, allowed, tuple((int(v), int(r), c.volume_ids[vol] if vol >= 0 else None)
                                     for v, r, vol in keys)

    def _suitable_without_routes(self, lon: np.ndarray, lat: np.ndarray, alt: np.ndarray, ref: np.ndarray,
                                 ground: np.ndarray, plan: FlightPlan, times: list[datetime]) -> bool:
        """The same samples classified with the routes taken away: suitable airspace everywhere?"""
        if self._base is None:
            self._base = AirspaceIndex(replace(self.airspace, routes=(), restrictions=()), self.terrain)
        states: set[bytes] = set()
        for t in times:
            state = np.array([v.is_active(t) for v in self._base.volumes]).tobytes()
            if state in states:
                continue
            states.add(state)
            c = self._base.classify(lon, lat, alt, ref, plan.category, t, terrain=_Fixed(ground))
            if len(c) and (c.verdict.max() > 0 or np.any(c.reason != Reason.SUITABLE_AIRSPACE.code)):
                return False
        return True

    def corridor_for(self, plan: FlightPlan, fp: Footprint) -> Route | None:
        """A route admitting the category whose corridor contains the plan's footprint.

        Only corridors whose bounding box meets the footprint's are tried, and the footprint is shrunk
        by the 1 m tolerance only when there is one: most filings lie far from every route, and that
        buffer, on every evaluation, was a twentieth of a decision (docs/filing.md, Throughput)."""
        if plan.corridor_id:
            return self._routes.get(plan.corridor_id)
        grown = self._grown_corridors()
        near = np.sort(self._grown_tree.query(fp.area))  # bounding boxes meeting the footprint's, in id order
        rids = [rid for rid in (self._grown_ids[k] for k in near.tolist())
                if plan.category in self._routes[rid].allowed_categories]
        if not rids:  # a corridor that contains the footprint's inner part overlaps its bounding box
            return None
        inner = fp.area.buffer(-1.0)
        found = [self._routes[rid] for rid in rids if grown[rid].contains(inner)]

        def fits(r: Route) -> bool:  # same references and the band inside the route's band
            return (r.floor.reference is plan.floor.reference and r.ceiling.reference is plan.ceiling.reference
                    and r.floor.value_m <= plan.floor.value_m and plan.ceiling.value_m <= r.ceiling.value_m)

        return next((r for r in found if fits(r)), found[0] if found else None)

    def inside_corridor(self, route: Route, fp: Footprint) -> bool:
        return bool(self._grown_corridors()[route.id].contains(fp.area.buffer(-0.5)))

    def _grown_corridors(self) -> dict[str, shapely.Geometry]:
        """Corridors grown by 1 m (the tolerance of "inside"), built and prepared once: buffering
        every corridor on every evaluation was a sixth of a filing decision."""
        grown: dict[str, shapely.Geometry] | None = getattr(self, "_grown", None)
        if grown is None or grown.keys() != self._corridors.keys():
            grown = {rid: poly.buffer(1.0) for rid, poly in self._corridors.items()}
            for g in grown.values():
                shapely.prepare(g)
            self._grown_ids = sorted(grown)
            self._grown_tree = shapely.STRtree([grown[r] for r in self._grown_ids])
            self._grown = grown
        return grown

    def vertiport_near(self, p: Point, radius_m: float) -> Vertiport | None:
        """The nearest vertiport within ``radius_m`` of ``p`` (answers kept per point: ``_port_near``)."""
        if not self._ports:
            return None
        found: Vertiport | None = self._port_near(p.x, p.y, radius_m)
        return found

    def _nearest_port(self, lon: float, lat: float, radius_m: float) -> Vertiport | None:
        x, y = to_local([lon], [lat])
        d = np.hypot(self._port_xy[:, 0] - x[0], self._port_xy[:, 1] - y[0])
        k = int(np.argmin(d))
        return self._ports[k] if d[k] <= radius_m else None

    def forbidden_area_local(self, ids: list[str]) -> shapely.Geometry | None:
        """Union of the named volumes/restrictions in local metres (for rerouting)."""
        polys = [geometry_to_local(v.polygon) for v in self.index.volumes if v.id in ids]
        polys += [geometry_to_local(r.polygon) for r in self.index.restrictions if r.id in ids]
        return shapely.union_all(polys) if polys else None


@dataclass
class _Samples:
    """One footprint's sample points at the plan's band, and what each activity state made of them."""

    points: np.ndarray
    """The footprint's ``sample_lon`` (identity: a time-shifted copy of a footprint shares it)."""
    key: tuple[object, ...]
    lon: np.ndarray
    lat: np.ndarray
    alt: np.ndarray
    ref: np.ndarray
    ground: np.ndarray
    restrictions: tuple[object, ...]
    repeats: int
    """The footprint's points repeated at each altitude (``AirspaceIndex.classify``'s ``repeats``)."""
    by_state: dict[bytes, tuple[int, frozenset[Reason], tuple[tuple[int, int, str | None], ...]]] = \
        field(default_factory=dict)


def _interval(local: datetime, bounds: list[time]) -> tuple[int, int]:
    """The local weekday and which interval between the windows' start and end times holds the time of
    day: what a weekly window's answer depends on (``WeeklyWindow.contains_local``: start included, end
    not, so the answer changes only at those times)."""
    return local.isoweekday(), bisect_right(bounds, local.time())


@dataclass(frozen=True)
class _Fixed:
    """Terrain already sampled at the query points (saves a lookup per sample time)."""

    values: np.ndarray

    @property
    def info(self) -> TerrainInfo:
        return TerrainInfo("pre-sampled at the query points", True, 0.0)

    def elevation(self, lon: object, lat: object) -> np.ndarray:
        return self.values
