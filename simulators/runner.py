"""Run a scenario against a server: bootstrap, file plans, fly, report, watch, judge, figures.

Phases: (1) users and tokens through ``POST /admin/users`` (one operator and one device user per
organisation, a centre and a viewer), aircraft through ``POST /aircraft``; (2) every aircraft
that should file does so through ``POST /plans`` and waits for the decision (a referred plan is
put to the centre desk, which approves it, as the duty controller would; a rejected one does not
fly); (3) the clock starts: one loop steps the whole fleet's kinematics (numpy), advances
waypoints, and hands reports to per-device websockets and per-organisation fleet gateways,
while a ``/ws/live`` subscriber measures report-to-feed latency and collects alerts; (4) the run
is judged against the scenario's expectations and the figures are returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from simulators import missions as ms
from simulators.airspace import Airspace
from simulators.client import Api, ApiError, LiveWatcher, SendStats, TelemetryLink, metric
from simulators.geo import to_lonlat, to_xy
from simulators.models import ENVELOPES, Envelope, KinState, Params, step
from simulators.scenario import ALERT_KINDS, FEED_TRANSPORTS, Actor, Group, Scenario, judge

if TYPE_CHECKING:
    from simulators.feeds import AdsbLink, FeedSetup, MavlinkLink

F64 = npt.NDArray[np.float64]


@dataclass
class Craft:
    """Per-aircraft bookkeeping (the hot state lives in the fleet arrays)."""

    idx: int
    server_id: str
    local: str
    env: Envelope
    org: str
    transport: str
    cooperative: bool
    well_behaved: bool
    background: bool
    files_plan: bool
    group: Group | None = None
    actor: Actor | None = None
    state: str = "idle"
    """idle | filing | ready | flying | done | grounded"""
    mission: ms.Mission | None = None
    plan_id: str | None = None
    flights: int = 0
    ready_at: float = 0.0
    lost_link: tuple[float, float] | None = None
    flight_started: float = 0.0
    end_hover_until: float = 0.0


@dataclass
class RunOptions:
    url: str
    ws_url: str
    admin_token: str
    duration_s: float | None = None
    aircraft: int | None = None
    kinds: tuple[str, ...] = ALERT_KINDS
    progress: bool = True
    forever: bool = False
    """Demo: run until cancelled (``duration_s`` ignored)."""
    tag: str | None = None
    on_ready: Any = None
    """Called with the tokens once users exist (the demo prints the map URL)."""
    stop: asyncio.Event | None = None
    """Set to end a ``forever`` run cleanly (the demo's Ctrl-C)."""
    feeds: FeedSetup | None = None
    """Actors on ``mavlink``/``adsb`` transports: the server was started with ``feeds.doc()`` as its
    feeds file (its tag is this run's tag)."""


@dataclass
class Figures:
    plans: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    flights_started: int = 0
    flights_completed: int = 0
    sim_dropped: int = 0
    """Reports deliberately not sent (simulated radio dropouts, lost links)."""
    active_series: list[tuple[float, int]] = field(default_factory=list)
    api_errors: Counter[str] = field(default_factory=Counter)
    reason_examples: dict[str, str] = field(default_factory=dict)


class Runner:
    def __init__(self, sc: Scenario, opt: RunOptions) -> None:
        self.sc = sc.scaled(opt.aircraft)
        self.opt = opt
        self.rng = np.random.default_rng(self.sc.seed)
        self.tag = opt.feeds.tag if opt.feeds else opt.tag or f"{self.sc.name[:10]}{uuid.uuid4().hex[:4]}"
        self.api = Api(opt.url)
        self.fig = Figures()
        self.stats = SendStats()
        self.tokens: dict[str, str] = {}
        self.crafts: list[Craft] = []
        self.links: dict[str, TelemetryLink | MavlinkLink | AdsbLink] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.origin = self.sc.centre
        ox, oy = to_xy(np.array([self.origin[0]]), np.array([self.origin[1]]))
        self.origin_xy = (float(ox[0]), float(oy[0]))
        self.air: Airspace | None = None
        self.clock_started = False
        """True once the clock has started (set-up is over)."""
        self.restrictions: list[str] = []
        """Restrictions this run issued; lifted at the end so that a shared server is left clean."""

    # -- setup -------------------------------------------------------------------------------

    def _fleet(self) -> None:
        k = 0
        for a in self.sc.actors:
            coop = "noncoop" not in a.misbehaviour and a.transport != "adsb"  # crewed: not registered here
            sid = f"{self.tag}-{a.id}"
            if a.transport in FEED_TRANSPORTS:
                if self.opt.feeds is None:
                    raise ApiError(f"actor {a.id!r} flies on {a.transport}: the scenario needs a server started "
                                   f"with its feeds file (lowalt simulate without --url starts one)")
                sid = self.opt.feeds.server_id(a.id)
            self.crafts.append(Craft(k, sid, a.id, ENVELOPES[a.model], a.org, a.transport,
                                     coop, a.well_behaved, False, a.plan != "none", actor=a,
                                     lost_link=a.lost_link))
            k += 1
        for g in self.sc.groups:
            for j in range(g.count):
                self.crafts.append(Craft(k, f"{self.tag}-{g.name}-{j:05d}", f"{g.name}/{j}", ENVELOPES[g.model],
                                         g.org, g.transport, True, True, g.background, g.file_plan, group=g))
                k += 1
        n = len(self.crafts)
        self.by_id = {c.server_id: c for c in self.crafts}
        self.phases: dict[str, float] = {}
        self.kin = KinState.zeros(n)
        self.par = Params.of([c.env for c in self.crafts])
        self.flying = np.zeros(n, dtype=bool)
        self.touched_down: list[int] = []
        """Aircraft that landed since the last reports: each sends one ``landed`` report, as a
        MAVLink autopilot's landed state would, so the server ends the track without lost contact."""
        self.wp: list[F64] = [np.zeros((0, 3))] * n
        self.spd: list[F64] = [np.zeros(0)] * n
        self.hold: list[F64] = [np.zeros(0)] * n
        self.wi = np.zeros(n, dtype=np.int64)
        self.hold_until = np.zeros(n)
        self.target = np.zeros((n, 3))
        self.vcmd = np.zeros(n)
        self.agl = np.ones(n, dtype=bool)

    async def _bootstrap(self) -> None:
        admin = self.opt.admin_token
        orgs = sorted({c.org for c in self.crafts})
        t = self.tag
        jobs: dict[str, Any] = {"centre": self.api.add_user(admin, f"{t}-centre", "centre", "景德镇通航协调运行中心"),
                                "viewer": self.api.add_user(admin, f"{t}-viewer", "viewer"),
                                "sensor": self.api.add_user(admin, f"{t}-sensor", "device", f"{t}-sensors")}
        for o in orgs:
            jobs[f"op:{o}"] = self.api.add_user(admin, f"{t}-{o}-ops", "operator", f"{t}-{o}")
            jobs[f"dev:{o}"] = self.api.add_user(admin, f"{t}-{o}-gw", "device", f"{t}-{o}")
        vals = await asyncio.gather(*jobs.values())
        self.tokens = dict(zip(jobs, vals, strict=True))
        if self.opt.on_ready:
            self.opt.on_ready(self.tokens)
        self.air = await self.api.airspace(self.tokens["viewer"])
        coop = [c for c in self.crafts if c.cooperative]
        await asyncio.gather(*(self.api.register(self.tokens[f"op:{c.org}"], c.server_id, c.env.category)
                               for c in coop))
        if self.opt.feeds is not None:
            await self._feed_terrain(self.opt.feeds)

    async def _feed_terrain(self, feeds: FeedSetup) -> None:
        """The ground height under each feed actor's start (the feeds send AMSL, the scenario flies AGL)."""
        for c in self.crafts:
            if c.actor is None or c.transport not in FEED_TRANSPORTS:
                continue
            lon, lat = to_lonlat(*self._local([c.actor.path[0]])[:, :2].T)
            q = await self.api.call("GET", f"/airspace/query?lon={float(lon[0]):.7f}&lat={float(lat[0]):.7f}&alt=0"
                                    f"&category={c.env.category}", self.tokens["viewer"])
            feeds.terrain_m[c.server_id] = float(q.get("terrain_m") or 0.0)

    # -- missions and plans ------------------------------------------------------------------

    def _local(self, pts: list[list[float]]) -> F64:
        w = np.array(pts, dtype=np.float64)
        w[:, 0] += self.origin_xy[0]
        w[:, 1] += self.origin_xy[1]
        return w

    def _mission_for(self, c: Craft) -> ms.Mission:
        if c.actor is not None:
            a = c.actor
            w = self._local(a.path)
            m = ms.Mission("actor", w, np.full(len(w), a.speed), np.zeros(len(w)), a.mission, 0.0, 115.0, "AGL",
                           half_width_m=50.0, urgent=a.urgent, notes={"airborne": w[0, 2] > 0})
            if a.overstay_s:
                m.notes["overstay_s"] = a.overstay_s
            return m
        g = c.group
        assert g is not None and self.air is not None
        off = g.options.get("offset_m", [0.0, 0.0])
        spec = {**g.options, "centre_xy": (self.origin_xy[0] + float(off[0]), self.origin_xy[1] + float(off[1]))}
        kind = g.mission
        if kind == "random_transit":  # load traffic: long straight legs at random, in the W layer
            p0 = ms.random_open_spot(self.air, self.rng, centre=spec["centre_xy"], radius_m=float(spec.get("radius_m", 40e3)))
            ang = float(self.rng.uniform(0, 2 * math.pi))
            d = float(self.rng.uniform(3e3, 15e3))
            return ms.transit(p0, (p0[0] + d * math.sin(ang), p0[1] + d * math.cos(ang)), c.env,
                              alt=float(self.rng.uniform(30, 115)), airborne=True)
        m = ms.build(kind, c.env, self.air, self.rng, spec)
        if kind not in ("tourism_loop", "corridor", "hospital_run") and not spec.get("to"):
            for _ in range(10):  # keep random patterns out of intrusion look-ahead range of restricted areas
                if self.air.path_blocked(m.lonlat()) is None:
                    break
                m = ms.build(kind, c.env, self.air, self.rng, spec)
        return m

    def _plan_body(self, c: Craft, m: ms.Mission) -> dict[str, Any]:
        start = datetime.now(UTC)
        body = m.plan_body(c.server_id, c.env.category, c.env, start, pilot=f"{c.org}-pilot-{c.idx}")
        a = c.actor
        if a is not None:
            body.pop("corridor_id", None)
            plan = a.plan if isinstance(a.plan, dict) else {}
            if "path" in plan:
                pm = ms.Mission("actor", self._local(plan["path"]), m.speed, m.hold_s, "inspection", 0, 120)
                body["geometry"] = pm.plan_geometry()
                ll = pm.lonlat()
                body["takeoff"] = {"type": "Point", "coordinates": ll[0]}
                body["landing"] = {"type": "Point", "coordinates": ll[-1]}
            if "floor" in plan or "ceiling" in plan:
                body["altitude"]["floor"]["value_m"] = float(plan.get("floor", 0.0))
                body["altitude"]["ceiling"]["value_m"] = float(plan.get("ceiling", 115.0))
            if "start_in_s" in plan:  # filed for later (an "early" aircraft takes off before it)
                s0 = start + timedelta(seconds=float(plan["start_in_s"]))
                length = datetime.fromisoformat(body["end"]) - start
                body["start"], body["end"] = s0.isoformat(), (s0 + length).isoformat()
            if "window_s" in plan:
                s0 = datetime.fromisoformat(body["start"])
                body["end"] = (s0 + timedelta(seconds=float(plan["window_s"]))).isoformat()
        return body

    async def _file(self, c: Craft) -> None:
        """File (and, if referred, have the centre decide); set the aircraft ready or grounded."""
        c.state = "filing"
        for attempt in range(3):
            m = self._mission_for(c)
            if not c.files_plan:
                c.mission, c.state, c.ready_at = m, "ready", time.time()
                return
            try:
                p = await self.api.file_plan(self.tokens[f"op:{c.org}"], self._plan_body(c, m))
                state: str = p["state"]
                self.fig.plans[state] += 1
                for r in (p.get("decision") or {}).get("reasons", []):
                    key = f"{state}:{r.get('code')}"
                    self.fig.reasons[key] += 1
                    self.fig.reason_examples.setdefault(key, str(r.get("message_en"))[:200])
                if state == "referred":
                    decided = await self.api.approve(self.tokens["centre"], p["id"], "simulated duty controller")
                    p, state = (decided, decided["state"]) if decided is not None else (p, "refused")
                    self.fig.plans[f"referred->{state}"] += 1  # refused: the centre could not approve (409)
                if state == "approved":
                    c.plan_id, c.mission, c.state, c.ready_at = p["id"], m, "ready", time.time()
                    with contextlib.suppress(ApiError):
                        await self.api.activate(self.tokens[f"op:{c.org}"], p["id"])
                    return
            except ApiError as exc:
                self.fig.api_errors[str(exc).split(":")[0]] += 1
            if c.actor is not None or not self.sc.continuous:
                break
            await asyncio.sleep(2.0 * (attempt + 1))
        c.state = "grounded"
        if self.sc.continuous and c.actor is None:  # the operator tries again later
            async def later() -> None:
                await asyncio.sleep(float(self.rng.uniform(30, 90)))
                await self._file(c)

            self._spawn(later())

    async def _file_later(self, c: Craft) -> None:
        await asyncio.sleep(float(self.rng.uniform(30, 90)))
        await self._file(c)

    async def _complete(self, c: Craft) -> None:
        if c.plan_id:
            pid, c.plan_id = c.plan_id, None
            with contextlib.suppress(ApiError):
                await self.api.complete(self.tokens[f"op:{c.org}"], pid)

    def _spawn(self, coro: Any) -> None:
        t = asyncio.create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    # -- flying ------------------------------------------------------------------------------

    def _takeoff(self, c: Craft, now: float) -> None:
        m = c.mission
        assert m is not None
        i = c.idx
        w = m.waypoints
        self.wp[i], self.spd[i], self.hold[i] = w, m.speed, m.hold_s
        self.kin.x[i], self.kin.y[i], self.kin.z[i] = w[0]
        d = w[1] - w[0]
        self.kin.hdg[i] = math.atan2(d[0], d[1]) % (2 * math.pi)
        airborne = bool(m.notes.get("airborne"))
        self.kin.gs[i] = min(float(m.speed[1]), c.env.max_ms) if airborne else c.env.min_ms
        self.kin.vs[i] = 0.0
        self.kin.battery[i] = 100.0 if c.flights == 0 else max(self.kin.battery[i], 95.0)
        self.wi[i] = 1
        self.hold_until[i] = 0.0
        self.agl[i] = m.ref == "AGL"
        self.flying[i] = True
        c.state, c.flight_started, c.end_hover_until = "flying", now, 0.0
        c.flights += 1
        self.fig.flights_started += 1

    def _land(self, c: Craft, now: float) -> None:
        self.flying[c.idx] = False
        if c.cooperative:
            self.touched_down.append(c.idx)
        c.state = "done"
        self.fig.flights_completed += 1
        self._spawn(self._complete(c))
        if self.sc.continuous:
            async def again() -> None:
                # actors come back after a fixed pause so that set-up pairs meet again
                # after the server has dropped the old track (lost after 10 s): a new flight must not
                # be judged by a silent track at the last landing spot
                await asyncio.sleep(20.0 if c.actor is not None else float(self.rng.uniform(15, 40)))
                await self._file(c)

            self._spawn(again())

    def _advance(self, now: float) -> None:
        """Waypoint bookkeeping for flying aircraft: holds, next waypoint, mission end."""
        idx = np.flatnonzero(self.flying)
        if not len(idx):
            return
        t = self.target[idx]
        dist = np.hypot(t[:, 0] - self.kin.x[idx], t[:, 1] - self.kin.y[idx])
        dz = np.abs(t[:, 2] - self.kin.z[idx])
        reached = (dist < self.par.accept_radius(self.kin.gs)[idx]) & (dz < 8.0)
        for i in idx[reached].tolist():
            c = self.crafts[i]
            h = float(self.hold[i][self.wi[i]])
            if h > 0 and self.hold_until[i] == 0.0 and c.env.hover:
                self.hold_until[i] = now + h
                continue
            if self.hold_until[i] and now < self.hold_until[i]:
                continue
            self.hold_until[i] = 0.0
            if self.wi[i] + 1 < len(self.wp[i]):
                self.wi[i] += 1
                continue
            over = float(c.mission.notes.get("overstay_s", 0.0)) if c.mission else 0.0
            if over and not c.end_hover_until:
                c.end_hover_until = now + over  # keeps flying (hover/loiter) past its window
            if c.end_hover_until and now < c.end_hover_until:
                continue
            self._land(c, now)

    def _targets(self, now: float) -> None:
        for i in np.flatnonzero(self.flying).tolist():
            self.target[i] = self.wp[i][self.wi[i]]
            self.vcmd[i] = 0.0 if self.hold_until[i] > now else self.spd[i][self.wi[i]]

    def _reports(self, now: float) -> dict[str, list[dict[str, Any]]]:
        """Reports per link name for every flying aircraft that reports this tick, plus one final
        ``landed`` report for each aircraft that touched down since the last call."""
        out = self._landed_reports(now)
        idx = np.flatnonzero(self.flying)
        if not len(idx):
            return out
        send = np.ones(len(idx), dtype=bool)
        if self.sc.report_dropout:
            send &= self.rng.random(len(idx)) >= self.sc.report_dropout
        for k, i in enumerate(idx.tolist()):
            ll = self.crafts[i].lost_link
            if ll and ll[0] <= now - self.crafts[i].flight_started < ll[0] + ll[1]:
                send[k] = False
        self.fig.sim_dropped += int((~send).sum())
        idx = idx[send]
        sig = self.par.gps_sigma_m[idx]
        nx = self.rng.normal(0.0, 1.0, len(idx)) * sig
        ny = self.rng.normal(0.0, 1.0, len(idx)) * sig
        lon, lat = to_lonlat(self.kin.x[idx] + nx, self.kin.y[idx] + ny)
        alt = np.maximum(self.kin.z[idx] + self.rng.normal(0.0, 1.0, len(idx)) * sig * 0.7, 0.0)
        vx, vy, vs = self.kin.vx[idx], self.kin.vy[idx], self.kin.vs[idx]
        bat = self.kin.battery[idx]
        cols = zip(idx.tolist(), np.round(lon, 7).tolist(), np.round(lat, 7).tolist(), np.round(alt, 1).tolist(),
                   np.round(vx, 2).tolist(), np.round(vy, 2).tolist(), np.round(vs, 2).tolist(),
                   np.round(bat, 1).tolist(), strict=True)
        agl = self.agl
        for i, lo, la, al, x, y, z, b in cols:
            c = self.crafts[i]
            r = {"id": c.server_id, "t": now, "lon": lo, "lat": la, "alt": al, "ref": "AGL" if agl[i] else "AMSL",
                 "vx": x, "vy": y, "vs": z}
            if c.cooperative:
                r["bat"] = b
            elif c.transport not in FEED_TRANSPORTS:
                r["src"] = "noncoop"
                r["cat"] = "unknown"
            out.setdefault(self._key(c), []).append(r)
        return out

    def _landed_reports(self, now: float) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        landed, self.touched_down = self.touched_down, []
        for i in landed:
            c = self.crafts[i]
            lon, lat = to_lonlat(self.kin.x[i:i + 1], self.kin.y[i:i + 1])
            out.setdefault(self._key(c), []).append({
                "id": c.server_id, "t": now, "lon": round(float(lon[0]), 7), "lat": round(float(lat[0]), 7),
                "alt": 0.0, "ref": "AGL", "vx": 0.0, "vy": 0.0, "vs": 0.0, "landed": True,
                "bat": round(float(self.kin.battery[i]), 1)})
        return out

    @staticmethod
    def _key(c: Craft) -> str:
        """The link an aircraft's reports go through: its feed, its device socket, its organisation's
        gateway socket, or the ground sensor's (non-cooperative)."""
        if c.transport in FEED_TRANSPORTS:
            return f"{c.transport}:{c.server_id}"
        if not c.cooperative:
            return "sensor"
        return f"dev:{c.server_id}" if c.transport == "device" else f"gw:{c.org}"

    def _link(self, key: str, c_org: str | None = None) -> TelemetryLink | MavlinkLink | AdsbLink:
        link = self.links.get(key)
        if link is None and key.split(":", 1)[0] in FEED_TRANSPORTS:
            assert self.opt.feeds is not None
            link = self.links[key] = self.opt.feeds.link(key, self.by_id[key.split(":", 1)[1]].env.model)
        if link is None:
            if key == "sensor":
                tok = self.tokens["sensor"]
            elif key.startswith("gw:"):
                tok = self.tokens[f"dev:{key[3:]}"]
            else:
                tok = self.tokens[f"dev:{c_org}"]
            link = self.links[key] = TelemetryLink(self.opt.ws_url, tok, self.stats)
        return link

    async def _events(self, t0: float, setup: bool = False) -> None:
        for ev in sorted(self.sc.events, key=lambda e: float(e.get("at_s", 0))):
            if (float(ev.get("at_s", 0)) <= 0) != setup:
                continue
            await asyncio.sleep(max(0.0, t0 + float(ev.get("at_s", 0)) - time.time()))
            x, y, half = float(ev.get("x", 0)), float(ev.get("y", 0)), float(ev.get("half_m", 1500))
            w = self._local([[x - half, y - half, 0], [x + half, y - half, 0], [x + half, y + half, 0],
                             [x - half, y + half, 0], [x - half, y - half, 0]])
            lon, lat = to_lonlat(w[:, 0], w[:, 1])
            poly = {"type": "Polygon", "coordinates": [[[round(a, 7), round(b, 7)] for a, b in
                                                        zip(lon.tolist(), lat.tolist(), strict=True)]]}
            default_s = float(self.opt.duration_s or self.sc.duration_s) + 60.0
            start = datetime.now(UTC)
            end = start + timedelta(seconds=float(ev.get("for_s", default_s)))
            try:
                if ev["action"] == "weather_warning":
                    await self.api.call("POST", "/weather/warnings", self.tokens["centre"], {
                        "kind": ev.get("kind", "thunderstorm"), "start": start.isoformat(), "end": end.isoformat(),
                        "area": poly, "text": ev.get("text", "simulated thunderstorm cell")})
                else:
                    rid = f"{self.tag}-{ev.get('id', 'closure')}"
                    self.restrictions.append(rid)
                    await self.api.call("POST", "/airspace/restrictions", self.tokens["centre"], {
                        "id": rid, "reason": ev.get("reason", "weather"),
                        "geometry": poly, "floor": {"value_m": 0, "ref": "AGL"},
                        "ceiling": {"value_m": float(ev.get("ceiling_m", 600)), "ref": "AGL"},
                        "end": end.isoformat(), "name_en": ev.get("text", "simulated closure")})
                self.fig.plans[f"event:{ev['action']}"] += 1
            except ApiError as exc:
                self.fig.api_errors[f"event {ev['action']}: {str(exc)[:80]}"] += 1

    # -- the run -----------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        wall0 = time.time()
        self._fleet()
        try:
            await self.api.wait_healthy()
            await self._bootstrap()
            setup_reg = time.time() - wall0
            watcher = LiveWatcher(self.opt.ws_url, self.tokens["viewer"], f"{self.tag}-")
            await watcher.start()
            self._spawn(self._follow_plans())  # before filing: a plan can be withdrawn before take-off
            if any(float(e.get("at_s", 0)) <= 0 for e in self.sc.events):
                await self._events(time.time(), setup=True)
            # named actors first: their plans are the ones the expectations are built on
            await asyncio.gather(*(self._file(c) for c in self.crafts if c.actor is not None))
            await asyncio.gather(*(self._file(c) for c in self.crafts if c.actor is None))
            setup_s = time.time() - wall0
            # open every link before the clock starts, so connection set-up is not measured
            for c in self.crafts:
                if c.state != "ready":
                    continue
                self._link(self._key(c), c.org)
            await asyncio.gather(*(lk.open() for lk in self.links.values()))
            result = await self._fly(watcher)
            result["setup_s"] = round(setup_s, 1)
            result["registration_s"] = round(setup_reg, 1)
            return result
        finally:
            for t in list(self.tasks):
                t.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            for rid in self.restrictions:
                with contextlib.suppress(Exception):
                    await self.api.call("DELETE", f"/airspace/restrictions/{rid}", self.tokens["centre"], ok=(200, 404))
            await self.api.close()

    async def _follow_plans(self) -> None:
        """Land an aircraft whose plan the server ends while it flies (a medical flight preempted it, a
        thunderstorm warning withdrew it), as an operator told over ``/ws/plans`` would: flying on
        would be an unauthorised flight, and the monitor says so."""
        import orjson
        from websockets.asyncio.client import connect

        ended = {"withdrawn", "cancelled", "rejected"}
        async with connect(f"{self.opt.ws_url}/ws/plans", compression=None,
                           additional_headers={"Authorization": f"Bearer {self.tokens['centre']}"}) as ws:
            async for raw in ws:
                ev = orjson.loads(raw)
                if ev.get("type") != "plan_state" or ev.get("to_state") not in ended:
                    continue
                for c in self.crafts:
                    if c.plan_id != ev.get("plan_id"):
                        continue
                    c.plan_id = None  # nothing left to complete
                    if self.flying[c.idx]:
                        self.fig.plans[f"{ev['to_state']}_in_flight->landed"] += 1
                        self._land(c, time.time())
                    elif c.state == "ready":  # not yet off the ground: stay there, file again later
                        self.fig.plans[f"{ev['to_state']}_before_takeoff"] += 1
                        c.state = "grounded"
                        if self.sc.continuous and c.actor is None:
                            self._spawn(self._file_later(c))

    async def _fly(self, watcher: LiveWatcher) -> dict[str, Any]:
        sc, dt = self.sc, self.sc.tick_s
        duration = float(self.opt.duration_s or sc.duration_s)
        t0 = time.time()
        self.clock_started = True
        warm = t0 + min(5.0, duration / 5)
        for c in self.crafts:
            if c.state == "ready" and not (c.actor and c.actor.start_s > 0):
                self._takeoff(c, t0)
        self._spawn(self._events(t0))
        next_at = time.monotonic()
        last_print = 0.0
        ticks = 0
        try:
            stop = self.opt.stop or asyncio.Event()
            while not stop.is_set() and (self.opt.forever or time.time() - t0 < duration):
                now = time.time()
                watcher.measuring = now >= warm
                for c in self.crafts:  # late starters and re-filed flights
                    if c.state == "ready" and (c.actor is None or now - t0 >= c.actor.start_s) and \
                            (c.actor is not None or c.flights == 0 or now >= c.ready_at):
                        self._takeoff(c, now)
                self._targets(now)
                step(self.kin, self.par, self.target, self.vcmd, dt, self.flying)
                self._advance(now)
                frames = self._reports(time.time())
                for k, rs in frames.items():  # each link at its own phase of the tick, like real devices
                    self._spawn(self._send_at(self._link(k, self._org_of(k, rs)), rs, self._phase(k) * dt))
                ticks += 1
                n_fly = int(self.flying.sum())
                self.fig.active_series.append((now, n_fly))
                if self.opt.progress and now - last_print >= 2.0:
                    last_print = now
                    self._progress(now - t0, duration, n_fly, watcher)
                next_at += dt
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                if next_at < time.monotonic() - dt:
                    next_at = time.monotonic()  # overran: do not bunch up
        except asyncio.CancelledError:
            if not self.opt.forever:
                raise
        elapsed = time.time() - t0
        await asyncio.sleep(2.0 * max(dt, 1.0))  # the last acks and the alerts of the last ticks
        await asyncio.gather(*(lk.close() for lk in self.links.values()))
        await watcher.stop()
        # the operators close their plans (after the watcher: what the server makes of tracks that
        # are still live without a plan for a few seconds is not part of this run)
        await asyncio.gather(*(self._complete(c) for c in self.crafts if c.plan_id), return_exceptions=True)
        if self.opt.progress:
            print(file=sys.stderr)
        return await self._figures(watcher, elapsed, t0)

    def _phase(self, key: str) -> float:
        """A stable offset in [0, 1) per link: devices and gateways do not all report at the same instant."""
        p = self.phases.get(key)
        if p is None:
            p = self.phases[key] = (len(self.phases) * 0.618034) % 1.0  # golden-ratio spread
        return p

    async def _send_at(self, link: TelemetryLink | MavlinkLink | AdsbLink, reports: list[dict[str, Any]], delay: float) -> None:
        """Send ``delay`` s into the tick; timestamps are send time, positions moved on by velocity."""
        if delay > 0.01:
            await asyncio.sleep(delay)
            now = time.time()
            k = 1.0 / 111_195.0
            for r in reports:
                d = now - r["t"]
                r["t"] = now
                r["lat"] = round(r["lat"] + r["vy"] * d * k, 7)
                r["lon"] = round(r["lon"] + r["vx"] * d * k / math.cos(math.radians(r["lat"])), 7)
        await link.send(reports)

    def _org_of(self, key: str, rs: list[dict[str, Any]]) -> str | None:
        return self.by_id[key[4:]].org if key.startswith("dev:") else None

    def _progress(self, el: float, duration: float, n_fly: int, w: LiveWatcher) -> None:
        recent = [s[2] for s in w.series[-50:]]
        p99 = f"{np.percentile(recent, 99):.0f}" if recent else "-"
        until = " (Ctrl-C stops)" if self.opt.forever else f"/{duration:.0f}s"
        line = (f"[{self.sc.name}] t={el:5.0f}s{until} flying {n_fly:5d}  sent {self.stats.sent:8d}  "
                f"accepted {self.stats.accepted:8d}  rejected {self.stats.rejected:5d}  p99 {p99:>5} ms  "
                f"alerts {len(w.alerts):4d}")
        if sys.stderr.isatty():
            print("\r" + line, end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    async def _figures(self, w: LiveWatcher, elapsed: float, t0: float) -> dict[str, Any]:
        text = ""
        with contextlib.suppress(Exception):
            text = await self.api.metrics()
        out = figures(self, w, elapsed, t0, text)
        if self.opt.feeds is not None:
            out["feeds"] = self.opt.feeds.figures(text)
        return out


def figures(run: Runner, w: LiveWatcher, elapsed: float, t0: float, text: str) -> dict[str, Any]:
    """Everything a run achieved, judged against its scenario; ``text`` is the server's /metrics."""
    lat = np.concatenate(w.latencies) if w.latencies else np.array([np.nan])
    local_of = {c.server_id: (c.actor.id if c.actor else c.local) for c in run.crafts if not c.background}
    for c in run.crafts:
        if c.background:
            local_of.pop(c.server_id, None)
    background = {c.server_id for c in run.crafts if c.background}
    mine = f"{run.tag}-"  # other traffic on a shared server (--url) is none of this run's business
    alerts = {k: a for k, a in w.alerts.items()
              if any(str(x).startswith(mine) for x in a.get("aircraft", []))
              and not (set(a.get("aircraft", [])) & background)}
    well = {c.local if c.actor is None else c.actor.id for c in run.crafts if c.well_behaved and c.cooperative}
    verdict = judge(run.sc, alerts, local_of, well, run.opt.kinds)
    server: dict[str, Any] = {}
    if text:
        for name, key in (("lowalt_live_skipped_total", "live_feed_skipped"),
                          ("lowalt_live_dropped_total", "live_subscriber_dropped"),
                          ("lowalt_history_dropped_total", "history_dropped")):
            v = sum(metric(text, name).values())
            if v:
                server[key] = int(v)
        server["last_tick_ms"] = round(metric(text, "lowalt_tick_seconds").get("", math.nan) * 1000, 1)
    s = run.stats
    unanswered = s.sent - s.accepted - s.rejected
    by_kind = Counter(str(a.get("kind")) for a in w.alerts.values()
                      if any(str(x).startswith(mine) for x in a.get("aircraft", [])))
    fin = np.isfinite(lat)
    return {
        "scenario": run.sc.name, "seed": run.sc.seed, "run_tag": run.tag,
        "aircraft": len(run.crafts), "duration_s": round(elapsed, 1), "tick_s": run.sc.tick_s,
        "reports_sent": s.sent, "reports_accepted": s.accepted, "reports_rejected": s.rejected,
        "report_rate_per_s": round(s.accepted / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {"p50": _pct(lat, 50), "p95": _pct(lat, 95), "p99": _pct(lat, 99),
                       "max": round(float(np.nanmax(lat)), 1) if fin.any() else None,
                       "samples": int(fin.sum())},
        "drops": {"rejected_by_reason": dict(s.errors), "send_failed": s.send_failed,
                  "unanswered": int(unanswered), "simulated_dropouts": run.fig.sim_dropped, **server},
        "plans": dict(run.fig.plans), "plan_reasons": dict(run.fig.reasons),
        "plan_reason_examples": run.fig.reason_examples,
        "flights_started": run.fig.flights_started, "flights_completed": run.fig.flights_completed,
        "tracks_on_feed": len(w.tracks_seen), "feed_closed": w.closed_by_server,
        "alerts_seen": dict(by_kind), "alerts_expected": verdict.expected,
        "alerts_expected_missing": verdict.missing, "alerts_unexpected": verdict.unexpected,
        "alerts_incidental": verdict.incidental, "alerts_not_checked": verdict.not_wired,
        "api_errors": dict(run.fig.api_errors), "ok": verdict.ok,
        "_series": {"latency": [(round(a - t0, 2), b, c, d) for a, b, c, d in w.series],
                    "active": [(round(a - t0, 2), n) for a, n in run.fig.active_series]},
    }


def _pct(a: F64, q: float) -> float | None:
    return round(float(np.nanpercentile(a, q)), 1) if np.isfinite(a).any() else None
