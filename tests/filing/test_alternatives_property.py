"""Property: every alternative offered, filed again exactly as suggested, is approved.

Plans are drawn over the Fuliang data (open W, the Luojia zones, the 602 no-fly area, the plain,
logistics routes), with bands across the 50/120 m boundaries in AGL and AMSL, windows across the
12:00 cut-off and night, some aircraft already booked and some airspace already taken. Each
alternative of each decision is re-filed through the same rules (registry included) and must be
approved; an alternative that would not be is a bug (it must not be offered).
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lowalt.filing.decision import Verdict, decide, evaluate
from lowalt.filing.deconfliction import Entry
from lowalt.filing.model import footprint
from lowalt.filing.rules import Booking
from lowalt.geo.altitude import Altitude, AltitudeReference
from tests.filing import builders as b

PLACES = [b.OPEN_W, b.PLAIN, b.NO_FLY_602, [(117.14, 29.36), (117.21, 29.33)], b.WUYUAN_OUT, b.YAOLI_ROUTE,
          [(117.23, 29.28), (117.25, 29.27)]]
CATEGORY = {"micro_uav": None, "light_uav": None, "small_uav": "S-1", "medium_uav": "M-1"}


@st.composite
def cases(draw: st.DrawFn) -> tuple[object, object]:
    coords = draw(st.sampled_from(PLACES))
    category = draw(st.sampled_from(sorted(CATEGORY)))
    mission = draw(st.sampled_from(["tourism", "agriculture", "logistics", "medical", "survey"]))
    ref = draw(st.sampled_from([AltitudeReference.AGL, AltitudeReference.AMSL]))
    ceiling = draw(st.sampled_from([40.0, 50.0, 50.01, 100.0, 120.0, 120.01, 150.0, 190.0]))
    floor = draw(st.sampled_from([0.0, 20.0])) if ceiling < 150 else 150.0
    start = b.NOW + timedelta(minutes=draw(st.integers(0, 3 * 24 * 4)) * 15)
    minutes = draw(st.sampled_from([15, 30, 90]))
    p = b.plan(coords, start=start, minutes=minutes, category=category, licence_id=CATEGORY[category],
               mission=mission, half_width_m=100 if coords is b.WUYUAN_OUT else 50)
    if ref is AltitudeReference.AMSL:
        fp = footprint(p, b.view().terrain)
        p = b.replace(p, floor=Altitude(fp.ground_max + floor, ref), ceiling=Altitude(fp.ground_min + ceiling, ref))
    else:
        p = b.replace(p, floor=Altitude(floor, ref), ceiling=Altitude(ceiling, ref))
    facts = b.facts(category=category)
    if draw(st.booleans()):  # the same aircraft is already booked near that time
        t = start + timedelta(minutes=draw(st.integers(-60, 60)))
        facts.bookings.append(Booking("booked", "a1", None, t, t + timedelta(minutes=30)))
    if draw(st.booleans()):  # someone else holds the same airspace
        fp = footprint(p, b.view().terrain)
        facts.index.add(Entry("held", fp.area, fp.floor_amsl, fp.ceiling_amsl, fp.start_s, fp.end_s, 1,
                              floor_agl=fp.floor_agl, ceiling_agl=fp.ceiling_agl))
    return p, facts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(cases())
def test_every_alternative_refiled_as_suggested_is_approved(case: tuple[object, object]) -> None:
    p, facts = case
    d, _ = decide(p, facts)  # type: ignore[arg-type]
    for alt in d.alternatives:
        assert alt["expected"] == "approved"
        again = b.refile(p, alt)  # type: ignore[arg-type]
        d2, _ = evaluate(again, facts)  # type: ignore[arg-type]
        assert d2.verdict is Verdict.APPROVED, (alt, [(r.code, r.message_en) for r in d2.reasons])


def test_the_property_is_not_vacuous() -> None:
    """The generated space does produce every kind of alternative (a property over none proves nothing)."""
    kinds: set[str] = set()
    samples = [
        (b.plan(ceiling=b.agl(120.01)), b.facts()),
        (b.plan(b.NO_FLY_602), b.facts()),
        (b.plan(mission="agriculture", start=b.local(0, 19, 45)), b.facts()),
        (b.plan(start=b.local(0, 10, 10)), b.facts(bookings=[Booking("x", "a1", None, b.local(0, 10),
                                                                     b.local(0, 10, 30))])),
    ]
    for p, facts in samples:
        d, _ = decide(p, facts)
        kinds |= {a["kind"] for a in d.alternatives}
    assert {"altitude", "location", "time"} <= kinds
