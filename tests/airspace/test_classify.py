"""Verdicts: altitude references over terrain, categories, schedules, restrictions, Fuliang data."""

from __future__ import annotations

from datetime import time, timedelta

import numpy as np
import pytest
from shapely.geometry import LineString

from lowalt.airspace.index import AirspaceIndex
from lowalt.airspace.model import (
    AircraftCategory as Cat,
)
from lowalt.airspace.model import (
    AirspaceClass,
    AirspaceSet,
    Provenance,
    Restriction,
    RestrictionReason,
    Route,
    RouteKind,
    Volume,
    VolumeKind,
)
from lowalt.airspace.rules import Reason, Verdict
from lowalt.airspace.schedule import Schedule
from lowalt.geo.altitude import AGL_CODE, AMSL_CODE, AltitudeReference, agl, amsl
from lowalt.geo.terrain import FlatTerrain, GridTerrain, TerrainInfo

from .conftest import box, layers, local_time

T_DAY = local_time(2026, 6, 15, 10)  # Monday 10:00 Shanghai
HILL = (117.20, 29.30)


def hill_terrain() -> GridTerrain:
    """Flat 0 m with a 300 m Gaussian hill at HILL (sigma ~1 km)."""
    lon = 116.9 + 0.002 * np.arange(301)
    lat = 29.0 + 0.002 * np.arange(301)
    dx = (lon[None, :] - HILL[0]) * 97_000
    dy = (lat[:, None] - HILL[1]) * 111_000
    z = 300.0 * np.exp(-(dx**2 + dy**2) / (2 * 1000.0**2))
    return GridTerrain(116.9, 29.0, 0.002, 0.002, z, TerrainInfo("synthetic hill", True, 200))


def one(index: AirspaceIndex, lon: float, lat: float, alt: float, ref: AltitudeReference, cat: Cat,
        t=T_DAY, terrain=None) -> tuple[Verdict, Reason, str | None]:  # type: ignore[no-untyped-def]
    c = index.classify([lon], [lat], [alt], ref, cat, t, terrain)
    return c.verdicts()[0], c.reasons()[0], c.responsible_ids()[0]


def test_altitude_reference_over_a_hill() -> None:
    w, g = layers()
    nofly = Volume("low_nofly", "禁", "low no-fly", box(117.15, 29.25, 117.25, 29.35), agl(0), amsl(250),
                   AirspaceClass.G, VolumeKind.NO_FLY, frozenset(), None, Provenance.ILLUSTRATIVE, "test")
    idx = AirspaceIndex(AirspaceSet("t", (w, g, nofly)), hill_terrain())
    flat = (117.16, 29.26)
    # 100 m AGL on flat ground is 100 m AMSL: inside the no-fly (ceiling 250 m AMSL)
    assert one(idx, *flat, 100, AltitudeReference.AGL, Cat.MICRO_UAV)[0] is Verdict.FORBIDDEN
    # 100 m AGL over the 300 m hill top is 400 m AMSL: above the no-fly, in W -> allowed
    v, r, vid = one(idx, *HILL, 100, AltitudeReference.AGL, Cat.MICRO_UAV)
    assert (v, r, vid) == (Verdict.ALLOWED, Reason.SUITABLE_AIRSPACE, "w")
    # 350 m AMSL over the hill top is 50 m true height (W); over flat ground it is 350 m AGL (G)
    assert one(idx, *HILL, 350, AltitudeReference.AMSL, Cat.LIGHT_UAV)[0] is Verdict.ALLOWED
    assert one(idx, *flat, 350, AltitudeReference.AMSL, Cat.LIGHT_UAV)[1] is Reason.CLASS_G_APPROVAL
    c = idx.classify([HILL[0]], [HILL[1]], [100], AltitudeReference.AGL, Cat.MICRO_UAV, T_DAY)
    assert c.terrain_m[0] == pytest.approx(300, abs=1) and c.altitude_amsl[0] == pytest.approx(400, abs=1)
    assert set(c.containing_ids(0)) == {"w"}


