"""The jurisdiction's filing policy (``airspace_data/<area>/policy.yaml``) as typed data.

The YAML says what 即报即飞 can lawfully mean here (regulations_cn.md D and H); code
only reads it, so a local agreement (e.g. a 1 h lead time) is a data change with its
article, not a code change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from lowalt.airspace.model import AircraftCategory
from lowalt.filing.model import MissionType, Priority, priority_of


class PolicyError(ValueError):
    """The policy file is missing a field or has a bad value."""


@dataclass(frozen=True)
class Cutoff:
    """Apply by ``local`` time, ``days_before`` days before the flight's local date."""

    days_before: int
    local: time
    article: str
    lead_time: timedelta | None = None
    """A local agreement's fixed lead time that replaces the wall-clock cut-off."""

    def deadline(self, start: datetime, tz: ZoneInfo) -> datetime:
        if self.lead_time is not None:
            return start - self.lead_time
        day = start.astimezone(tz).date() - timedelta(days=self.days_before)
        return datetime.combine(day, self.local, tzinfo=tz)

    def earliest_start(self, now: datetime, tz: ZoneInfo) -> datetime:
        """The first local day (start of day) for which ``now`` is still before the deadline."""
        if self.lead_time is not None:
            return now + self.lead_time
        local = now.astimezone(tz)
        day = local.date() + timedelta(days=self.days_before)
        if local.time() >= self.local:
            day += timedelta(days=1)
        return datetime.combine(day, time(0, 0), tzinfo=tz)


@dataclass(frozen=True)
class MissionLevel:
    """The priority a mission carries, and for whom: everyone (``fleets`` None) or only the government
    fleets of these kinds (a commercial operator's "police" mission is commercial)."""

    level: Priority
    fleets: frozenset[str] | None = None


@dataclass(frozen=True)
class Priorities:
    """policy.yaml ``priorities``: the levels, which missions and government fleets (政务"一网统飞")
    carry them, and from which level a plan preempts strictly lower approved plans that are not airborne."""

    missions: dict[MissionType, MissionLevel]
    fleets: dict[str, str]
    """Organisation -> its government fleet kind (``police``, ``emergency``, ``inspection``)."""
    preempt_from: Priority = Priority.EMERGENCY
    article: str = ""
    preempt_article: str = ""
    fleets_article: str = ""


FLEET_KINDS = ("emergency", "police", "inspection")


def _default_priorities() -> Priorities:
    """Without a ``priorities`` section: the mission alone decides (:func:`priority_of`), emergency preempts."""
    return Priorities({m: MissionLevel(priority_of(m)) for m in MissionType}, {})


@dataclass(frozen=True)
class Policy:
    jurisdiction: str
    tz: ZoneInfo
    service_bbox: tuple[float, float, float, float]
    no_application_categories: frozenset[AircraftCategory]
    max_height_agl_m: dict[AircraftCategory, float]
    no_application_article: str
    clawbacks: frozenset[str]
    clawback_article: str
    corridor: Cutoff
    emergency_missions: frozenset[MissionType]
    emergency_lead: timedelta
    emergency_urgent_any_time: bool
    emergency_article: str
    crewed_categories: frozenset[AircraftCategory]
    crewed: Cutoff
    standard: Cutoff
    activation_before: timedelta
    activation_article: str
    past_tolerance: timedelta
    max_duration: timedelta
    max_advance: timedelta
    licence_required: frozenset[AircraftCategory]
    registration_article: str
    h_buffer_m: float
    v_buffer_m: float
    t_buffer_s: float
    slot: timedelta
    vertiport_radius_m: float
    max_wind_ms: dict[AircraftCategory, float]
    min_visibility_m: float
    max_precip_mm_h: float
    alt_time_step: timedelta
    alt_time_horizon: timedelta
    reroute_margin_m: float
    raw: dict[str, Any]
    height_inclusive: bool = True
    """"120米以下" includes 120 m: a ceiling exactly at the limit is still exempt."""
    height_article: str = ""
    emergency_decision: timedelta = timedelta(minutes=10)
    """条例 Art. 29: the centre decides a referred emergency plan this long before take-off."""
    emergency_escalate_before: timedelta = timedelta(minutes=5)
    emergency_deadline_action: str = "approve_if_clear"
    emergency_deadline_article: str = ""
    turnaround: timedelta = timedelta(minutes=10)
    aircraft_article: str = ""
    night_start: time = time(20, 0)
    night_end: time = time(6, 0)
    day_only_missions: frozenset[MissionType] = frozenset()
    night_article: str = ""
    max_warning: timedelta = timedelta(hours=24)
    priorities: Priorities = _default_priorities()

    def is_night(self, t: datetime) -> bool:
        """Local wall-clock night (``night.night_local``), the window wrapping midnight."""
        lt = t.astimezone(self.tz).time()
        if self.night_start <= self.night_end:
            return self.night_start <= lt < self.night_end
        return lt >= self.night_start or lt < self.night_end


