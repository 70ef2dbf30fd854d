"""Scenario files: what flies, who misbehaves on purpose, and which alerts the run must raise.

A scenario (``simulators/scenarios/NAME.yaml``) documents itself (STYLE item 10): its
``description`` says what happens, its ``expected_alerts`` say what the centre must see, and a
run is checked against them. Loading validates the file and rejects expectations that cannot
follow from the aircraft (e.g. ``unauthorised`` for an aircraft that files a plan) with a message
naming the entry.

Layout (local metres are east/north of ``centre``)::

    name, description, seed, duration_s, tick_s, centre: [lon, lat]
    continuous: false        # demo: aircraft re-file and fly again when a mission ends
    sim_policy: false        # own server only: same-day filing cut-offs (see README)
    groups:   [{name, count, model, mission, org, transport, background, ...mission options}]
    actors:   [{id, model, org, transport, path: [[x, y, alt], ...], speed, start_s,
                            plan: auto | none | {path, floor, ceiling, window_s, start_in_s}, misbehaviour,
                lost_link: [after_s, for_s], overstay_s, mission, urgent}]
    events:   [{at_s, action: weather_warning | restriction, x, y, half_m, for_s}]  (at_s <= 0: before filing)
    expected_alerts: [{kind, aircraft: [actor ids], min_count, volume?, severity?}]
    adsb_input: beast        # adsb actors: Beast frames into dump1090, or iq samples it demodulates

Transports: ``device`` (one ``/ws/telemetry`` per aircraft), ``gateway`` (one per organisation), and
for actors the real device feeds (``simulators/feeds.py``): ``mavlink`` (signed MAVLink 2 over UDP
to the server's gateway) and ``adsb`` (a crewed aircraft heard by its ADS-B squitters through
dump1090; it files nothing with lowalt and is never well-behaved in the judge's sense). An
expectation's ``severity`` (caution < warning < alarm) is the least the alert must reach.

Alerts are judged like this: an alert *matches* an expectation when kinds agree and its aircraft
are exactly the expectation's; *missing* = an expectation with fewer matches than ``min_count``;
*unexpected* = an alert matching no expectation whose aircraft are all well-behaved (filed,
approved, conforming by design), or any unmatched alert when ``strict: true``; alerts matching
nothing but involving a misbehaving or non-cooperative aircraft are reported as *incidental*;
background (load) traffic is never judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simulators.models import ENVELOPES

LIBRARY = Path(__file__).resolve().parent / "scenarios"
ALERT_KINDS = ("conflict", "intrusion", "nonconformance", "unauthorised", "lost_contact")
MISBEHAVIOURS = ("deviate", "altitude_bust", "overstay", "early", "no_plan", "noncoop", "lost_link", "ignore_closure")
MISSIONS = ("tourism_loop", "corridor", "delivery", "survey", "orbit", "spray", "hospital_run", "random_transit")
TRANSPORTS = ("device", "gateway")
FEED_TRANSPORTS = ("mavlink", "adsb")
SEVERITIES = ("caution", "warning", "alarm")
ADSB_INPUTS = ("beast", "iq")
CAUSES = {  # alert kind -> misbehaviours that can cause it on the named aircraft (None: any aircraft)
    "unauthorised": {"no_plan", "ignore_closure"},
    "nonconformance": {"deviate", "altitude_bust", "overstay", "early"},
    "lost_contact": {"lost_link"},
}


class ScenarioError(ValueError):
    """A scenario file is malformed or its expectations do not follow from its aircraft."""


@dataclass
class Actor:
    """A named aircraft placed by hand (conflict pairs, rogues, deviations)."""

    id: str
    model: str
    org: str
    transport: str
    path: list[list[float]]
    speed: float
    start_s: float = 0.0
    plan: str | dict[str, Any] = "auto"
    misbehaviour: list[str] = field(default_factory=list)
    lost_link: tuple[float, float] | None = None
    """(after_s, for_s): reports stop for a while mid-flight."""
    overstay_s: float = 0.0
    mission: str = "inspection"
    """Plan mission type (medical, police, ... make an emergency plan)."""
    urgent: bool = False

    @property
    def well_behaved(self) -> bool:
        """Filed, approved and conforming by design; crewed ADS-B traffic flies outside lowalt's plans."""
        return not self.misbehaviour and self.transport != "adsb"