def test_categories_in_the_w_layer() -> None:
    idx = AirspaceIndex(AirspaceSet("t", layers()), FlatTerrain(30))
    p = (117.2, 29.3)
    assert one(idx, *p, 80, AltitudeReference.AGL, Cat.MICRO_UAV)[0] is Verdict.ALLOWED
    assert one(idx, *p, 80, AltitudeReference.AGL, Cat.SMALL_UAV)[0] is Verdict.ALLOWED
    assert one(idx, *p, 80, AltitudeReference.AGL, Cat.HELICOPTER)[:2] == (
        Verdict.NEEDS_APPROVAL, Reason.CATEGORY_NOT_SUITABLE)
    assert one(idx, *p, 80, AltitudeReference.AGL, Cat.MEDIUM_UAV)[0] is Verdict.NEEDS_APPROVAL
    assert one(idx, *p, 130, AltitudeReference.AGL, Cat.MICRO_UAV)[1] is Reason.CLASS_G_APPROVAL
    assert one(idx, *p, 5000, AltitudeReference.AMSL, Cat.MICRO_UAV)[1] is Reason.NO_AIRSPACE_DATA
    assert one(idx, 100.0, 29.3, 50, AltitudeReference.AGL, Cat.MICRO_UAV)[1] is Reason.NO_AIRSPACE_DATA


def test_corridor_closed_at_night() -> None:
    w, g = layers()
    route = Route("R1", "线", "route", RouteKind.TOURISM, LineString([(117.0, 29.3), (117.4, 29.3)]), 500,
                  agl(300), agl(600), allowed_categories=frozenset({Cat.EVTOL}),
                  schedule=Schedule.daily(time(7), time(19)), provenance=Provenance.ILLUSTRATIVE, source="test")
    idx = AirspaceIndex(AirspaceSet("t", (w, g), routes=(route,)), FlatTerrain(30))
    p = (117.2, 29.301)
    assert one(idx, *p, 400, AltitudeReference.AGL, Cat.EVTOL) == (Verdict.ALLOWED, Reason.ROUTE_RELEASED, "R1")
    night = local_time(2026, 6, 15, 23)  # 15:00 UTC: daytime in UTC, night in Shanghai
    assert one(idx, *p, 400, AltitudeReference.AGL, Cat.EVTOL, night)[:2] == (
        Verdict.NEEDS_APPROVAL, Reason.CLASS_G_APPROVAL)
    # other categories keep out of a released corridor
    assert one(idx, *p, 400, AltitudeReference.AGL, Cat.SMALL_UAV)[1] is Reason.ROUTE_RESERVED
    # outside the corridor width
    assert one(idx, 117.2, 29.31, 400, AltitudeReference.AGL, Cat.EVTOL)[1] is Reason.CLASS_G_APPROVAL
    c = idx.classify([p[0]], [p[1]], [400], AltitudeReference.AGL, Cat.EVTOL, night)
    assert "R1" in c.containing_ids(0) and "R1" not in c.containing_ids(0, active_only=True)


