"""One monitor pass per tick: conflicts, predicted intrusions, conformance, lost contact -> alerts.

This is the adapter between the live track arrays (lon/lat, metres AMSL) and the pure engine in
``lowalt.conflict`` (local metres). It runs in a worker thread; it owns the ``AlertBook`` and
touches nothing on the event loop.

The EPSG:4548 grid is rotated from true north by the meridian convergence (< 0.2 degrees around
Jingdezhen, 117.0-117.6 E), so true-north velocities are used as grid velocities unchanged: the
position error after a 60 s look-ahead at 60 m/s is under 13 m, inside every separation minimum's
margin; for exactness at the edges the engine itself is exact in whatever frame it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from lowalt.conflict.alerts import (
    Alert,
    AlertBook,
    Finding,
    FindingKind,
    Severity,
    severity_from_t_in,
)
from lowalt.conflict.conformance import ConformancePlans, ConformanceStatus, check_conformance
from lowalt.conflict.intrusion import IntrusionVolumes, predict_intrusions
from lowalt.conflict.separation import (
    CATEGORIES,
    Category,
    GiveWay,
    SeparationMatrix,
    detect_conflicts_by_category,
    right_of_way,
)
from lowalt.geo.crs import to_local
from lowalt.live.service import Assessment
from lowalt.surveillance.tracks import Snapshot

WIRE_TO_CATEGORY = {
    "micro_uav": Category.MICRO, "light_uav": Category.LIGHT, "small_uav": Category.SMALL,
    "medium_uav": Category.MEDIUM, "large_uav": Category.LARGE, "evtol": Category.EVTOL,
    "helicopter": Category.HELICOPTER, "crewed_ga": Category.CREWED_GA, "unknown": Category.UNKNOWN,
}
SEVERITY_WIRE = {Severity.CAUTION: "caution", Severity.WARNING: "warning", Severity.ALARM: "alarm"}
STATUS_WIRE = {
    ConformanceStatus.CONFORMING: "conforming", ConformanceStatus.OUTSIDE_CORRIDOR: "deviating",
    ConformanceStatus.OUTSIDE_ALTITUDE: "deviating", ConformanceStatus.OUTSIDE_TIME_WINDOW: "deviating",
    ConformanceStatus.NO_PLAN: "unauthorised",
}
REASON_WIRE = {
    ConformanceStatus.OUTSIDE_CORRIDOR: "outside_corridor", ConformanceStatus.OUTSIDE_ALTITUDE: "outside_altitude",
    ConformanceStatus.OUTSIDE_TIME_WINDOW: "outside_time_window",
}


CONFLICT = FindingKind.CONFLICT
GIVE_I, GIVE_J = int(GiveWay.I), int(GiveWay.J)
_SEVERITIES = {int(s): s for s in Severity}


def category_code(wire: str) -> int:
    """Wire category (``small_uav``...) -> code in the separation matrix; unknown names -> ``unknown``."""
    return WIRE_TO_CATEGORY.get(wire, Category.UNKNOWN).code


@dataclass(frozen=True)
class PlanPicture:
    """Approved/active plans as the conformance check wants them, plus who flies which."""

    plans: ConformancePlans
    plan_of: dict[str, int]
    """Aircraft id -> row in ``plans`` (its current or next approved plan)."""
    plan_ids: list[str]
    """Row -> plan id, for alert details."""
    agl: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))
    """Row -> the band is true height (AGL); otherwise AMSL."""
    states: list[str] = field(default_factory=list)
    """Row -> plan state (approved / active)."""


class PlanSource(Protocol):
    def picture(self, now: float) -> PlanPicture: ...


def alert_to_wire(a: Alert) -> dict[str, Any]:
    return {
        "id": a.alert_id, "kind": a.kind.value, "severity": SEVERITY_WIRE[a.severity], "state": a.state.value,
        "aircraft": list(a.subject[:2] if a.kind is FindingKind.CONFLICT else a.subject[:1]),
        "subject": list(a.subject), "first_seen": a.first_seen, "last_seen": a.last_seen,
        "cleared_at": a.cleared_at, "acknowledged_by": a.acknowledged_by, "acknowledged_at": a.acknowledged_at,
        "details": dict(a.details),
    }


@dataclass
class ConflictMonitor:
    matrix: SeparationMatrix = field(default_factory=SeparationMatrix)
    lookahead_s: float = 60.0
    warning_s: float = 30.0
    intrusion_source: Callable[[float], IntrusionVolumes | None] | None = None
    plan_source: PlanSource | None = None
    terrain: Any = None
    """Terrain for true-height conformance of AGL-banded plans (None: treat ground as 0 m)."""
    book: AlertBook = field(default_factory=lambda: AlertBook(clear_after_ticks=3, downgrade_after_ticks=3))
    h_tol_m: float = 20.0
    v_tol_m: float = 10.0
    t_tol_s: float = 60.0
    _prev_status: dict[str, int] = field(default_factory=dict)
    _lost_with_plan: dict[str, float] = field(default_factory=dict)
    _wire: dict[str, dict[str, Any]] = field(default_factory=dict)

    def assess(self, snap: Snapshot, now: float, lost: list[str]) -> Assessment:
        findings: list[Finding] = []
        statuses: dict[str, str] = {}
        n = snap.n
        if n:
            x, y = to_local(snap.lon, snap.lat)
            pos = np.column_stack([x, y, snap.alt])
            vel = np.column_stack([snap.vx, snap.vy, snap.vz])
            findings += self._conflicts(snap, pos, vel)
            findings += self._intrusions(snap, pos, vel, now)
            findings += self._conformance(snap, pos, now, statuses)
        for k, aid in enumerate(snap.ids):
            if not snap.cooperative[k]:
                statuses[aid] = "noncoop"
        findings += self._lost_contact(snap, lost, now)
        diff = self.book.update(findings, now)
        new = [alert_to_wire(a) for a in diff.new]
        updated = [alert_to_wire(a) for a in diff.updated]
        cleared = [alert_to_wire(a) for a in diff.cleared]
        # the active set is kept incrementally: rebuilding thousands of wire dicts every tick
        # would cost more than the conflict pass itself
        for a in (*new, *updated):
            self._wire[a["id"]] = a
        for a in cleared:
            self._wire.pop(a["id"], None)
        return Assessment(statuses=statuses, alerts_new=new, alerts_updated=updated, alerts_cleared=cleared,
                          active=dict(self._wire))

    def acknowledge(self, alert_id: str, by: str, at: float) -> dict[str, Any] | None:
        try:
            wire = alert_to_wire(self.book.acknowledge(alert_id, by, at))
        except KeyError:
            return None
        self._wire[alert_id] = wire
        return wire

    # -- the checks --------------------------------------------------------------------------

    def _conflicts(self, snap: Snapshot, pos: np.ndarray, vel: np.ndarray) -> list[Finding]:
        cats = snap.category.astype(np.int64)
        found = detect_conflicts_by_category(pos, vel, cats, self.matrix, lookahead=self.lookahead_s)
        if not len(found):
            return []
        # one pass over plain Python lists: per-pair numpy scalar access would dominate the tick
        sev = [_SEVERITIES[s] for s in severity_from_t_in(found.t_in, warning_s=self.warning_s).tolist()]
        give = right_of_way(found.i, found.j, cats).tolist()
        ids = snap.ids
        names = [CATEGORIES[c].value for c in range(len(CATEGORIES))]
        ci, cj = cats[found.i].tolist(), cats[found.j].tolist()
        cols = zip(found.i.tolist(), found.j.tolist(), np.round(found.t_in, 1).tolist(),
                   np.round(found.t_out, 1).tolist(), np.round(found.t_cpa, 1).tolist(),
                   np.round(found.d_cpa, 1).tolist(), sev, give, ci, cj, strict=True)
        out = []
        for i, j, t_in, t_out, t_cpa, d_cpa, severity, g, a_cat, b_cat in cols:
            a, b = ids[i], ids[j]
            out.append(Finding(CONFLICT, (a, b) if a <= b else (b, a), severity, {
                "t_in": t_in, "t_out": t_out, "t_cpa": t_cpa, "d_cpa_m": d_cpa,
                "give_way": [a] if g == GIVE_I else [b] if g == GIVE_J else [a, b],
                "categories": [names[a_cat], names[b_cat]],
            }))
        return out

    def _intrusions(self, snap: Snapshot, pos: np.ndarray, vel: np.ndarray, now: float) -> list[Finding]:
        volumes = self.intrusion_source(now) if self.intrusion_source else None
        if volumes is None or not len(volumes.ids):
            return []
        hits = predict_intrusions(pos, vel, volumes, lookahead=self.lookahead_s)
        out = []
        for k in range(len(hits)):
            t_enter = float(hits.t_enter[k])
            sev = Severity.ALARM if t_enter <= 0 else Severity.WARNING if t_enter <= self.warning_s else Severity.CAUTION
            aid, vid = snap.ids[hits.aircraft[k]], volumes.ids[hits.volume[k]]
            out.append(Finding(FindingKind.INTRUSION, (aid, vid), sev, {"volume": vid, "t_enter": round(t_enter, 1)}))
        return out

    def _conformance(self, snap: Snapshot, pos: np.ndarray, now: float, statuses: dict[str, str]) -> list[Finding]:
        if self.plan_source is None:
            return []
        pic = self.plan_source.picture(now)
        coop = np.flatnonzero(snap.cooperative)
        if not len(coop):
            return []
        idx = np.array([pic.plan_of.get(snap.ids[k], -1) for k in coop], dtype=np.int64)
        prev = np.array([self._prev_status.get(snap.ids[k], 0) for k in coop], dtype=np.int64)
        p = pos[coop].copy()
        if len(pic.agl):
            agl = (idx >= 0) & pic.agl[np.maximum(idx, 0)]
            if agl.any():  # true height for AGL-banded plans
                ground = (np.asarray(self.terrain.elevation(snap.lon[coop][agl], snap.lat[coop][agl]), dtype=float)
                          if self.terrain is not None else 0.0)
                p[agl, 2] = p[agl, 2] - np.nan_to_num(ground)
        status = check_conformance(p, snap.t[coop], idx, pic.plans, h_tol_m=self.h_tol_m,
                                   v_tol_m=self.v_tol_m, t_tol_s=self.t_tol_s, previous=prev)
        out = []
        self._prev_status = {}
        for k, st in zip(coop, status, strict=True):
            aid = snap.ids[k]
            s = ConformanceStatus(int(st))
            self._prev_status[aid] = int(s)
            statuses[aid] = STATUS_WIRE[s]
            if s is ConformanceStatus.NO_PLAN:
                out.append(Finding(FindingKind.UNAUTHORISED, (aid,), Severity.WARNING, {"reason": "no_plan"}))
            elif s is not ConformanceStatus.CONFORMING:
                plan = pic.plan_ids[pic.plan_of[aid]]
                out.append(Finding(FindingKind.NONCONFORMANCE, (aid,), Severity.WARNING,
                                   {"reason": REASON_WIRE[s], "plan": plan}))
        return out

    def _lost_contact(self, snap: Snapshot, lost: list[str], now: float) -> list[Finding]:
        """A track with an approved plan that goes silent stays an alert until it reports again
        or its plan window ends."""
        if self.plan_source is None:
            return []
        pic = self.plan_source.picture(now)
        for aid in lost:
            row = pic.plan_of.get(aid)
            if row is not None:
                self._lost_with_plan[aid] = float(pic.plans.end_s[row])
        live = set(snap.ids)
        for aid in list(self._lost_with_plan):
            if aid in live or self._lost_with_plan[aid] < now:
                del self._lost_with_plan[aid]
        return [Finding(FindingKind.LOST_CONTACT, (aid,), Severity.WARNING, {"plan_ends": end})
                for aid, end in sorted(self._lost_with_plan.items())]