@dataclass
class Group:
    name: str
    count: int
    model: str
    mission: str
    org: str
    transport: str = "gateway"
    background: bool = False
    file_plan: bool = True
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Expectation:
    kind: str
    aircraft: list[str]
    min_count: int = 1
    volume: str | None = None
    severity: str | None = None
    """The least severity the alert must reach (``caution`` < ``warning`` < ``alarm``)."""

    def label(self) -> str:
        v = f"@{self.volume}" if self.volume else ""
        return f"{self.kind}({'+'.join(self.aircraft)}){v}"


@dataclass
class Scenario:
    name: str
    description: str
    seed: int
    duration_s: float
    tick_s: float
    centre: tuple[float, float]
    groups: list[Group]
    actors: list[Actor]
    events: list[dict[str, Any]]
    expected: list[Expectation]
    continuous: bool = False
    sim_policy: bool = False
    strict: bool = False
    report_dropout: float = 0.0
    """Probability that any one report is not sent (radio loss), counted as a simulated drop."""
    adsb_input: str = "beast"
    """How ``adsb`` actors reach dump1090: ``beast`` frames on its Beast input, or ``iq`` samples on
    its stdin (``--ifile -``: dump1090 demodulates them, the whole chain after the antenna)."""

    def scaled(self, n: int | None) -> Scenario:
        """Scale group counts so the whole fleet is ``n`` aircraft (actors are kept as they are)."""
        if not n:
            return self
        base = sum(g.count for g in self.groups)
        room = max(0, n - len(self.actors))
        if not base:
            return self
        groups, left = [], room
        for k, g in enumerate(self.groups):
            c = left if k == len(self.groups) - 1 else min(left, round(g.count * room / base))
            left -= c
            groups.append(Group(g.name, c, g.model, g.mission, g.org, g.transport, g.background, g.file_plan,
                                g.options))
        return Scenario(**{**self.__dict__, "groups": groups})