def priority_for(policy: Policy, organisation: str, mission: MissionType) -> Priority:
    """A plan's priority: its mission's level when the mission carries one for everyone, or when the
    organisation is a government fleet of a kind the level names; commercial otherwise."""
    rule = policy.priorities.missions.get(mission)
    if rule is None:
        return Priority.COMMERCIAL
    if rule.fleets is None or policy.priorities.fleets.get(organisation) in rule.fleets:
        return rule.level
    return Priority.COMMERCIAL


def fleet_of(policy: Policy, organisation: str | None) -> str | None:
    """The government fleet kind of an organisation (None: not a government fleet)."""
    return policy.priorities.fleets.get(organisation) if organisation else None


def _level(v: object, what: str) -> Priority:
    try:
        return Priority[str(v).upper()]
    except KeyError:
        raise PolicyError(f"policy: {what} is not one of {', '.join(p.name.lower() for p in Priority)}") from None


def _priorities(d: dict[str, Any]) -> Priorities:
    sect = d.get("priorities")
    if not sect:
        return _default_priorities()
    order = [_level(v, "priorities.levels[]") for v in _get(sect, "levels")]
    if order != sorted(Priority, reverse=True):
        raise PolicyError("policy: priorities.levels must list " + " > ".join(p.name.lower() for p in sorted(
            Priority, reverse=True)) + " (lowalt.filing.model.Priority stores them by rank)")
    fleets_sect = sect.get("government_fleets") or {}
    fleets = {str(org): str(kind) for org, kind in (fleets_sect.get("organisations") or {}).items()}
    for org, kind in fleets.items():
        if kind not in FLEET_KINDS:
            raise PolicyError(f"policy: priorities.government_fleets.organisations.{org} is not one of "
                              f"{', '.join(FLEET_KINDS)}")
    missions: dict[MissionType, MissionLevel] = {}
    for m, rule in (_get(sect, "missions") or {}).items():
        try:
            mission = MissionType(m)
        except ValueError:
            raise PolicyError(f"policy: priorities.missions.{m} is not a mission") from None
        who = rule.get("fleets")
        if who is not None and not set(who) <= set(FLEET_KINDS):
            raise PolicyError(f"policy: priorities.missions.{m}.fleets names an unknown fleet kind")
        missions[mission] = MissionLevel(_level(rule.get("level"), f"priorities.missions.{m}.level"),
                                         frozenset(who) if who is not None else None)
    return Priorities(missions, fleets, _level(sect.get("preempt_from", "emergency"), "priorities.preempt_from"),
                      str(_get(sect, "article")), str(sect.get("preempt_article", _get(sect, "article"))),
                      str(fleets_sect.get("article", "")))


def _get(d: dict[str, Any], *path: str) -> Any:
    cur: Any = d
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            raise PolicyError(f"policy: missing {'.'.join(path)}")
        cur = cur[p]
    return cur


def _time(v: object, what: str) -> time:
    try:
        return time.fromisoformat(str(v))
    except ValueError as exc:
        raise PolicyError(f"policy: {what} is not HH:MM") from exc


def _cutoff(d: dict[str, Any], key: str, lead_key: str | None = None) -> Cutoff:
    sect = _get(d, "pathways", key)
    lead = sect.get(lead_key) if lead_key else None
    return Cutoff(int(sect["cutoff_days_before"]), _time(sect["cutoff_local"], f"{key}.cutoff_local"),
                  str(_get(sect, "article")), timedelta(minutes=float(lead)) if lead is not None else None)


def _cats(values: object) -> frozenset[AircraftCategory]:
    return frozenset(AircraftCategory(v) for v in values)  # type: ignore[attr-defined]


