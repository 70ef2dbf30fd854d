"""Millisecond tests of the reroute offered when a new restriction withdraws an approved plan
(``lowalt.filing.alternatives.after_withdrawal``, issue #19): each kind it offers would be approved as
filed again, and it says nothing when nothing can be offered."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from shapely.geometry import LineString, Point, box, shape

from lowalt.airspace.model import Restriction, RestrictionReason
from lowalt.filing.airspace_view import AirspaceView
from lowalt.filing.alternatives import after_withdrawal
from lowalt.filing.evaluation import Verdict, evaluate
from lowalt.filing.model import FlightPlan
from lowalt.geo.altitude import Altitude, AltitudeReference, agl
from lowalt.geo.terrain import default_terrain
from tests.filing.test_filing_unit import NOW, _aset, facts, plan


def _view(polygon: Any, floor: float = 0, ceiling: float = 500, hours: float = 6) -> AirspaceView:
    view = AirspaceView(_aset(), default_terrain())
    view.index.add_restriction(Restriction(
        id="mil.v1", reason=RestrictionReason.OTHER, polygon=polygon, floor=agl(floor), ceiling=agl(ceiling),
        start=NOW, end=NOW + timedelta(hours=hours), created_by="military/duty"))
    return view


def _refiled(p: FlightPlan, alt: dict[str, Any]) -> FlightPlan:
    """The plan as the operator would file it again from one alternative."""
    if alt["kind"] in ("route", "location"):
        p = replace(p, geometry=shape(alt["geometry"]))
        if alt["kind"] == "location":
            p = replace(p, takeoff=shape(alt["takeoff"]), landing=shape(alt["landing"]))
    if alt["kind"] == "altitude":
        p = replace(p, floor=Altitude(alt["floor"]["value_m"], AltitudeReference(alt["floor"]["reference"])),
                    ceiling=Altitude(alt["ceiling"]["value_m"], AltitudeReference(alt["ceiling"]["reference"])))
    if "start" in alt:
        p = replace(p, start=datetime.fromisoformat(alt["start"]), end=datetime.fromisoformat(alt["end"]))
    return p


def test_a_narrow_area_offers_a_route_around_it_and_a_later_start() -> None:
    f = replace(facts(), airspace=_view(box(117.612, 29.30, 117.618, 29.33), hours=2))
    p = plan()
    assert evaluate(p, f, registry=False)[0].verdict is Verdict.REJECTED
    alts = after_withdrawal(p, f)
    assert {"route", "time"} <= {a["kind"] for a in alts}
    for a in alts:
        assert a["expected"] == "approved" and a["message_zh"] and a["message_en"]
        d, _ = evaluate(_refiled(p, a), f, registry=False)
        assert d.verdict is Verdict.APPROVED, (a, d.reasons)
    when = next(a for a in alts if a["kind"] == "time")
    assert datetime.fromisoformat(when["start"]) >= NOW + timedelta(hours=2)  # 以上: at its end or later


def test_a_shallow_area_offers_another_band() -> None:
    f = replace(facts(), airspace=_view(box(117.55, 29.25, 117.70, 29.40), floor=0, ceiling=60))
    p = plan(ceiling=agl(40))
    alts = after_withdrawal(p, f)
    band = next(a for a in alts if a["kind"] == "altitude")
    assert band["floor"]["value_m"] > 60
    assert evaluate(_refiled(p, band), f, registry=False)[0].verdict is Verdict.APPROVED


def test_an_area_over_the_whole_footprint_moves_it_out() -> None:
    f = replace(facts(), airspace=_view(box(117.58, 29.28, 117.66, 29.38)))
    p = plan()
    alts = after_withdrawal(p, f)
    moved = next(a for a in alts if a["kind"] == "location")
    refiled = _refiled(p, moved)
    assert not refiled.geometry.intersects(box(117.58, 29.28, 117.66, 29.38))
    assert evaluate(refiled, f, registry=False)[0].verdict is Verdict.APPROVED


def test_nothing_to_offer_is_an_empty_list() -> None:
    """Every way out closed: the area covers the service area far beyond the move limit, every band and
    the whole search horizon."""
    f = replace(facts(), airspace=_view(box(115.0, 27.0, 120.0, 31.0), ceiling=3000, hours=72))
    p = plan(coords=[(117.60, 29.30), (117.63, 29.32)])
    assert isinstance(p.geometry, LineString) and isinstance(p.takeoff, Point)
    assert after_withdrawal(p, f) == []
