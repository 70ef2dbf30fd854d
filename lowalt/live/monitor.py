"""One monitor pass per tick: conflicts, predicted intrusions, conformance, lost contact -> alerts.

This is the adapter between the live track arrays (lon/lat, metres AMSL) and the pure engine in
``lowalt.conflict`` (local metres). It runs in a worker thread; it owns the ``AlertBook`` (behind a
lock, so acknowledgements from the event loop never race a tick) and touches nothing on the loop.

**Time alignment.** A report says when its position was true (``t``). Every pass first predicts
each track to the tick's time, ``pos + vel * (now - t)``, with the prediction bounded by
``predict_max_s``; so a gateway that delivers a few seconds late shows aircraft where they are,
and time-to-loss (``t_in``) is counted from the tick's time.

**Track lifecycle** (a track ends when its latest report is ``lost_after_s`` old):

* its plan was completed or cancelled: the flight is over, the track just ends;
* it was on the ground: the device said ``landed``, or it was still (ground speed <= 1 m/s,
  vertical rate <= 0.5 m/s) at most 10 m above the terrain, or it was descending slowly over the
  ground (<= 5 m/s) fast enough to reach 10 m above the terrain before its track ended: it landed
  (at a take-off point or in a field), the track just ends;
* otherwise it was airborne and stopped reporting: **lost contact**. Severity depends on what is
  around its last position, moved on along its last velocity for at most 30 s: ``alarm`` with
  other traffic within 1 km horizontally and 150 m vertically, ``warning`` within 5 km,
  ``caution`` with nothing within 5 km. It clears when the aircraft reports again, when its
  plan is completed or cancelled, or when its plan window ends (no plan: after
  ``lost_contact_max_s``). Non-cooperative detections come and go: they never raise it.

**Crewed traffic over ADS-B** without a lowalt plan is ATC's (crewed flights file with ATC, not
necessarily here): it is shown, separated from and raises conflicts, but it is not an
``unauthorised`` flight and leaving ADS-B coverage ends its track quietly. With a lowalt plan (a
crewed GA flight filed here) every rule applies as to any other aircraft.

The EPSG:4548 grid is rotated from true north by the meridian convergence (< 0.2 degrees around
Jingdezhen, 117.0-117.6 E), so true-north velocities are used as grid velocities unchanged: the
position error after a 60 s look-ahead at 60 m/s is under 13 m, inside every separation minimum's
margin; for exactness at the edges the engine itself is exact in whatever frame it is given.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from lowalt.aircraft_category import SEPARATION_KEYS, separation_code
from lowalt.conflict import warm_up
from lowalt.conflict.alert_table import FindingBatch
from lowalt.conflict.alerts import (
    Alert,
    AlertBook,
    AlertState,
    Finding,
    FindingKind,
    Severity,
    severity_from_t_in,
)
from lowalt.conflict.conformance import ConformancePlans, ConformanceStatus, check_conformance
from lowalt.conflict.intrusion import IntrusionVolumes, predict_intrusions
from lowalt.conflict.separation import (
    GiveWay,
    SeparationMatrix,
    detect_conflicts_by_category,
    right_of_way,
)
from lowalt.geo.crs import to_local
from lowalt.live.service import Assessment
from lowalt.live.shards import ShardLedger, ShardOwner, owner_point
from lowalt.surveillance.reports import Source
from lowalt.surveillance.tracks import Snapshot

SEVERITY_WIRE = {Severity.CAUTION: "caution", Severity.WARNING: "warning", Severity.ALARM: "alarm"}
WIRE_SEVERITY = {v: k for k, v in SEVERITY_WIRE.items()}
ENDED_PLAN_STATES = frozenset({"completed", "cancelled"})
ON_GROUND_MAX_GS = 1.0
ON_GROUND_MAX_VS = 0.5
ON_GROUND_MAX_HEIGHT_M = 10.0
LANDING_MAX_GS = 5.0
LOST_COAST_MAX_S = 30.0
LOST_NEAR_M, LOST_NEAR_DZ_M, LOST_AROUND_M = 1000.0, 150.0, 5000.0
STATUS_WIRE = {
    ConformanceStatus.CONFORMING: "conforming", ConformanceStatus.OUTSIDE_CORRIDOR: "deviating",
    ConformanceStatus.OUTSIDE_ALTITUDE: "deviating", ConformanceStatus.OUTSIDE_TIME_WINDOW: "deviating",
    ConformanceStatus.NO_PLAN: "unauthorised",
}
ATC_STATUS = "atc"
"""Status of crewed traffic heard over ADS-B that has no lowalt plan (ATC's traffic)."""
REASON_WIRE = {
    ConformanceStatus.OUTSIDE_CORRIDOR: "outside_corridor", ConformanceStatus.OUTSIDE_ALTITUDE: "outside_altitude",
    ConformanceStatus.OUTSIDE_TIME_WINDOW: "outside_time_window",
}


CONFLICT = FindingKind.CONFLICT
GIVE_I, GIVE_J = int(GiveWay.I), int(GiveWay.J)
_SEVERITIES = {int(s): s for s in Severity}


def category_code(wire: str) -> int:
    """Wire category (``small_uav``...) -> code in the separation matrix; unknown names -> ``unknown``."""
    return separation_code(wire)


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


def unique_alert_id(kind: FindingKind, subject: tuple[str, ...], seq: int) -> str:
    """Globally unique alert id (stable across restarts and nodes): ``{kind}-{uuid4}``."""
    return f"{kind.value}-{uuid.uuid4()}"


@dataclass(frozen=True)
class LostTrack:
    """An airborne aircraft that stopped reporting: where and when it was last seen."""

    x: float
    y: float
    alt: float
    vx: float
    vy: float
    vz: float
    t: float
    lon: float
    lat: float
    plan: str | None
    until: float
    """Epoch s after which the alert clears by itself (plan window end, or the no-plan limit)."""


def alert_from_wire(w: dict[str, Any]) -> Alert:
    return Alert(
        alert_id=w["id"], kind=FindingKind(w["kind"]), subject=tuple(w.get("subject") or w["aircraft"]),
        severity=WIRE_SEVERITY[w["severity"]], state=AlertState(w["state"]), first_seen=float(w["first_seen"]),
        last_seen=float(w["last_seen"]), details=dict(w.get("details") or {}),
        acknowledged_by=w.get("acknowledged_by"), acknowledged_at=w.get("acknowledged_at"),
    )


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
    book: AlertBook = field(default_factory=lambda: AlertBook(clear_after_ticks=3, downgrade_after_ticks=3,
                                                              id_factory=unique_alert_id))
    predict_max_s: float = 10.0
    """Longest a track's position is extrapolated from its report time (coasting bound)."""
    lost_contact_max_s: float = 900.0
    """How long a lost-contact alert without a plan stays up (with a plan: until its window ends)."""
    h_tol_m: float = 20.0
    v_tol_m: float = 10.0
    t_tol_s: float = 60.0
    _prev_status: dict[str, int] = field(default_factory=dict)
    _codes: dict[str, int] = field(default_factory=dict)
    """Aircraft and volume ids -> integer codes for subject keys (grows; never reused)."""
    _lost: dict[str, LostTrack] = field(default_factory=dict)
    _wire: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    last_phases_ms: dict[str, float] = field(default_factory=dict)
    """Milliseconds spent in each phase of the latest pass (for ``lowalt bench tick`` and /metrics)."""
    owner: ShardOwner | None = None
    """A monitor shard (``lowalt.live.shards``): read only the tracks of its cells and their halo, raise only
    the alerts it owns, hand over (without a clear) those whose owner is now another shard. None: everything."""
    ledger: ShardLedger = field(default_factory=ShardLedger)
    """While sharded: the alerts handed over to other shards and this pass's sorting of findings (the
    hand-over rule, ``lowalt.live.shards.ShardLedger``)."""

    def __post_init__(self) -> None:
        warm_up()  # compile the engine now, not in the first tick (a cold compile takes seconds)

    def assess(self, snap: Snapshot, now: float, gone: Snapshot | None = None) -> Assessment:
        """One pass at tick time ``now`` over ``snap`` (live tracks); ``gone``: tracks ended this tick."""
        with self._lock:
            return self._assess(snap, now, gone)

    def predict(self, snap: Snapshot, now: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions (N, 3) in local metres / AMSL predicted to ``now``, velocities (N, 3), and the
        time each predicted position is for (report time + bounded extrapolation)."""
        dt = np.clip(now - snap.t, 0.0, self.predict_max_s)
        x, y = to_local(snap.lon, snap.lat)
        vel = np.column_stack([snap.vx, snap.vy, snap.vz])
        pos = np.column_stack([x, y, snap.alt]) + vel * dt[:, None]
        down = np.flatnonzero((snap.vz < 0) & (dt > 0))
        if len(down) and self.terrain is not None:  # a descent ends on the ground, not below it
            ground = np.nan_to_num(np.asarray(self.terrain.elevation(snap.lon[down], snap.lat[down]), dtype=float))
            pos[down, 2] = np.maximum(pos[down, 2], np.minimum(ground, snap.alt[down]))
        return pos, vel, snap.t + dt

    def _assess(self, snap: Snapshot, now: float, gone: Snapshot | None) -> Assessment:
        findings: list[Finding] = []
        statuses: dict[str, str] = {}
        pos = np.zeros((0, 3))
        mark = time.perf_counter()
        phases = self.last_phases_ms = {}
        owner = self.owner
        live_ids = snap.ids  # every live track, also those outside a shard's halo
        ledger = self.ledger
        ledger.begin()
        if owner is not None:
            ledger.index((self._key_of(w["kind"], w["subject"]), i) for i, w in self._wire.items())
            if snap.n:  # this shard's cells and their halo only
                snap = snap.select(np.flatnonzero(owner.in_region(snap.lon, snap.lat)))
            if gone is not None and gone.n:  # a lost contact is raised by the owner of the last position
                gone = gone.select(np.flatnonzero(owner.owns(gone.lon, gone.lat)))

        def lap(name: str) -> None:
            nonlocal mark
            t = time.perf_counter()
            phases[name] = (t - mark) * 1000.0
            mark = t

        batches: list[FindingBatch | None] = []
        air = snap  # aircraft that said they are on the ground are not traffic: no airborne checks
        if snap.landed is not None and snap.landed.any():
            statuses.update((snap.ids[k], "landed") for k in np.flatnonzero(snap.landed).tolist())
            air = snap.select(np.flatnonzero(~snap.landed))
        if air.n:
            pos, vel, t_pos = self.predict(air, now)
            codes = self._codes_of(air.ids)
            lap("predict")
            batches.append(self._conflicts(air, pos, vel, codes))
            lap("conflicts")
            batches.append(self._intrusions(air, pos, vel, now, codes))
            lap("intrusions")
            batches += self._conformance(air, pos, t_pos, now, statuses, codes)
            lap("conformance")
        if not snap.cooperative.all():
            statuses.update((snap.ids[k], "noncoop") for k in np.flatnonzero(~snap.cooperative).tolist())
        findings += self._lost_contact(snap, pos, gone, now, live_ids)
        lap("lost_contact")
        lost = [f for f in findings if f.kind is FindingKind.LOST_CONTACT]
        if owner is not None and snap.n:  # statuses of the aircraft in this shard's cells only
            mine_ids = {snap.ids[k] for k in np.flatnonzero(owner.owns(snap.lon, snap.lat)).tolist()}
            statuses = {a: st for a, st in statuses.items() if a in mine_ids}
        if lost:  # few: keyed like the others, so adoption after a restart finds them
            batch: FindingBatch | None = FindingBatch(
                FindingKind.LOST_CONTACT, np.array([self._code(f.subject[0]) for f in lost], dtype=np.int64),
                np.array([int(f.severity) for f in lost], dtype=np.int8), lambda row: lost[row].subject,
                {"details": _object_column([f.details for f in lost])}, _render_details)
            if owner is not None:  # a shard keeps those whose last position is in its cells
                at = np.array([f.details["last_position"][:2] for f in lost], dtype=np.float64)
                batch = self._owned(batch, at[:, 0], at[:, 1])
            batches.append(batch)
        diff = self.book.update([], now, batches=[b for b in batches if b is not None])
        lap("lifecycle")
        new = [alert_to_wire(a) for a in diff.new]
        updated = [alert_to_wire(a) for a in diff.updated]
        cleared_alerts = list(diff.cleared)
        handed: list[dict[str, Any]] = []
        if owner is not None:
            cleared_alerts, handed = self._hand_over(diff, updated)
        elif ledger.indexed or ledger.handed:  # every cell is this monitor's now (it took the other shards over)
            updated += [alert_to_wire(self.book.get(aid)) for aid in ledger.unshard() if aid in self.book]
        cleared = [alert_to_wire(a) for a in cleared_alerts]
        # the active set is kept incrementally: rebuilding thousands of wire dicts every tick
        # would cost more than the conflict pass itself
        for a in (*new, *updated):
            self._wire[a["id"]] = a
        for a in cleared:
            self._wire.pop(a["id"], None)
        result = Assessment(statuses=statuses, alerts_new=new, alerts_updated=updated, alerts_cleared=cleared,
                            active=dict(self._wire), handed=handed)
        lap("wire")
        return result

    # -- shards ------------------------------------------------------------------------------

    def _key_of(self, kind: str, subject: Any) -> tuple[FindingKind, int]:
        k = FindingKind(kind)
        return k, self.subject_key(k, tuple(subject))

    def _owned(self, batch: FindingBatch | None, lon: np.ndarray, lat: np.ndarray) -> FindingBatch | None:
        """The rows of ``batch`` this shard owns (owner point per row: ``lon``, ``lat``); the others' keys
        are noted (their alerts, if active here, are handed over)."""
        if batch is None or self.owner is None:
            return batch
        mine = self.owner.owns(lon, lat)
        self.ledger.sort(batch.kind, batch.keys, mine)
        if mine.all():
            return batch
        rows = np.flatnonzero(mine)
        if not len(rows):
            return None
        pick = batch.subject
        return FindingBatch(batch.kind, batch.keys[rows], batch.severity[rows], lambda r: pick(int(rows[r])),
                            {k: np.asarray(c)[rows] for k, c in batch.columns.items()}, batch.render,
                            unique=batch.unique)

    def _hand_over(self, diff: Any, updated: list[dict[str, Any]]) -> tuple[list[Alert], list[dict[str, Any]]]:
        """Apply the ledger's decisions (``ShardLedger.settle``): alerts whose finding another shard owns
        now leave the published set (no clear: the owner adopts them under their id); one owned here again
        comes back. Returns the real clears and the alerts handed over this pass."""
        def keyed(alerts: list[Alert]) -> list[tuple[tuple[FindingKind, int], str]]:
            return [((a.kind, self.subject_key(a.kind, a.subject)), a.alert_id) for a in alerts]

        settled = self.ledger.settle(keyed(diff.new), keyed(diff.cleared), self._wire)
        handed = [self._wire.pop(aid) for aid in settled.handed]
        updated += [alert_to_wire(self.book.get(aid)) for aid in settled.back]
        return [a for a in diff.cleared if a.alert_id not in settled.silent], handed

    def acknowledge(self, alert_id: str, by: str, at: float) -> dict[str, Any] | None:
        with self._lock:
            if alert_id in self.ledger.handed:  # another shard owns it now
                return None
            try:
                wire = alert_to_wire(self.book.acknowledge(alert_id, by, at))
            except KeyError:
                return None
            self._wire[alert_id] = wire
            return wire

    def close(self) -> None:
        """Nothing to release (the process-backed monitor stops its child here)."""

    def current_alerts(self) -> list[dict[str, Any]]:
        """Every active alert as of the latest pass, details included (built on request)."""
        with self._lock:
            handed = self.ledger.handed
            return [alert_to_wire(a) for a in self.book.active if a.alert_id not in handed]

    def adopt(self, alerts: list[dict[str, Any]], now: float) -> None:
        """Continue alerts a previous run (or another node) left open; see ``AlertBook.adopt``."""
        with self._lock:
            adopted = [alert_from_wire(w) for w in alerts]
            self.book.adopt(adopted, key_of=self.subject_key)
            for a in adopted:
                if a.alert_id not in self.book:  # its subject was already active here
                    continue
                if self.ledger.adopted((a.kind, self.subject_key(a.kind, a.subject)), a.alert_id):
                    continue  # handed over earlier, still in the book: back when a pass finds it owned here
                self._wire[a.alert_id] = alert_to_wire(self.book.get(a.alert_id))
                d = a.details
                if a.kind is FindingKind.LOST_CONTACT and "last_position" in d and a.subject[0] not in self._lost:
                    lon, lat, alt = (float(v) for v in d["last_position"])
                    x, y = to_local(np.array([lon]), np.array([lat]))
                    vx, vy, vz = (float(v) for v in d.get("last_velocity", (0.0, 0.0, 0.0)))
                    self._lost[a.subject[0]] = LostTrack(
                        float(x[0]), float(y[0]), alt, vx, vy, vz, float(d.get("last_report_t", a.last_seen)),
                        lon, lat, d.get("plan"), float(d.get("clears_at", now + self.lost_contact_max_s)))

    # -- the checks --------------------------------------------------------------------------

    # -- subject keys ------------------------------------------------------------------------

    def _code(self, name: str) -> int:
        code = self._codes.get(name)
        if code is None:
            code = self._codes[name] = len(self._codes)
        return code

    def _codes_of(self, ids: list[str]) -> np.ndarray:
        get, code = self._codes.get, self._code
        return np.fromiter((c if (c := get(a)) is not None else code(a) for a in ids), dtype=np.int64,
                           count=len(ids))

    def subject_key(self, kind: FindingKind, subject: tuple[str, ...]) -> int:
        """The key this monitor's batches use for ``subject`` (for adopting alerts from the log)."""
        if kind is FindingKind.CONFLICT:
            a, b = self._code(subject[0]), self._code(subject[1])
            return (min(a, b) << 32) | max(a, b)
        if kind is FindingKind.INTRUSION:
            return (self._code(subject[0]) << 32) | self._code("volume:" + subject[1])
        return self._code(subject[0])

    # -- the checks --------------------------------------------------------------------------

    def _conflicts(self, snap: Snapshot, pos: np.ndarray, vel: np.ndarray, codes: np.ndarray
                   ) -> FindingBatch | None:
        cats = snap.category.astype(np.int64)
        found = detect_conflicts_by_category(pos, vel, cats, self.matrix, lookahead=self.lookahead_s)
        if not len(found):
            return None
        ids = snap.ids
        i, j = found.i, found.j
        names = np.asarray(ids)
        swap = names[i] > names[j]  # the subject is the pair in id order
        first, second = np.where(swap, j, i), np.where(swap, i, j)
        ci, cj = codes[i], codes[j]
        give = right_of_way(i, j, cats)  # relative to (i, j): re-express relative to the subject
        give_first = np.where(swap, give == GIVE_J, give == GIVE_I)
        give_second = np.where(swap, give == GIVE_I, give == GIVE_J)
        give_code = np.where(give_first, 1, np.where(give_second, 2, 3)).astype(np.int8)
        batch = FindingBatch(
            CONFLICT, (np.minimum(ci, cj) << 32) | np.maximum(ci, cj),
            severity_from_t_in(found.t_in, warning_s=self.warning_s),
            lambda row: (ids[int(first[row])], ids[int(second[row])]),
            {"t_in": np.round(found.t_in, 1), "t_out": np.round(found.t_out, 1), "t_cpa": np.round(found.t_cpa, 1),
             "d_cpa_m": np.round(found.d_cpa, 1), "give": give_code,
             "cat_a": cats[first].astype(np.int8), "cat_b": cats[second].astype(np.int8)},
            _render_conflict, unique=True,
        )
        if self.owner is None:
            return batch
        return self._owned(batch, *owner_point(snap.lon[i], snap.lat[i], snap.lon[j], snap.lat[j]))

    def _intrusions(self, snap: Snapshot, pos: np.ndarray, vel: np.ndarray, now: float, codes: np.ndarray
                    ) -> FindingBatch | None:
        volumes = self.intrusion_source(now) if self.intrusion_source else None
        if volumes is None or not len(volumes.ids):
            return None
        hits = predict_intrusions(pos, vel, volumes, lookahead=self.lookahead_s)
        if not len(hits):
            return None
        t_enter = np.asarray(hits.t_enter, dtype=float)
        sev = np.where(t_enter <= 0, Severity.ALARM, np.where(t_enter <= self.warning_s, Severity.WARNING,
                                                               Severity.CAUTION)).astype(np.int8)
        vol_names = np.asarray(volumes.ids, dtype=object)[hits.volume]
        vol_codes = np.array([self._code("volume:" + v) for v in vol_names.tolist()], dtype=np.int64)
        ids = snap.ids
        ac = np.asarray(hits.aircraft)
        return self._owned(FindingBatch(
            FindingKind.INTRUSION, (codes[ac] << 32) | vol_codes, sev,
            lambda row: (ids[int(ac[row])], str(vol_names[row])),
            {"volume": vol_names, "t_enter": np.round(t_enter, 1)}, _render_plain, unique=True,
        ), snap.lon[ac], snap.lat[ac])

    def _conformance(self, snap: Snapshot, pos: np.ndarray, t_pos: np.ndarray, now: float,
                     statuses: dict[str, str], codes: np.ndarray) -> list[FindingBatch]:
        if self.plan_source is None:
            return []
        pic = self.plan_source.picture(now)
        coop = np.flatnonzero(snap.cooperative)
        if not len(coop):
            return []
        coop_ids = [snap.ids[k] for k in coop.tolist()]
        plan_get, prev_get = pic.plan_of.get, self._prev_status.get
        idx = np.fromiter((plan_get(a, -1) for a in coop_ids), dtype=np.int64, count=len(coop_ids))
        prev = np.fromiter((prev_get(a, 0) for a in coop_ids), dtype=np.int64, count=len(coop_ids))
        p = pos[coop].copy()
        if len(pic.agl):
            agl = (idx >= 0) & pic.agl[np.maximum(idx, 0)]
            if agl.any():  # true height for AGL-banded plans
                ground = (np.asarray(self.terrain.elevation(snap.lon[coop][agl], snap.lat[coop][agl]), dtype=float)
                          if self.terrain is not None else 0.0)
                p[agl, 2] = p[agl, 2] - np.nan_to_num(ground)
        status = np.asarray(check_conformance(p, t_pos[coop], idx, pic.plans, h_tol_m=self.h_tol_m,
                                              v_tol_m=self.v_tol_m, t_tol_s=self.t_tol_s, previous=prev))
        self._prev_status = dict(zip(coop_ids, status.tolist(), strict=True))
        statuses.update(zip(coop_ids, _STATUS_NAMES[status].tolist(), strict=True))
        out: list[FindingBatch | None] = []
        # ADS-B traffic without a lowalt plan is crewed traffic under ATC (filed there, not here): shown
        # and separated from, never "unauthorised"
        no_plan = status == ConformanceStatus.NO_PLAN
        atc = no_plan & (snap.source[coop] == int(Source.ADSB))
        statuses.update((coop_ids[k], ATC_STATUS) for k in np.flatnonzero(atc).tolist())
        none = np.flatnonzero(no_plan & ~atc)
        if len(none):
            out.append(self._owned(FindingBatch(
                FindingKind.UNAUTHORISED, codes[coop[none]], np.full(len(none), Severity.WARNING, dtype=np.int8),
                lambda row: (coop_ids[int(none[row])],), {}, _render_unauthorised, unique=True),
                snap.lon[coop[none]], snap.lat[coop[none]]))
        off = np.flatnonzero((status != ConformanceStatus.NO_PLAN) & (status != ConformanceStatus.CONFORMING))
        if len(off):
            plan_names = np.asarray(pic.plan_ids, dtype=object)[idx[off]]
            out.append(self._owned(FindingBatch(
                FindingKind.NONCONFORMANCE, codes[coop[off]], np.full(len(off), Severity.WARNING, dtype=np.int8),
                lambda row: (coop_ids[int(off[row])],),
                {"reason": status[off].astype(np.int8), "plan": plan_names}, _render_nonconformance, unique=True),
                snap.lon[coop[off]], snap.lat[coop[off]]))
        return [b for b in out if b is not None]

    def _lost_contact(self, snap: Snapshot, pos: np.ndarray, gone: Snapshot | None, now: float,
                      live_ids: list[str] | None = None) -> list[Finding]:
        """Lost contact for airborne aircraft that stopped reporting (see the module docstring)."""
        pic = self.plan_source.picture(now) if self.plan_source is not None else None

        def plan_of(aid: str) -> tuple[str | None, str | None, float | None]:
            row = pic.plan_of.get(aid) if pic is not None else None
            if row is None or pic is None:
                return None, None, None
            return pic.plan_ids[row], pic.states[row] if pic.states else None, float(pic.plans.end_s[row])

        if gone is not None and gone.n:
            on_ground = self._on_ground(gone, np.maximum(now - gone.t, 0.0))
            x, y = to_local(gone.lon, gone.lat)
            for k, aid in enumerate(gone.ids):
                if not gone.cooperative[k] or on_ground[k]:
                    continue
                plan, state, end = plan_of(aid)
                if state in ENDED_PLAN_STATES or (plan is None and gone.source[k] == int(Source.ADSB)):
                    continue  # finished; or crewed traffic without a lowalt plan leaving ADS-B coverage
                until = end if end is not None and end > now else now + self.lost_contact_max_s
                self._lost[aid] = LostTrack(float(x[k]), float(y[k]), float(gone.alt[k]), float(gone.vx[k]),
                                            float(gone.vy[k]), float(gone.vz[k]), float(gone.t[k]),
                                            float(gone.lon[k]), float(gone.lat[k]), plan, until)
        if not self._lost:
            return []
        live = set(snap.ids if live_ids is None else live_ids)
        out = []
        for aid in list(self._lost):
            lt = self._lost[aid]
            _, state, _ = plan_of(aid)
            if aid in live or now > lt.until or state in ENDED_PLAN_STATES:
                del self._lost[aid]
                continue
            dt = min(max(now - lt.t, 0.0), LOST_COAST_MAX_S)
            ex, ey, ez = lt.x + lt.vx * dt, lt.y + lt.vy * dt, lt.alt + lt.vz * dt
            nearest: float | None = None
            nearby = close = 0
            if len(pos):
                d = np.hypot(pos[:, 0] - ex, pos[:, 1] - ey)
                nearby = int((d <= LOST_AROUND_M).sum())
                close = int(((d <= LOST_NEAR_M) & (np.abs(pos[:, 2] - ez) <= LOST_NEAR_DZ_M)).sum())
                nearest = round(float(d.min()), 1)
            sev = Severity.ALARM if close else Severity.WARNING if nearby else Severity.CAUTION
            out.append(Finding(FindingKind.LOST_CONTACT, (aid,), sev, {
                "last_report_t": lt.t, "last_position": [round(lt.lon, 6), round(lt.lat, 6), round(lt.alt, 1)],
                "last_velocity": [round(lt.vx, 1), round(lt.vy, 1), round(lt.vz, 1)],
                "plan": lt.plan, "plan_ends": lt.until if lt.plan else None, "clears_at": lt.until,
                "nearest_m": nearest, "traffic_within_5km": nearby,
            }))
        return out

    def _on_ground(self, snap: Snapshot, silence_s: float | np.ndarray) -> np.ndarray:
        """Per track: on the ground when it went silent: said so; or still and near the terrain; or
        slow and descending fast enough to have touched down within ``silence_s`` of its last report."""
        said = snap.landed if snap.landed is not None else np.zeros(snap.n, dtype=np.bool_)
        gs = np.hypot(snap.vx, snap.vy)
        still = (gs <= ON_GROUND_MAX_GS) & (np.abs(snap.vz) <= ON_GROUND_MAX_VS)
        landing = (gs <= LANDING_MAX_GS) & (snap.vz < 0)
        if not (still | landing).any():
            return said
        ground = (np.nan_to_num(np.asarray(self.terrain.elevation(snap.lon, snap.lat), dtype=float))
                  if self.terrain is not None else np.zeros(snap.n))
        height = snap.alt - ground
        touched = landing & (height + snap.vz * silence_s <= ON_GROUND_MAX_HEIGHT_M)
        return said | (still & (height <= ON_GROUND_MAX_HEIGHT_M)) | touched


_CATEGORY_NAMES = SEPARATION_KEYS
_STATUS_NAMES = np.array([STATUS_WIRE[ConformanceStatus(k)] for k in range(len(ConformanceStatus))], dtype=object)
_REASON_NAMES = {int(k): v for k, v in REASON_WIRE.items()}


def _object_column(values: list[Any]) -> np.ndarray:
    col = np.empty(len(values), dtype=object)
    for k, v in enumerate(values):
        col[k] = v
    return col


def _render_conflict(v: dict[str, Any], subject: tuple[str, ...]) -> dict[str, Any]:
    a, b = subject
    give = int(v["give"])
    return {"t_in": float(v["t_in"]), "t_out": float(v["t_out"]), "t_cpa": float(v["t_cpa"]),
            "d_cpa_m": float(v["d_cpa_m"]), "give_way": [a] if give == 1 else [b] if give == 2 else [a, b],
            "categories": [_CATEGORY_NAMES[int(v["cat_a"])], _CATEGORY_NAMES[int(v["cat_b"])]]}


def _render_plain(v: dict[str, Any], subject: tuple[str, ...]) -> dict[str, Any]:
    return {k: (x.item() if isinstance(x, np.generic) else x) for k, x in v.items()}


def _render_unauthorised(v: dict[str, Any], subject: tuple[str, ...]) -> dict[str, Any]:
    return {"reason": "no_plan"}


def _render_nonconformance(v: dict[str, Any], subject: tuple[str, ...]) -> dict[str, Any]:
    return {"reason": _REASON_NAMES[int(v["reason"])], "plan": v["plan"]}


def _render_details(v: dict[str, Any], subject: tuple[str, ...]) -> dict[str, Any]:
    return dict(v["details"])