def _need(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise ScenarioError(f"{where}: missing {key!r}")
    return d[key]


def parse(d: Any, source: str = "<scenario>") -> Scenario:
    """Validate a scenario mapping; raise ScenarioError naming the offending entry."""
    if not isinstance(d, dict):
        raise ScenarioError(f"{source}: a scenario is a mapping")
    name = str(_need(d, "name", source))
    desc = str(_need(d, "description", source)).strip()
    if len(desc) < 20:
        raise ScenarioError(f"{source}: description must say what the scenario does and expects")
    groups: list[Group] = []
    for k, g in enumerate(d.get("groups") or []):
        where = f"{source}: groups[{k}]"
        model, mission = str(_need(g, "model", where)), str(_need(g, "mission", where))
        if model not in ENVELOPES:
            raise ScenarioError(f"{where}: unknown model {model!r}; one of {', '.join(ENVELOPES)}")
        if mission not in MISSIONS:
            raise ScenarioError(f"{where}: unknown mission {mission!r}; one of {', '.join(MISSIONS)}")
        tr = str(g.get("transport", "gateway"))
        if tr not in TRANSPORTS:
            raise ScenarioError(f"{where}: transport must be device or gateway")
        known = {"name", "count", "model", "mission", "org", "transport", "background", "file_plan"}
        groups.append(Group(str(_need(g, "name", where)), int(_need(g, "count", where)), model, mission,
                            str(g.get("org", f"sim-{g['name']}")), tr, bool(g.get("background", False)),
                            bool(g.get("file_plan", True)), {k2: v for k2, v in g.items() if k2 not in known}))
    actors: list[Actor] = []
    ids: set[str] = set()
    for k, a in enumerate(d.get("actors") or []):
        where = f"{source}: actors[{k}]"
        aid = str(_need(a, "id", where))
        if aid in ids or any(g.name == aid for g in groups):
            raise ScenarioError(f"{where}: duplicate id {aid!r}")
        ids.add(aid)
        model = str(_need(a, "model", where))
        if model not in ENVELOPES:
            raise ScenarioError(f"{where}: unknown model {model!r}; one of {', '.join(ENVELOPES)}")
        path = _need(a, "path", where)
        if not isinstance(path, list) or len(path) < 2 or not all(isinstance(p, list) and len(p) == 3 for p in path):
            raise ScenarioError(f"{where}: path needs >= 2 points [x_m, y_m, alt_m]")
        mis = a.get("misbehaviour") or []
        mis = [mis] if isinstance(mis, str) else list(mis)
        transport = str(a.get("transport", "device"))
        if transport not in TRANSPORTS + FEED_TRANSPORTS:
            raise ScenarioError(f"{where}: transport must be one of {', '.join(TRANSPORTS + FEED_TRANSPORTS)}")
        if transport == "adsb":
            if mis or a.get("plan", "none") != "none":
                raise ScenarioError(f"{where}: an adsb (crewed) aircraft files nothing with lowalt: "
                                    f"give it plan: none and no misbehaviour")
            a = {**a, "plan": "none"}
        for m in mis:
            if m not in MISBEHAVIOURS:
                raise ScenarioError(f"{where}: unknown misbehaviour {m!r}; one of {', '.join(MISBEHAVIOURS)}")
        plan = a.get("plan", "auto")
        if "no_plan" in mis or "noncoop" in mis or "ignore_closure" in mis:
            if plan not in ("none", "auto"):
                raise ScenarioError(f"{where}: a {mis[0]} aircraft files no plan; drop its 'plan'")
            plan = "none"
        if plan == "none" and not ({"no_plan", "noncoop", "ignore_closure"} & set(mis)) and transport != "adsb":
            raise ScenarioError(f"{where}: plan: none needs misbehaviour no_plan (it will be unauthorised)")
        if ("deviate" in mis or "altitude_bust" in mis) and not isinstance(plan, dict):
            raise ScenarioError(f"{where}: a {mis[0]} aircraft needs a 'plan' it then leaves (path/floor/ceiling)")
        if "early" in mis and not (isinstance(plan, dict) and float(plan.get("start_in_s", 0)) > 0):
            raise ScenarioError(f"{where}: an early aircraft needs plan.start_in_s > 0 (it takes off before it)")
        ll = a.get("lost_link")
        if ("lost_link" in mis) != (ll is not None):
            raise ScenarioError(f"{where}: misbehaviour lost_link and lost_link: [after_s, for_s] go together")
        actors.append(Actor(aid, model, str(a.get("org", "sim-actors")), transport,
                            [[float(v) for v in p] for p in path], float(a.get("speed", ENVELOPES[model].cruise_ms)),
                            float(a.get("start_s", 0.0)), plan, mis, tuple(ll) if ll else None,  # type: ignore[arg-type]
                            float(a.get("overstay_s", 0.0)), str(a.get("mission", "inspection")),
                            bool(a.get("urgent", False))))
    if "overstay" in {m for a in actors for m in a.misbehaviour}:
        for a in actors:
            if "overstay" in a.misbehaviour and not (isinstance(a.plan, dict) and "window_s" in a.plan):
                raise ScenarioError(f"{source}: actor {a.id}: overstay needs plan.window_s shorter than its flight")
    by_id = {a.id: a for a in actors}
    expected: list[Expectation] = []
    for k, e in enumerate(d.get("expected_alerts") or []):
        where = f"{source}: expected_alerts[{k}]"
        kind = str(_need(e, "kind", where))
        if kind not in ALERT_KINDS:
            raise ScenarioError(f"{where}: unknown alert kind {kind!r}; one of {', '.join(ALERT_KINDS)}")
        who = [str(x) for x in _need(e, "aircraft", where)]
        for w in who:
            if w not in by_id:
                raise ScenarioError(f"{where}: aircraft {w!r} is not an actor of this scenario "
                                    f"(actors: {', '.join(by_id) or 'none'})")
        if kind == "conflict" and len(who) != 2:
            raise ScenarioError(f"{where}: a conflict names exactly 2 aircraft, got {who}")
        if kind != "conflict" and len(who) != 1:
            raise ScenarioError(f"{where}: a {kind} alert names exactly 1 aircraft, got {who}")
        causes = CAUSES.get(kind)
        if causes is not None and not (causes & set(by_id[who[0]].misbehaviour)):
            raise ScenarioError(
                f"{where}: {kind} expected for {who[0]!r}, but it has no misbehaviour that causes it "
                f"(needs one of {', '.join(sorted(causes))}; it has {by_id[who[0]].misbehaviour or 'none'})")
        if kind in ("unauthorised", "nonconformance", "lost_contact") and "noncoop" in by_id[who[0]].misbehaviour:
            raise ScenarioError(f"{where}: {who[0]!r} is non-cooperative; {kind} applies to cooperative tracks")
        if kind == "conflict" and all(by_id[w].well_behaved for w in who):
            raise ScenarioError(f"{where}: a conflict between two well-behaved aircraft cannot be expected: "
                                f"their approved plans are strategically deconflicted; make one misbehave")
        sev = e.get("severity")
        if sev is not None and sev not in SEVERITIES:
            raise ScenarioError(f"{where}: severity must be one of {', '.join(SEVERITIES)}, got {sev!r}")
        expected.append(Expectation(kind, who, int(e.get("min_count", 1)), e.get("volume"), sev))
    for k, ev in enumerate(d.get("events") or []):
        if ev.get("action") not in ("weather_warning", "restriction"):
            raise ScenarioError(f"{source}: events[{k}]: action must be weather_warning or restriction")
    adsb_input = str(d.get("adsb_input", "beast"))
    if adsb_input not in ADSB_INPUTS:
        raise ScenarioError(f"{source}: adsb_input must be one of {', '.join(ADSB_INPUTS)}, got {adsb_input!r}")
    centre = d.get("centre", [117.20, 29.30])
    return Scenario(name, desc, int(d.get("seed", 0)), float(d.get("duration_s", 60)), float(d.get("tick_s", 1.0)),
                    (float(centre[0]), float(centre[1])), groups, actors, list(d.get("events") or []), expected,
                    bool(d.get("continuous", False)), bool(d.get("sim_policy", False)), bool(d.get("strict", False)),
                    float(d.get("report_dropout", 0.0)), adsb_input)


def load(name_or_path: str) -> Scenario:
    """A library scenario by name (``demo``) or a YAML/JSON file path."""
    p = Path(name_or_path)
    if not p.suffix:
        p = LIBRARY / f"{name_or_path}.yaml"
    if not p.exists():
        have = ", ".join(sorted(x.stem for x in LIBRARY.glob("*.yaml")))
        raise ScenarioError(f"no scenario {name_or_path!r} (library: {have})")
    return parse(yaml.safe_load(p.read_text(encoding="utf-8")), p.name)


def library() -> list[str]:
    return sorted(x.stem for x in LIBRARY.glob("*.yaml"))


# -- judging a run ---------------------------------------------------------------------------

@dataclass
class Verdict:
    expected: list[dict[str, Any]]
    missing: list[str]
    unexpected: list[dict[str, Any]]
    incidental: list[dict[str, Any]]
    not_wired: list[str]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unexpected


def _reported_id(server_id: str) -> str:
    """The id a simulator reported: the server files sensor detections as ``nc:SENSOR:ID``."""
    return server_id.split(":", 2)[2] if server_id.startswith("nc:") and server_id.count(":") >= 2 else server_id


def judge(sc: Scenario, alerts: dict[str, dict[str, Any]], local_of: dict[str, str],
          well_behaved: set[str], kinds: tuple[str, ...] = ALERT_KINDS) -> Verdict:
    """Compare alerts seen on the feed (by alert id) with the scenario's expectations.

    ``local_of`` maps server aircraft ids to scenario-local ids (actors: their id; group members:
    ``group/k``); aircraft not in it (other traffic on a shared server) make an alert incidental.
    Expectations of kinds not in ``kinds`` (not wired on this server) are listed, not checked.
    """
    matched: dict[int, list[str]] = {k: [] for k in range(len(sc.expected))}
    unexpected, incidental = [], []
    for aid, a in alerts.items():
        local = [local_of.get(_reported_id(x)) for x in a.get("aircraft", [])]
        hit = False
        for k, e in enumerate(sc.expected):
            if e.kind != a.get("kind") or sorted(e.aircraft) != sorted(x for x in local if x):
                continue
            if e.volume and (a.get("details") or {}).get("volume") != e.volume:
                continue
            peak = str(a.get("peak_severity", a.get("severity")))
            if e.severity and (SEVERITIES.index(peak) if peak in SEVERITIES else -1) < SEVERITIES.index(e.severity):
                continue
            matched[k].append(aid)
            hit = True
        if hit:
            continue
        brief = {"id": aid, "kind": a.get("kind"), "aircraft": local, "details": a.get("details")}
        if sc.strict or (local and all(x is not None and x in well_behaved for x in local)):
            unexpected.append(brief)
        else:
            incidental.append(brief)
    expected, missing, not_wired = [], [], []
    for k, e in enumerate(sc.expected):
        if e.kind not in kinds:
            not_wired.append(e.label())
            continue
        expected.append({"alert": e.label(), "min_count": e.min_count, "seen": len(matched[k])})
        if len(matched[k]) < e.min_count:
            missing.append(e.label())
    return Verdict(expected, missing, unexpected, incidental, not_wired)