def test_temporary_restriction_takes_effect_at_once() -> None:
    idx = AirspaceIndex(AirspaceSet("t", layers()), FlatTerrain(30))
    p = (117.2, 29.3)
    assert one(idx, *p, 60, AltitudeReference.AGL, Cat.LIGHT_UAV)[0] is Verdict.ALLOWED
    r = Restriction("TR-1", RestrictionReason.EVENT, box(117.19, 29.29, 117.21, 29.31), agl(0), agl(500),
                    T_DAY - timedelta(minutes=5), T_DAY + timedelta(hours=2), "duty-officer",
                    exempt_categories=frozenset({Cat.HELICOPTER}))
    idx.add_restriction(r)
    assert one(idx, *p, 60, AltitudeReference.AGL, Cat.LIGHT_UAV) == (
        Verdict.FORBIDDEN, Reason.TEMPORARY_RESTRICTION, "TR-1")
    assert one(idx, *p, 60, AltitudeReference.AGL, Cat.HELICOPTER)[1] is Reason.TEMPORARY_RESTRICTION_EXEMPT
    # outside [start, end): inactive
    assert one(idx, *p, 60, AltitudeReference.AGL, Cat.LIGHT_UAV, T_DAY + timedelta(hours=3))[0] is Verdict.ALLOWED
    assert one(idx, *p, 60, AltitudeReference.AGL, Cat.LIGHT_UAV, T_DAY - timedelta(hours=1))[0] is Verdict.ALLOWED
    iv = idx.intrusion_volumes(T_DAY)
    assert iv.ids == ("TR-1",) and iv.ceiling_m[0] == pytest.approx(530)
    assert idx.remove_restriction("TR-1") and not idx.remove_restriction("TR-1")
    assert one(idx, *p, 60, AltitudeReference.AGL, Cat.LIGHT_UAV)[0] is Verdict.ALLOWED
    assert idx.intrusion_volumes(T_DAY).ids == ()


def test_fuliang_data_verdicts(fuliang: AirspaceSet) -> None:
    idx = AirspaceIndex(fuliang)
    zsjd = (117.1760, 29.3386)
    assert one(idx, *zsjd, 50, AltitudeReference.AGL, Cat.MICRO_UAV) == (
        Verdict.FORBIDDEN, Reason.RESTRICTED_AREA, "zsjd_core")
    assert one(idx, *zsjd, 300, AltitudeReference.AGL, Cat.HELICOPTER)[:2] == (
        Verdict.NEEDS_APPROVAL, Reason.RESTRICTED_AUTHORISED)
    # near Yaoli, away from every overlay: W layer
    yaoli = (117.5630, 29.4800)  # 3 km south of the town, clear of the T-YAOLI drone corridor
    assert one(idx, *yaoli, 60, AltitudeReference.AGL, Cat.MICRO_UAV)[:2] == (
        Verdict.ALLOWED, Reason.SUITABLE_AIRSPACE)
    assert one(idx, *yaoli, 60, AltitudeReference.AGL, Cat.HELICOPTER)[0] is Verdict.NEEDS_APPROVAL
    # Huangshan mountain leg at 1900 m AMSL for a medium UAV, released at 10:00, not at 23:00
    leg = fuliang.route("L-HS-2").centreline.interpolate(0.5, normalized=True)
    assert one(idx, leg.x, leg.y, 1900, AltitudeReference.AMSL, Cat.MEDIUM_UAV) == (
        Verdict.ALLOWED, Reason.ROUTE_RELEASED, "L-HS-2")
    assert one(idx, leg.x, leg.y, 1900, AltitudeReference.AMSL, Cat.MEDIUM_UAV,
               local_time(2026, 6, 15, 23))[0] is Verdict.NEEDS_APPROVAL
    # 602 institute: forbidden for everyone
    assert one(idx, 117.245, 29.272, 100, AltitudeReference.AGL, Cat.HELICOPTER)[1] is Reason.NO_FLY
    # the "飞越瓷都" eVTOL route crosses controlled airspace (Fuliang GA's zone, ZSJD's area): released, it is
    # allowed for the categories it admits; a category it does not admit still needs approval
    city = fuliang.route("T-CIDU").centreline.interpolate(0.9, normalized=True)
    c = idx.classify([city.x], [city.y], [400], AltitudeReference.AGL, Cat.EVTOL, T_DAY)
    controlled = {v.id for v in fuliang.volumes if v.kind is VolumeKind.CONTROLLED}
    assert controlled & set(c.containing_ids(0, active_only=True))
    assert (c.verdicts()[0], c.reasons()[0], c.responsible_ids()[0]) == (
        Verdict.ALLOWED, Reason.ROUTE_RELEASED, "T-CIDU")
    assert one(idx, city.x, city.y, 400, AltitudeReference.AGL, Cat.MEDIUM_UAV)[:2] == (
        Verdict.NEEDS_APPROVAL, Reason.CONTROLLED_AIRSPACE)
    iv = idx.intrusion_volumes(T_DAY)
    assert {"zsjd_core", "zsjd_app_04", "zsjd_app_22", "changhe_plant", "chrdi_602"} == set(iv.ids)
    assert np.all(iv.floor_m < iv.ceiling_m)


