"""The 即报即飞 decision table: every pathway and every boundary on both sides, each row naming
the article it encodes (see /work/shared/reference/regulations_cn.md and policy.yaml).

Pure rows run the real decision (rules, Fuliang airspace, terrain) with a fixed clock; the
idempotency rows go through the API on PostGIS. "以下/以上 include the number": a boundary
value is on the permissive side, one step past it is not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from lowalt.filing.deadlines import due_actions
from lowalt.filing.decision import Decision, Facts, Verdict, decide
from lowalt.filing.model import FlightPlan, PlanState, footprint
from lowalt.filing.policy import Cutoff
from lowalt.filing.rules import Booking
from lowalt.geo.altitude import Altitude, AltitudeReference, agl
from tests.filing import builders as b
from tests.filing.conftest import plan_body, soon

STEP = 0.01
"""One step past a height boundary (m)."""
SEC = timedelta(seconds=1)


def amsl(v: float) -> Altitude:
    return Altitude(v, AltitudeReference.AMSL)


def _ground() -> tuple[float, float]:
    fp = footprint(b.plan(b.PLAIN), b.view().terrain)
    return fp.ground_min, fp.ground_max


@dataclass
class Row:
    id: str
    article: str
    plan: Callable[[], FlightPlan]
    verdict: Verdict
    pathway: str | None = None
    codes: frozenset[str] = frozenset()
    """Reason codes that must be present."""
    absent: frozenset[str] = frozenset()
    """Reason codes that must not be present."""
    facts: Callable[[], Facts] = field(default=lambda: b.facts())
    check: Callable[[Decision, FlightPlan], None] | None = None


def _medium(start: Any, minutes: float = 30) -> FlightPlan:
    return b.plan(b.WUYUAN_OUT, start=start, minutes=minutes, category="medium_uav", mission="logistics",
                  licence_id="CAAC-7", floor=agl(160), ceiling=agl(190), half_width_m=100)


def _has_lower_band(d: Decision, p: FlightPlan) -> None:
    low = next(a for a in d.alternatives if a.get("lowered"))
    ground = footprint(p, b.view().terrain).ground_min if low["ceiling"]["reference"] == "AMSL" else 0.0
    assert low["ceiling"]["value_m"] - ground <= 120 and low["expected"] == "approved"


def _lowered_to(d: Decision, ceiling: float) -> None:
    low = next(a for a in d.alternatives if a.get("lowered"))
    assert low["ceiling"]["value_m"] == ceiling and low["expected"] == "approved"


def _decide_by(d: Decision, p: FlightPlan) -> None:
    assert d.decide_by == p.start - timedelta(minutes=10)
    assert d.as_dict()["decide_by"] == (p.start - timedelta(minutes=10)).astimezone(b.NOW.tzinfo).isoformat()


def _no_night_alternative(d: Decision, p: FlightPlan) -> None:
    t = next(a for a in d.alternatives if a["kind"] == "time")
    from datetime import datetime

    s, e = datetime.fromisoformat(t["start"]), datetime.fromisoformat(t["end"])
    assert not any(b.policy().is_night(s + k * (e - s) / 10) for k in range(10))


def _amsl_note(d: Decision, p: FlightPlan) -> None:
    note = d.as_dict()["true_height"]
    assert "最低地形" in note["message_zh"] and "lowest terrain" in note["message_en"]


def _corridor_said(d: Decision, p: FlightPlan) -> None:
    route = next(x for x in d.pathways if x["pathway"] == "long_term_corridor")
    assert route["verdict"] == "rejected" and "corridor_closed" in {r["code"] for r in route["reasons"]}


LIGHT_HEIGHT = "条例 Art. 19 / Art. 31 ¶1 / CCAR-92 §92.511(c) (C2, D5): light/small UAVs 120米以下 (incl. 120 m)"
MICRO_HEIGHT = "条例 Art. 62 (B1, C2): micro UAVs design true height 50米以下 (incl. 50 m)"
G_LAYER = "条例 Art. 19 (C1): above 120 m true height is controlled airspace for UAVs"
CORRIDOR = "条例 Art. 26 (D2): long-term approved route, released hours (routes.geojson schedule)"
STANDARD = "条例 Art. 26 (D1): apply by 12:00 D-1 Asia/Shanghai (wall clock, not a lead time)"
CREWED = "通用航空飞行管制条例 (D9): crewed GA plans by 15:00 D-1"
LOCAL = "H1/H2: a local agreement's fixed lead time replaces the cut-off (policy local_lead_time_min)"
HORIZON = "centre practice (policy time_window.max_advance_days = 30)"
EMERGENCY = "条例 Art. 29 (D3): emergency apply 30 min ahead, decided 10 min before take-off"
NIGHT = "条例 Art. 32 (D10) + policy night.day_only_missions (illustrative)"
BOOKING = "条例 Art. 10 / Art. 27 (E1, D7) + policy aircraft.turnaround_min (illustrative)"
CLAWBACK = "条例 Art. 31 ¶2 (D6): clawbacks need an application again"
NO_FLY = "条例 Art. 19 (C1): prohibited areas (chrdi_602, illustrative)"
ORDER = "条例 Art. 31 ¶1 before Art. 26: exempt flights need no application even inside a route"

lo_g, hi_g = _ground()
ROWS = [
    # -------- 120 m / 50 m true height, AGL
    Row("light-120-agl-exempt", LIGHT_HEIGHT, lambda: b.plan(ceiling=agl(120)), Verdict.APPROVED, "no_application"),
    Row("light-120.01-agl-same-day", LIGHT_HEIGHT, lambda: b.plan(ceiling=agl(120 + STEP)), Verdict.REJECTED,
        "standard", frozenset({"above_suitable_airspace", "filed_too_late"}), check=_has_lower_band),
    Row("light-120.01-agl-d2-referred", LIGHT_HEIGHT, lambda: b.plan(ceiling=agl(120 + STEP), start=b.local(2, 10)),
        Verdict.REFERRED, "standard", frozenset({"above_suitable_airspace", "airspace_needs_approval"}),
        check=_has_lower_band),
    Row("small-120-agl-exempt", LIGHT_HEIGHT, lambda: b.plan(ceiling=agl(120), category="small_uav", licence_id="S-1"),
        Verdict.APPROVED, "no_application", facts=lambda: b.facts(category="small_uav")),
    Row("micro-50-agl-exempt", MICRO_HEIGHT, lambda: b.plan(ceiling=agl(50), category="micro_uav"),
        Verdict.APPROVED, "no_application", facts=lambda: b.facts(category="micro_uav")),
    Row("micro-50.01-agl-rejected", MICRO_HEIGHT, lambda: b.plan(ceiling=agl(50 + STEP), category="micro_uav"),
        Verdict.REJECTED, None, frozenset({"above_category_ceiling"}), facts=lambda: b.facts(category="micro_uav"),
        check=lambda d, p: _lowered_to(d, 50)),
    # -------- the same boundaries in AMSL over real terrain (ceiling over the lowest ground)
    Row("light-amsl-ceiling-at-120-true-exempt", LIGHT_HEIGHT + "; AMSL over terrain",
        lambda: b.plan(b.PLAIN, floor=amsl(hi_g), ceiling=amsl(lo_g + 120)), Verdict.APPROVED, "no_application",
        check=_amsl_note),
    Row("light-amsl-ceiling-at-120.01-true", LIGHT_HEIGHT + "; AMSL over terrain",
        lambda: b.plan(b.PLAIN, floor=amsl(hi_g), ceiling=amsl(lo_g + 120 + STEP), start=b.local(2, 10)), Verdict.REFERRED,
        "standard", frozenset({"above_suitable_airspace"}), check=_has_lower_band),
    Row("micro-amsl-ceiling-at-50-true-exempt", MICRO_HEIGHT + "; AMSL over terrain",
        lambda: b.plan(b.PLAIN, floor=amsl(hi_g), ceiling=amsl(lo_g + 50), category="micro_uav"), Verdict.APPROVED,
        "no_application", facts=lambda: b.facts(category="micro_uav")),
    Row("micro-amsl-ceiling-at-50.01-true", MICRO_HEIGHT + "; AMSL over terrain",
        lambda: b.plan(b.PLAIN, floor=amsl(hi_g), ceiling=amsl(lo_g + 50 + STEP), category="micro_uav"), Verdict.REJECTED,
        None, frozenset({"above_category_ceiling"}), facts=lambda: b.facts(category="micro_uav")),
    Row("amsl-ceiling-at-highest-terrain-below-ground", "terrain model (lowalt.geo.terrain): a band in the ground",
        lambda: b.plan(b.PLAIN, floor=amsl(lo_g - 50), ceiling=amsl(hi_g)), Verdict.REJECTED, None,
        frozenset({"band_below_terrain"}), absent=frozenset({"airspace_needs_approval"})),
    Row("amsl-ceiling-just-above-highest-terrain", "terrain model (lowalt.geo.terrain): a band in the ground",
        lambda: b.plan(b.PLAIN, floor=amsl(lo_g - 50), ceiling=amsl(hi_g + STEP)), Verdict.APPROVED, "no_application"),
    # -------- layer edges: W [0, 120] and G (120, ...] meet at 120 m
    Row("w-layer-100-120-exempt", LIGHT_HEIGHT, lambda: b.plan(floor=agl(100), ceiling=agl(120)), Verdict.APPROVED,
        "no_application"),
    Row("g-layer-floor-120-needs-application", G_LAYER, lambda: b.plan(floor=agl(120), ceiling=agl(150),
                                                                       start=b.local(2, 10)),
        Verdict.REFERRED, "standard", frozenset({"airspace_needs_approval"})),
    # -------- corridor release hours (L-WUYUAN-OUT 06:00-22:00), filed two days ahead
    Row("corridor-ends-at-22:00", CORRIDOR, lambda: _medium(b.local(2, 21, 30)), Verdict.APPROVED,
        "long_term_corridor", facts=lambda: b.facts(category="medium_uav")),
    Row("corridor-ends-at-22:01", CORRIDOR, lambda: _medium(b.local(2, 21, 31)), Verdict.REFERRED, "standard",
        facts=lambda: b.facts(category="medium_uav"), check=_corridor_said),
    Row("corridor-starts-at-06:00", CORRIDOR, lambda: _medium(b.local(2, 6)), Verdict.APPROVED, "long_term_corridor",
        facts=lambda: b.facts(category="medium_uav")),
    Row("corridor-starts-at-05:59", CORRIDOR, lambda: _medium(b.local(2, 5, 59)), Verdict.REFERRED, "standard",
        facts=lambda: b.facts(category="medium_uav"), check=_corridor_said),
    # -------- the 12:00 D-1 cut-off in Asia/Shanghai (corridor and standard), 15:00 for crewed GA
    Row("corridor-filed-at-12:00:00-d1", CORRIDOR + "; " + STANDARD, lambda: _medium(b.local(1, 10)),
        Verdict.APPROVED, "long_term_corridor", facts=lambda: b.facts(b.local(0, 12), category="medium_uav")),
    Row("corridor-filed-at-12:00:01-d1", CORRIDOR + "; " + STANDARD, lambda: _medium(b.local(1, 10)),
        Verdict.REJECTED, None, frozenset({"filed_too_late"}),
        facts=lambda: b.facts(b.local(0, 12, 0, 1), category="medium_uav")),
    Row("standard-filed-at-12:00:00-d1", STANDARD, lambda: b.plan(floor=agl(150), ceiling=agl(200),
                                                                  start=b.local(1, 10)),
        Verdict.REFERRED, "standard", facts=lambda: b.facts(b.local(0, 12))),
    Row("standard-filed-at-12:00:01-d1", STANDARD, lambda: b.plan(floor=agl(150), ceiling=agl(200),
                                                                  start=b.local(1, 10)),
        Verdict.REJECTED, "standard", frozenset({"filed_too_late"}), facts=lambda: b.facts(b.local(0, 12, 0, 1))),
    Row("crewed-filed-at-15:00:00-d1", CREWED, lambda: b.plan(category="helicopter", licence_id="H-1",
                                                              floor=agl(200), ceiling=agl(300), start=b.local(1, 10)),
        Verdict.REFERRED, "crewed_ga", facts=lambda: b.facts(b.local(0, 15), category="helicopter")),
    Row("crewed-filed-at-15:00:01-d1", CREWED, lambda: b.plan(category="helicopter", licence_id="H-1",
                                                              floor=agl(200), ceiling=agl(300), start=b.local(1, 10)),
        Verdict.REJECTED, "crewed_ga", frozenset({"filed_too_late"}),
        facts=lambda: b.facts(b.local(0, 15, 0, 1), category="helicopter")),
    # -------- a local agreement's lead time (60 min, as Sichuan's H2)
    Row("local-lead-60-min", LOCAL, lambda: b.plan(floor=agl(150), ceiling=agl(200), start=b.NOW + timedelta(hours=1)),
        Verdict.REFERRED, "standard", facts=lambda: b.facts(pol=replace(b.policy(), standard=Cutoff(
            1, b.policy().standard.local, "H2 Sichuan 1 h (example)", lead_time=timedelta(hours=1))))),
    Row("local-lead-59-min", LOCAL, lambda: b.plan(floor=agl(150), ceiling=agl(200),
                                                  start=b.NOW + timedelta(minutes=59)),
        Verdict.REJECTED, "standard", frozenset({"filed_too_late"}), facts=lambda: b.facts(pol=replace(
            b.policy(), standard=Cutoff(1, b.policy().standard.local, "H2 Sichuan 1 h (example)",
                                        lead_time=timedelta(hours=1))))),
    # -------- 30-day horizon
    Row("start-in-30-days", HORIZON, lambda: b.plan(start=b.NOW + timedelta(days=30)), Verdict.APPROVED,
        "no_application"),
    Row("start-in-30-days-and-1-s", HORIZON, lambda: b.plan(start=b.NOW + timedelta(days=30) + SEC),
        Verdict.REJECTED, None, frozenset({"window_too_far"})),
    # -------- emergency: 30 min lead, decide-by 10 min before take-off
    Row("emergency-30-min-lead", EMERGENCY, lambda: b.plan(category="small_uav", licence_id="S-1", mission="medical", floor=agl(150),
                                                          ceiling=agl(200), start=b.NOW + timedelta(minutes=30)),
        Verdict.REFERRED, "emergency", frozenset({"airspace_needs_approval"}),
        frozenset({"emergency_short_notice"}), facts=lambda: b.facts(category="small_uav"), check=_decide_by),
    Row("emergency-29-min-lead", EMERGENCY, lambda: b.plan(category="small_uav", licence_id="S-1", mission="medical", floor=agl(150),
                                                          ceiling=agl(200), start=b.NOW + timedelta(minutes=29)),
        Verdict.REFERRED, "emergency", frozenset({"emergency_short_notice"}),
        facts=lambda: b.facts(category="small_uav"), check=_decide_by),
    Row("emergency-29-min-urgent", EMERGENCY, lambda: b.plan(category="small_uav", licence_id="S-1", mission="medical", urgent=True,
                                                            floor=agl(150), ceiling=agl(200),
                                                            start=b.NOW + timedelta(minutes=29)),
        Verdict.REFERRED, "emergency", absent=frozenset({"emergency_short_notice"}),
        facts=lambda: b.facts(category="small_uav")),
    Row("emergency-light-in-w-is-exempt", ORDER + "; " + EMERGENCY,
        lambda: b.plan(mission="medical", start=b.NOW + timedelta(minutes=5)), Verdict.APPROVED, "no_application"),
    # -------- night: day-only missions
    Row("agriculture-ends-at-20:00", NIGHT, lambda: b.plan(mission="agriculture", start=b.local(0, 19, 30)),
        Verdict.APPROVED, "no_application"),
    Row("agriculture-ends-at-20:01", NIGHT, lambda: b.plan(mission="agriculture", start=b.local(0, 19, 31)),
        Verdict.REJECTED, None, frozenset({"night_not_allowed"}), check=_no_night_alternative),
    Row("survey-starts-at-06:00", NIGHT, lambda: b.plan(mission="survey", start=b.local(1, 6)), Verdict.APPROVED,
        "no_application"),
    Row("survey-starts-at-05:59", NIGHT, lambda: b.plan(mission="survey", start=b.local(1, 5, 59)),
        Verdict.REJECTED, None, frozenset({"night_not_allowed"}), check=_no_night_alternative),
    Row("tourism-at-night-allowed", NIGHT, lambda: b.plan(start=b.local(0, 21)), Verdict.APPROVED, "no_application"),
    # -------- one aircraft / one pilot, 10 min turnaround
    Row("aircraft-next-plan-10-min-after", BOOKING, lambda: b.plan(start=b.local(0, 10, 40)), Verdict.APPROVED,
        "no_application", facts=lambda: b.facts(bookings=[Booking("other", "a1", None, b.local(0, 10),
                                                                  b.local(0, 10, 30))])),
    Row("aircraft-next-plan-9-min-59-after", BOOKING, lambda: b.plan(start=b.local(0, 10, 39, 59)), Verdict.REJECTED,
        None, frozenset({"aircraft_busy"}), facts=lambda: b.facts(bookings=[Booking("other", "a1", None,
                                                                                    b.local(0, 10), b.local(0, 10, 30))])),
    Row("aircraft-double-booked-30-km-apart", BOOKING,
        lambda: b.plan([(117.30, 29.20), (117.33, 29.22)], start=b.local(0, 10, 10)), Verdict.REJECTED, None,
        frozenset({"aircraft_busy"}), facts=lambda: b.facts(bookings=[Booking("other", "a1", None, b.local(0, 10),
                                                                              b.local(0, 10, 30))])),
    Row("pilot-licence-double-booked", BOOKING, lambda: b.plan(licence_id="P-9", start=b.local(0, 10, 10)),
        Verdict.REJECTED, None, frozenset({"pilot_busy"}),
        facts=lambda: b.facts(bookings=[Booking("other", "a2", "P-9", b.local(0, 10), b.local(0, 10, 30))])),
    Row("pilot-other-licence-free", BOOKING, lambda: b.plan(licence_id="P-8", start=b.local(0, 10, 10)),
        Verdict.APPROVED, "no_application",
        facts=lambda: b.facts(bookings=[Booking("other", "a2", "P-9", b.local(0, 10), b.local(0, 10, 30))])),
    # -------- clawbacks, no-fly, and the pathway order
    *[Row(f"clawback-{flag}", CLAWBACK, lambda flag=flag: b.plan(flags=frozenset({flag}), start=b.local(2, 10)),
          Verdict.REFERRED, "standard", frozenset({"clawback_application_required"}))
      for flag in ("relay_network", "dangerous_goods", "drops_objects", "over_crowds", "moving_vehicle", "swarm")],
    Row("no-fly-602", NO_FLY, lambda: b.plan(b.NO_FLY_602), Verdict.REJECTED, None, frozenset({"airspace_forbidden"})),
    Row("exempt-inside-a-released-route", ORDER, lambda: b.plan(b.YAOLI_ROUTE, floor=agl(30), ceiling=agl(100)),
        Verdict.APPROVED, "no_application"),
]


def test_every_row_names_its_article() -> None:
    for row in ROWS:
        assert row.article and any(k in row.article for k in ("条例", "Art.", "practice", "policy", "terrain")), row.id
    assert len({r.id for r in ROWS}) == len(ROWS)


def test_terrain_under_the_route_is_real() -> None:
    """Precondition of the AMSL rows: the footprint has relief (so lowest and highest ground differ),
    and less than 50 m of it (so an exempt AMSL band clears the highest ground)."""
    assert 5 < hi_g - lo_g < 50


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_decision_table(row: Row) -> None:
    p = row.plan()
    d, _ = decide(p, row.facts())
    codes = {r.code for r in d.reasons}
    assert d.verdict is row.verdict, (row.article, [(r.code, r.message_en) for r in d.reasons])
    if row.pathway is not None:
        assert d.pathway.value == row.pathway, d.pathways
    assert row.codes <= codes, codes
    assert not (row.absent & codes), codes
    applied = [x["pathway"] for x in d.pathways if x["applied"]]
    early = codes & {"window_too_far", "window_in_past", "window_inverted", "window_too_long", "geometry_invalid",
                     "outside_service_area"}
    assert applied == ([] if early else [d.pathway.value])  # rejected before any pathway is weighed
    for x in d.pathways:  # why every other pathway did not apply, in both languages
        assert x["message_zh"] and x["message_en"]
    if row.check is not None:
        row.check(d, p)


# ------------------------------------------------------------------ emergency decide-by (due actions)

def _referred_emergency(escalated: bool = False) -> FlightPlan:
    p = b.plan(category="small_uav", licence_id="S-1", mission="medical", floor=agl(150), ceiling=agl(200),
               start=b.NOW + timedelta(minutes=40))
    d, _ = decide(p, b.facts(category="small_uav"))
    dec = d.as_dict() | ({"escalated_at": b.NOW.isoformat()} if escalated else {})
    return replace(p, state=PlanState(d.verdict.value), decision=dec)


DUE = [
    ("5-min-before-decide-by-escalates", False, timedelta(minutes=-5), ["escalate"]),
    ("5-min-1-s-before-nothing-yet", False, timedelta(minutes=-5) - SEC, []),
    ("escalated-once-only", True, timedelta(minutes=-1), []),
    ("at-decide-by-policy-action", True, timedelta(0), ["approve_if_clear"]),
    ("1-s-before-decide-by-no-action", True, -SEC, []),
]


@pytest.mark.parametrize(("name", "escalated", "offset", "actions"), DUE, ids=[d[0] for d in DUE])
def test_emergency_decide_by_actions(name: str, escalated: bool, offset: timedelta, actions: list[str]) -> None:
    """条例 Art. 29 (D3): decided 10 min before take-off; policy emergency.deadline_action at decide-by."""
    p = _referred_emergency(escalated)
    assert p.state is PlanState.REFERRED
    by = p.start - timedelta(minutes=10)
    assert [a.action for a in due_actions([p], by + offset, b.policy())] == actions
    reject = replace(b.policy(), emergency_deadline_action="reject")
    if actions == ["approve_if_clear"]:
        assert [a.action for a in due_actions([p], by, reject)] == ["reject"]


# ------------------------------------------------------------------ idempotency (API, PostGIS)

@pytest.mark.parametrize(("change", "status"), [(None, 200), ("ceiling", 422), ("start", 422)],
                         ids=["same-body-replays", "changed-band-refused", "changed-time-refused"])
async def test_idempotency_key_replay_and_mismatch(client: httpx.AsyncClient, operator_factory: Any,
                                                   change: str | None, status: int) -> None:
    """IETF draft-ietf-httpapi-idempotency-key-header §2.7: a reused key with another payload is 422."""
    op = await operator_factory("浮梁文旅", {"FL-001": "light_uav"})
    body = plan_body("FL-001", start=soon(30))
    headers = {**op.headers, "Idempotency-Key": "k-123"}
    first = await client.post("/plans", headers=headers, json=body)
    assert first.status_code == 201
    again = dict(body)
    if change == "ceiling":
        again["altitude"] = {"floor": {"value_m": 0, "reference": "AGL"}, "ceiling": {"value_m": 110,
                                                                                        "reference": "AGL"}}
    elif change == "start":
        again["start"], again["end"] = body["end"], (soon(90)).isoformat()
    r = await client.post("/plans", headers=headers, json=again)
    assert r.status_code == status, r.text
    if status == 200:
        assert r.headers["Idempotent-Replayed"] == "true" and r.json()["id"] == first.json()["id"]
    else:
        err = r.json()["error"]
        assert err["fields"][0]["field"] == "header.Idempotency-Key" and "k-123" in err["fields"][0]["message"]
        listed = (await client.get("/plans", headers=op.headers)).json()
        assert [p["id"] for p in listed] == [first.json()["id"]]  # nothing new was filed