def load_policy(path: str | Path) -> Policy:
    """Read and check a policy file; every pathway must carry an ``article``."""
    p = Path(path)
    if p.is_dir():
        p = p / "policy.yaml"
    d = yaml.safe_load(p.read_text(encoding="utf-8"))
    if not isinstance(d, dict):
        raise PolicyError(f"{p}: not a mapping")
    for name, sect in _get(d, "pathways").items():
        if not isinstance(sect, dict) or not sect.get("article"):
            raise PolicyError(f"policy: pathway {name} has no article")
    na = _get(d, "pathways", "no_application")
    em = _get(d, "pathways", "emergency")
    cg = _get(d, "pathways", "crewed_ga")
    tw = _get(d, "time_window")
    dc = _get(d, "deconfliction")
    wx = _get(d, "weather")
    alt = _get(d, "alternatives")
    ac = d.get("aircraft") or {}
    night = d.get("night") or {}
    night_local = night.get("night_local") or ["20:00", "06:00"]
    action = str(em.get("deadline_action", "approve_if_clear"))
    if action not in ("approve_if_clear", "reject"):
        raise PolicyError("policy: pathways.emergency.deadline_action is approve_if_clear or reject")
    bbox = tuple(float(v) for v in _get(d, "service_area", "bbox"))
    if len(bbox) != 4:
        raise PolicyError("policy: service_area.bbox needs 4 numbers")
    return Policy(
        jurisdiction=str(d.get("jurisdiction", p.parent.name)),
        tz=ZoneInfo(str(d.get("timezone", "Asia/Shanghai"))),
        service_bbox=bbox,
        no_application_categories=_cats(na["categories"]),
        max_height_agl_m={AircraftCategory(k): float(v) for k, v in na["max_height_agl_m"].items()},
        no_application_article=str(na["article"]),
        clawbacks=frozenset(_get(na, "clawbacks", "flags")),
        clawback_article=str(_get(na, "clawbacks", "article")),
        corridor=_cutoff(d, "long_term_corridor"),
        emergency_missions=frozenset(MissionType(m) for m in em["missions"]),
        emergency_lead=timedelta(minutes=float(em["lead_time_min"])),
        emergency_urgent_any_time=bool(em.get("urgent_any_time", False)),
        emergency_article=str(em["article"]),
        crewed_categories=_cats(cg["categories"]),
        crewed=_cutoff(d, "crewed_ga"),
        standard=_cutoff(d, "standard", "local_lead_time_min"),
        activation_before=timedelta(minutes=float(_get(d, "activation", "confirm_before_min"))),
        activation_article=str(_get(d, "activation", "article")),
        past_tolerance=timedelta(seconds=float(tw["past_tolerance_s"])),
        max_duration=timedelta(hours=float(tw["max_duration_h"])),
        max_advance=timedelta(days=float(tw["max_advance_days"])),
        licence_required=_cats(_get(d, "registration", "licence_required")),
        registration_article=str(_get(d, "registration", "article")),
        h_buffer_m=float(dc["horizontal_buffer_m"]),
        v_buffer_m=float(dc["vertical_buffer_m"]),
        t_buffer_s=float(dc["time_buffer_s"]),
        slot=timedelta(minutes=float(_get(d, "vertiports", "slot_min"))),
        vertiport_radius_m=float(_get(d, "vertiports", "match_radius_m")),
        max_wind_ms={AircraftCategory(k): float(v) for k, v in wx["max_wind_ms"].items()},
        min_visibility_m=float(wx["min_visibility_m"]),
        max_precip_mm_h=float(wx["max_precipitation_mm_h"]),
        alt_time_step=timedelta(minutes=float(alt["time_step_min"])),
        alt_time_horizon=timedelta(hours=float(alt["time_horizon_h"])),
        reroute_margin_m=float(alt["reroute_margin_m"]),
        raw=d,
        height_inclusive=bool(na.get("height_inclusive", True)),
        height_article=str(na.get("height_article", na["article"])),
        emergency_decision=timedelta(minutes=float(em.get("decision_min", 10))),
        emergency_escalate_before=timedelta(minutes=float(em.get("escalate_before_min", 5))),
        emergency_deadline_action=action,
        emergency_deadline_article=str(em.get("deadline_action_article", em["article"])),
        turnaround=timedelta(minutes=float(ac.get("turnaround_min", 10))),
        aircraft_article=str(ac.get("article", "")),
        night_start=_time(night_local[0], "night.night_local[0]"),
        night_end=_time(night_local[1], "night.night_local[1]"),
        day_only_missions=frozenset(MissionType(m) for m in night.get("day_only_missions", [])),
        night_article=str(night.get("article", "")),
        max_warning=timedelta(hours=float(wx.get("max_warning_h", 24))),
        priorities=_priorities(d),
    )