def _reference(idx: AirspaceIndex, lon, lat, alt, ref, cat, t, terrain):  # type: ignore[no-untyped-def]
    """Slow per-point classification written independently of the vectorized path."""
    from shapely.geometry import Point

    from lowalt.airspace.index import CATEGORIES
    from lowalt.airspace.rules import NO_DATA_RULE, Tier, volume_rule
    from lowalt.geo.crs import geometry_to_local, to_local

    vols = list(idx.volumes) + [r.as_volume() for r in idx.restrictions]
    temp = [False] * len(idx.volumes) + [True] * len(idx.restrictions)
    local = [geometry_to_local(v.polygon) for v in vols]
    out = []
    for i in range(len(lon)):
        g = float(terrain.elevation(lon[i], lat[i]))
        h = alt[i] + g if ref[i] == AGL_CODE else alt[i]
        x, y = to_local(lon[i], lat[i])
        pt = Point(float(x), float(y))
        best = None
        for k, v in enumerate(vols):
            if not local[k].intersects(pt) or not v.is_active(t):
                continue
            if not (v.floor.to_amsl(g) <= h <= v.ceiling.to_amsl(g)):
                continue
            cat_ = CATEGORIES[cat[i]]
            rule = volume_rule(v.kind, v.airspace_class, cat_ in v.allowed_categories, temporary=temp[k])
            key = (rule.rank, -k)
            if best is None or key > best[0]:
                best = (key, rule, k)
        if best is None:
            out.append((NO_DATA_RULE.verdict, NO_DATA_RULE.reason, -1))
        else:
            assert best[1].tier >= Tier.LAYER
            out.append((best[1].verdict, best[1].reason, best[2]))
    return out


@pytest.mark.parametrize("use_tree", [False, True])
def test_vectorized_equals_reference(fuliang: AirspaceSet, use_tree: bool) -> None:
    from lowalt.bench.airspace import traffic
    from lowalt.geo.terrain import default_terrain

    idx = AirspaceIndex(fuliang, default_terrain())
    idx.add_restriction(Restriction("TR-9", RestrictionReason.POLICE, box(117.15, 29.26, 117.25, 29.32), agl(0),
                                    amsl(400), T_DAY - timedelta(hours=1), T_DAY + timedelta(hours=1), "police"))
    lon, lat, alt, ref, cat = traffic(fuliang, 1500, seed=7)
    # add points right on volume vertices (boundary cases) with random categories
    rng = np.random.default_rng(3)
    verts = np.vstack([np.asarray(v.polygon.exterior.coords) for v in fuliang.volumes if hasattr(v.polygon, "exterior")])
    lon = np.concatenate([lon, verts[:, 0]])
    lat = np.concatenate([lat, verts[:, 1]])
    alt = np.concatenate([alt, rng.uniform(0, 1000, len(verts))])
    ref = np.concatenate([ref, rng.choice([AGL_CODE, AMSL_CODE], len(verts))]).astype(np.int8)
    cat = np.concatenate([cat, rng.integers(0, 7, len(verts))])
    for t in (T_DAY, local_time(2026, 6, 20, 23)):
        c = idx.classify(lon, lat, alt, ref, cat, t, use_tree=use_tree)
        expected = _reference(idx, lon, lat, alt, ref, cat, t, default_terrain())
        got = list(zip(c.verdicts(), c.reasons(), c.volume.tolist(), strict=True))
        mismatches = [(i, got[i], expected[i]) for i in range(len(got)) if got[i] != expected[i]]
        assert not mismatches, mismatches[:5]
