"""Build airspace_data/fuliang/*.geojson (reproducible; re-run after editing).

    .venv/bin/python airspace_data/build_fuliang.py [OUT_DIR]

Coordinates come from airspace_data/sources/landmarks.csv where it has them (medium
confidence: OpenFlights/OurAirports/Wikipedia). Everything else is placed plausibly and
marked ``provenance: illustrative`` — replace with surveyed data (Tianditu, CGCS2000).
Geometry is constructed in local metres (EPSG:4548) and written in WGS84 lon/lat,
rounded to 1e-7 degrees, exterior rings counter-clockwise (RFC 7946 right-hand rule).
"""

from __future__ import annotations

import csv
import math
import sys
from datetime import time
from pathlib import Path

import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.polygon import orient

from lowalt.airspace.geojson import dump_airspace
from lowalt.airspace.model import (
    ALL_CATEGORIES,
    SUITABLE_AIRSPACE_CATEGORIES,
    AirspaceClass,
    AirspaceSet,
    Provenance,
    Route,
    RouteDirection,
    RouteKind,
    Vertiport,
    VertiportKind,
    Volume,
    VolumeKind,
)
from lowalt.airspace.model import (
    AircraftCategory as Cat,
)
from lowalt.airspace.schedule import ALL_DAYS, Schedule, WeeklyWindow
from lowalt.airspace.validate import SERVICE_AREA_BBOX
from lowalt.geo.altitude import agl, amsl
from lowalt.geo.crs import geometry_to_wgs84, to_local, to_wgs84
from lowalt.geo.terrain import default_terrain

HERE = Path(__file__).resolve().parent
ILL = Provenance.ILLUSTRATIVE
DER = Provenance.DERIVED

SERVICE_AREA = SERVICE_AREA_BBOX  # lon/lat bbox shared with the validator


def landmarks() -> dict[str, dict[str, str]]:
    with (HERE / "sources" / "landmarks.csv").open(encoding="utf-8") as fh:
        return {row["id"]: row for row in csv.DictReader(fh)}


LM = landmarks()


def ll(key: str) -> tuple[float, float]:
    row = LM[key]
    return float(row["lon"]), float(row["lat"])


def lm_source(key: str) -> str:
    row = LM[key]
    return f"landmarks.csv {key} ({row['confidence']} confidence): {row['source']}"


def rnd(geom):  # type: ignore[no-untyped-def]
    geom = shapely.set_precision(geom, 1e-7)
    if isinstance(geom, Polygon):
        geom = orient(geom, 1.0)
    return geom


def local_polygon(coords_xy: list[tuple[float, float]]) -> Polygon:
    return rnd(geometry_to_wgs84(Polygon(coords_xy)))


def circle(lon: float, lat: float, radius_m: float) -> Polygon:
    x, y = to_local(lon, lat)
    return rnd(geometry_to_wgs84(Point(float(x), float(y)).buffer(radius_m, quad_segs=16)))


def square(lon: float, lat: float, half_m: float, rot_deg: float = 0.0) -> Polygon:
    return runway_box(lon, lat, rot_deg, -half_m, half_m, half_m, half_m)


def runway_box(lon: float, lat: float, bearing_deg: float, along0: float, along1: float,
               half0: float, half1: float) -> Polygon:
    """Quadrilateral along a true bearing from a reference point (local metres).

    ``along0..along1`` metres along the bearing; half-width ``half0`` at along0, ``half1`` at along1.
    Grid convergence at 117.18E (< 0.1 deg) is ignored.
    """
    x0, y0 = (float(v) for v in to_local(lon, lat))
    b = math.radians(bearing_deg)
    ax, ay = math.sin(b), math.cos(b)  # along-track unit vector (east, north)
    cx, cy = ay, -ax  # cross-track unit vector (to the right)
    pts = [
        (x0 + ax * along0 - cx * half0, y0 + ay * along0 - cy * half0),
        (x0 + ax * along1 - cx * half1, y0 + ay * along1 - cy * half1),
        (x0 + ax * along1 + cx * half1, y0 + ay * along1 + cy * half1),
        (x0 + ax * along0 + cx * half0, y0 + ay * along0 + cy * half0),
    ]
    return local_polygon(pts)


def line(*pts: tuple[float, float]) -> LineString:
    return rnd(LineString(pts))


def offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    x, y = to_local(lon, lat)
    lo, la = to_wgs84(x + east_m, y + north_m)
    return round(float(lo), 7), round(float(la), 7)


def daily(h0: int, m0: int, h1: int, m1: int, days: frozenset[int] = ALL_DAYS) -> Schedule:
    return Schedule(weekly=(WeeklyWindow(days, time(h0, m0), time(h1, m1)),))


UAV_SMALL = frozenset({Cat.SMALL_UAV, Cat.MEDIUM_UAV})
MANNED = frozenset({Cat.HELICOPTER})
PASSENGER = frozenset({Cat.EVTOL, Cat.HELICOPTER})

# ---------------------------------------------------------------- places

ZSJD = ll("zsjd_arp")
ZSJD_ELEV = 34.0
RWY_BEARING = 40.0  # true, from the designator 04/22 only (landmarks_notes §1)
RWY_HALF = 1200.0  # 2400 m runway; ARP assumed at the runway midpoint
CENTRE = ll("jdz_centre")
FULIANG_SEAT = ll("fuliang_seat")
FULIANG_GA = (117.3300, 29.3000)  # illustrative site, outside the ZSJD protection rectangle
YAOLI = ll("yaoli")
HOSP1 = ll("hosp1")
HOSP2 = (117.1850, 29.2800)  # illustrative
YUYAO = offset(*CENTRE, 0.0, 300.0)  # pad near the Imperial Kiln (city-centre proxy + 300 m N)
TAOXICHUAN = (117.2250, 29.2960)  # illustrative (新厂西路150号, not geocoded)
SANBAO = (117.2200, 29.2500)  # landmarks.csv rough estimate
TEA = (117.3500, 29.4200)  # illustrative tea-garden pad
HUB_JDZ = (117.1600, 29.2550)  # illustrative logistics hub (High-tech zone / Lümeng area)
WUYUAN = ll("wuyuan")
TUNXI = ll("tunxi")
GULING = ll("guling")
SANQING_PAD = (118.0550, 28.9050)  # illustrative scenic-area pad on the Sanqingshan massif
CHANGHE = (117.2350, 29.3180)  # illustrative
CHRDI = (117.2450, 29.2720)  # illustrative
ZSTX = ll("zstx")


def terrain_at(lon: float, lat: float) -> float:
    return round(float(default_terrain().elevation(lon, lat)), 1)


# ---------------------------------------------------------------- volumes


def build_volumes() -> list[Volume]:
    lo0, la0, lo1, la1 = SERVICE_AREA
    service = rnd(Polygon([(lo0, la0), (lo1, la0), (lo1, la1), (lo0, la1)]))
    v: list[Volume] = [
        Volume("fl_w_layer", "W类空域(真高120米以下)", "Class W layer (below 120 m true height)", service,
               agl(0), agl(120), AirspaceClass.W, VolumeKind.OPEN, SUITABLE_AIRSPACE_CATEGORIES, None, DER,
               "分类方法 A6 (W: part of G below 120 m 真高 for UAVs); 条例 Art. 19 / CCAR-92 §92.511(c) (C2: "
               "suitable airspace for micro/light/small UAVs). Drawn over the whole service area; overlays take "
               "precedence by the rule table (A5: G/W exclude B/C).",
               "Horizontal extent = service-area bbox, not an official W map."),
        Volume("fl_g_layer", "G类空域", "Class G layer (120 m true height to 3000 m AMSL)", service,
               agl(120), amsl(3000), AirspaceClass.G, VolumeKind.OPEN, ALL_CATEGORIES, None, DER,
               "分类方法 A5 (G: below 300 m 真高 and below 6000 m MSL where it does not affect military/public "
               "transport). 3000 m AMSL ceiling is an illustrative working limit (cf. Hunan volumes below 3000 m, A9).",
               "Above 120 m true height is controlled airspace for UAVs (条例 Art. 19): approval needed."),
        Volume("fl_e_layer", "E类空域", "Class E layer (3000-6000 m AMSL)", service,
               amsl(3000), amsl(6000), AirspaceClass.E, VolumeKind.CONTROLLED, ALL_CATEGORIES, None, ILL,
               "分类方法 A4 (E chosen where needed); limits ILLUSTRATIVE."),
        # --- Luojia airport ZSJD
        Volume("zsjd_protection", "罗家机场净空保护区", "Luojia airport (ZSJD) protection area", runway_box(
            *ZSJD, RWY_BEARING, -(RWY_HALF + 20_000), RWY_HALF + 20_000, 10_000, 10_000),
               agl(0), amsl(ZSJD_ELEV + 900), AirspaceClass.B, VolumeKind.CONTROLLED, ALL_CATEGORIES, None, DER,
               "Rectangle: runway centreline ±10 km and runway ends +20 km (2017 Jiangxi 公安厅 notice, "
               "regulations_cn.md C1, M, old); ARP " + lm_source("zsjd_arp") + "; runway 04/22 2400 m, true bearing "
               "~040 from the designator (threshold coordinates unknown; ARP assumed at runway midpoint). Ceiling = "
               "aerodrome elevation + 900 m (A3 inner ring; B geometry for 1-runway airports NOT verified).",
               "Airport surroundings are controlled airspace (条例 Art. 19): every category needs approval."),
        Volume("zsjd_core", "罗家机场跑道核心禁飞区(无人机)", "ZSJD runway core (UAV no-fly)", runway_box(
            *ZSJD, RWY_BEARING, -(RWY_HALF + 1000), RWY_HALF + 1000, 1000, 1000),
               agl(0), amsl(ZSJD_ELEV + 900), AirspaceClass.B, VolumeKind.RESTRICTED, MANNED, None, ILL,
               "ILLUSTRATIVE dimensions (runway ±1 km, ends +1 km) around the derived runway of ZSJD.",
               "Forbidden for all UAVs and eVTOL; crewed helicopters need ATC clearance."),
        Volume("zsjd_app_04", "罗家机场04号跑道进近/22号离场区", "ZSJD RWY 04 approach / RWY 22 departure area",
               runway_box(*ZSJD, RWY_BEARING + 180, RWY_HALF + 1000, RWY_HALF + 11_000, 1000, 2500),
               agl(0), amsl(ZSJD_ELEV + 900), AirspaceClass.B, VolumeKind.RESTRICTED, MANNED, None, ILL,
               "ILLUSTRATIVE funnel 10 km beyond the SW runway end, ±1.0 km widening to ±2.5 km (approach-surface "
               "like 15% divergence); true bearing 220.",
               "Forbidden for UAVs; crewed helicopters need ATC clearance."),
        Volume("zsjd_app_22", "罗家机场22号跑道进近/04号离场区", "ZSJD RWY 22 approach / RWY 04 departure area",
               runway_box(*ZSJD, RWY_BEARING, RWY_HALF + 1000, RWY_HALF + 11_000, 1000, 2500),
               agl(0), amsl(ZSJD_ELEV + 900), AirspaceClass.B, VolumeKind.RESTRICTED, MANNED, None, ILL,
               "ILLUSTRATIVE funnel 10 km beyond the NE runway end, ±1.0 km widening to ±2.5 km; true bearing 040.",
               "Forbidden for UAVs; crewed helicopters need ATC clearance."),
        # --- Fuliang general airport
        Volume("fuliang_ga_atz", "浮梁通用机场交通地带", "Fuliang general airport traffic zone",
               circle(*FULIANG_GA, 5000), agl(0), agl(600), AirspaceClass.C, VolumeKind.CONTROLLED, ALL_CATEGORIES,
               daily(8, 0, 18, 0), ILL,
               "ILLUSTRATIVE: site unknown (landmarks_notes §2; GA airport only *planned* in the Jiangxi GA "
               "layout plan 2016-2030). 5 km radius, 600 m true height, class C assumes a tower (A4, unverified). "
               "Active during assumed operating hours 08:00-18:00 local.",
               "Outside operating hours the W/G layers apply."),
        # --- sensitive sites
        Volume("changhe_plant", "昌河飞机工业厂区限制区", "Changhe Aircraft Industries plant (restricted)",
               square(*CHANGHE, 1050, 15), agl(0), agl(600), AirspaceClass.G, VolumeKind.RESTRICTED, MANNED,
               None, ILL,
               "ILLUSTRATIVE placement and shape (433 ha per Janes, " + lm_source("changhe") + "). Military/"
               "defence-industry site -> controlled/restricted (条例 Art. 19, C1).",
               "Must be geocoded on Tianditu before operational use. Helicopters (test flights) with approval."),
        Volume("chrdi_602", "中国直升机设计研究所(602所)禁飞区", "China Helicopter R&D Institute (602) no-fly area",
               square(*CHRDI, 600, -10), agl(0), agl(600), AirspaceClass.G, VolumeKind.NO_FLY, frozenset(), None, ILL,
               "ILLUSTRATIVE placement (>2000 mu, " + lm_source("chrdi_602") + "). Classified research site "
               "(条例 Art. 19, C1).",
               "Must be geocoded before operational use."),
        Volume("jdz_city_centre", "景德镇中心城区人口密集区", "Jingdezhen dense city centre",
               circle(*CENTRE, 3000), agl(0), agl(300), AirspaceClass.G, VolumeKind.CONTROLLED, ALL_CATEGORIES,
               None, ILL,
               "ILLUSTRATIVE 3 km radius around " + lm_source("jdz_centre") + ". Overflying crowds needs an "
               "application (条例 Art. 31 ¶2, D6).",
               "Replace with the published local controlled-airspace map."),
        # --- neighbouring airports (routes end near them)
        Volume("zstx_protection", "黄山屯溪机场保护区", "Huangshan Tunxi airport (ZSTX) protection area",
               circle(*ZSTX, 10_000), agl(0), amsl(130 + 900), AirspaceClass.B, VolumeKind.CONTROLLED,
               ALL_CATEGORIES, None, ILL,
               "ILLUSTRATIVE 10 km circle (runway unknown here) around " + lm_source("zstx") + "; elevation "
               "~130 m assumed.",
               "Replace with the rectangle from the runway geometry."),
    ]
    return v


# ---------------------------------------------------------------- vertiports


def build_vertiports() -> list[Vertiport]:
    day = daily(8, 0, 18, 0)
    tour = daily(8, 0, 17, 30)
    p = [
        Vertiport("zsjd", "景德镇罗家机场", "Jingdezhen Luojia Airport (ZSJD)", VertiportKind.AIRPORT,
                  Point(ZSJD), ZSJD_ELEV, 4, None, frozenset({Cat.HELICOPTER}), DER, lm_source("zsjd_arp") +
                  "; capacity for helicopter/GA movements is illustrative"),
        Vertiport("fuliang_ga", "浮梁通用机场", "Fuliang general airport", VertiportKind.AIRPORT,
                  Point(FULIANG_GA), terrain_at(*FULIANG_GA), 12, day,
                  frozenset({Cat.HELICOPTER, Cat.EVTOL, Cat.LARGE_UAV, Cat.MEDIUM_UAV}), ILL,
                  "ILLUSTRATIVE site: no coordinates exist (landmarks_notes §2); elevation from the approximate terrain"),
        Vertiport("hosp1_pad", "景德镇市第一人民医院直升机停机坪", "No.1 People's Hospital helipad",
                  VertiportKind.HELIPAD, Point(HOSP1), terrain_at(*HOSP1), 2, None,
                  frozenset({Cat.HELICOPTER, Cat.EVTOL, Cat.MEDIUM_UAV, Cat.SMALL_UAV}), ILL,
                  lm_source("hosp1") + "; helipad existence assumed"),
        Vertiport("hosp2_pad", "景德镇市第二人民医院直升机停机坪", "No.2 People's Hospital helipad",
                  VertiportKind.HELIPAD, Point(HOSP2), terrain_at(*HOSP2), 2, None,
                  frozenset({Cat.HELICOPTER, Cat.MEDIUM_UAV, Cat.SMALL_UAV}), ILL,
                  "ILLUSTRATIVE: " + lm_source("hosp2")),
        Vertiport("pad_yaoli", "瑶里古镇起降点", "Yaoli ancient town pad", VertiportKind.VERTIPORT,
                  Point(offset(*YAOLI, -400, -300)), terrain_at(*YAOLI), 6, tour,
                  frozenset({Cat.EVTOL, Cat.HELICOPTER, Cat.LIGHT_UAV, Cat.SMALL_UAV, Cat.MEDIUM_UAV}), ILL,
                  "town point " + lm_source("yaoli") + "; pad offset 500 m SW is illustrative"),
        Vertiport("pad_yuyao", "御窑厂起降点", "Imperial Kiln site pad", VertiportKind.TEMPORARY_PAD,
                  Point(YUYAO), terrain_at(*YUYAO), 2, tour, frozenset({Cat.LIGHT_UAV, Cat.EVTOL}), ILL,
                  "ILLUSTRATIVE: city-centre proxy + 300 m N; " + lm_source("imperial_kiln")),
        Vertiport("pad_taoxichuan", "陶溪川起降点", "Taoxichuan pad", VertiportKind.TEMPORARY_PAD,
                  Point(TAOXICHUAN), terrain_at(*TAOXICHUAN), 2, tour, frozenset({Cat.LIGHT_UAV, Cat.EVTOL}), ILL,
                  "ILLUSTRATIVE: " + lm_source("taoxichuan")),
        Vertiport("pad_yamen", "浮梁古县衙起降点", "Fuliang ancient Yamen pad", VertiportKind.TEMPORARY_PAD,
                  Point(offset(*FULIANG_SEAT, 0, -400)), terrain_at(*FULIANG_SEAT), 2, tour,
                  frozenset({Cat.LIGHT_UAV, Cat.EVTOL, Cat.HELICOPTER}), ILL,
                  "ILLUSTRATIVE: county-seat proxy; " + lm_source("fuliang_yamen")),
        Vertiport("pad_tea", "浮梁茶园起降点", "Fuliang tea garden pad", VertiportKind.TEMPORARY_PAD,
                  Point(TEA), terrain_at(*TEA), 2, tour, frozenset({Cat.LIGHT_UAV, Cat.EVTOL, Cat.HELICOPTER}), ILL,
                  "ILLUSTRATIVE: " + lm_source("fuliang_tea")),
        Vertiport("hub_jdz", "景德镇物流无人机枢纽", "Jingdezhen drone logistics hub", VertiportKind.VERTIPORT,
                  Point(HUB_JDZ), terrain_at(*HUB_JDZ), 8, daily(6, 0, 22, 0),
                  frozenset({Cat.SMALL_UAV, Cat.MEDIUM_UAV, Cat.LARGE_UAV}), ILL,
                  "ILLUSTRATIVE site near the High-tech zone / Aviation Town (" + lm_source("aviation_town") + ")"),
        Vertiport("hub_wuyuan", "婺源物流起降点", "Wuyuan logistics pad", VertiportKind.VERTIPORT,
                  Point(WUYUAN), terrain_at(*WUYUAN), 4, daily(6, 0, 22, 0), UAV_SMALL, ILL,
                  "town point " + lm_source("wuyuan") + "; pad site illustrative"),
        Vertiport("hub_tunxi", "黄山屯溪物流起降点", "Huangshan Tunxi logistics pad", VertiportKind.VERTIPORT,
                  Point(TUNXI), terrain_at(*TUNXI), 4, daily(6, 0, 22, 0), UAV_SMALL, ILL,
                  "district point " + lm_source("tunxi") + "; pad site illustrative"),
        Vertiport("hub_lushan", "庐山牯岭起降点", "Lushan Guling pad", VertiportKind.VERTIPORT,
                  Point(GULING), 1000.0, 2, daily(7, 0, 19, 0), UAV_SMALL, ILL,
                  "town point and ~1000 m elevation " + lm_source("guling")),
        Vertiport("pad_sanqing", "三清山景区起降点", "Sanqingshan scenic area pad", VertiportKind.VERTIPORT,
                  Point(SANQING_PAD), terrain_at(*SANQING_PAD), 2, daily(7, 0, 18, 0), UAV_SMALL, ILL,
                  "ILLUSTRATIVE pad on the massif near " + lm_source("sanqingshan")),
    ]
    return p


# ---------------------------------------------------------------- routes

WP_HS = (117.5500, 29.4000)  # Huangshan route: end of the lowland leg (illustrative)
WP_SQ = (117.7000, 29.0500)  # Sanqingshan route: end of the lowland leg (illustrative)
WP_LS = (116.1000, 29.5200)  # Lushan route: foot of the massif (illustrative)

CONVENTION = ("altitude band by the Chinese planning convention (regulations_cn.md I5, M, not law): <=120 m light "
              "drones, 120-300 m industry/logistics drones, >=300 m passenger eVTOL")


def build_routes() -> list[Route]:
    yamen_pad = offset(*FULIANG_SEAT, 0, -400)
    yaoli_pad = offset(*YAOLI, -400, -300)
    day = daily(8, 0, 18, 0)
    logistics = daily(6, 0, 22, 0)
    r = [
        Route("T-CIDU", "飞越瓷都", "Flying over the Porcelain Capital", RouteKind.TOURISM,
              line(FULIANG_GA, TAOXICHUAN, YUYAO, SANBAO, FULIANG_GA), 500, agl(300), agl(600),
              RouteDirection.ONE_WAY, PASSENGER, day, "fuliang_ga", "fuliang_ga", frozenset({"E-FLGA-HOSP1"}),
              AirspaceClass.G, ILL, "ILLUSTRATIVE sightseeing loop over 陶溪川, 御窑厂遗址, 三宝; " + CONVENTION),
        Route("T-YAOLI", "瑶里古镇观光航线", "Yaoli ancient town sightseeing loop", RouteKind.TOURISM,
              line(yaoli_pad, offset(*YAOLI, 1500, 800), offset(*YAOLI, 2500, 2500), offset(*YAOLI, 300, 2000),
                   yaoli_pad), 200, agl(30), agl(120), RouteDirection.ONE_WAY,
              frozenset({Cat.LIGHT_UAV, Cat.SMALL_UAV}), daily(8, 0, 17, 30), "pad_yaoli", "pad_yaoli", frozenset(),
              AirspaceClass.W, ILL, "ILLUSTRATIVE drone sightseeing loop over 瑶里古镇; " + CONVENTION),
        Route("T-YAOLI-EVTOL", "瓷都—瑶里空中游览航线", "Fuliang GA - Yaoli eVTOL sightseeing route",
              RouteKind.TOURISM, line(FULIANG_GA, (117.4500, 29.4200), yaoli_pad), 500, agl(300), agl(600),
              RouteDirection.TWO_WAY, PASSENGER,
              Schedule(weekly=(WeeklyWindow(frozenset({5, 6, 7}), time(8, 30), time(17, 0)),)),
              "fuliang_ga", "pad_yaoli", frozenset(), AirspaceClass.G, ILL,
              "ILLUSTRATIVE weekend (Fri-Sun) eVTOL sightseeing route; " + CONVENTION),
        Route("T-TEA", "浮梁茶园航线", "Fuliang tea garden route", RouteKind.TOURISM,
              line(yamen_pad, (117.2900, 29.3900), TEA), 300, agl(300), agl(500), RouteDirection.TWO_WAY,
              PASSENGER, Schedule(weekly=(WeeklyWindow(frozenset({6, 7}), time(9, 0), time(17, 0)),)),
              "pad_yamen", "pad_tea", frozenset(), AirspaceClass.G, ILL,
              "ILLUSTRATIVE weekend route 浮梁古县衙 -> 浮梁茶园; " + CONVENTION),
        Route("L-WUYUAN-OUT", "景德镇—婺源物流航线(去程)", "Jingdezhen - Wuyuan logistics (outbound)",
              RouteKind.LOGISTICS, line(HUB_JDZ, (117.5000, 29.2400), WUYUAN), 300, agl(150), agl(200),
              RouteDirection.ONE_WAY, UAV_SMALL, logistics, "hub_jdz", "hub_wuyuan", frozenset(), AirspaceClass.G,
              ILL, "ILLUSTRATIVE; outbound/inbound separated by altitude (CCAR-92 §92.513, F3); " + CONVENTION),
        Route("L-WUYUAN-IN", "婺源—景德镇物流航线(回程)", "Wuyuan - Jingdezhen logistics (inbound)",
              RouteKind.LOGISTICS, line(WUYUAN, (117.5000, 29.2400), HUB_JDZ), 300, agl(230), agl(280),
              RouteDirection.ONE_WAY, UAV_SMALL, logistics, "hub_wuyuan", "hub_jdz", frozenset(), AirspaceClass.G,
              ILL, "ILLUSTRATIVE; same track as L-WUYUAN-OUT, 30 m above it; " + CONVENTION),
        Route("L-HS-1", "景德镇—黄山物流航线(平原段)", "Jingdezhen - Huangshan logistics (lowland leg)",
              RouteKind.LOGISTICS, line(HUB_JDZ, (117.3500, 29.3400), WP_HS), 300, agl(150), agl(250),
              RouteDirection.TWO_WAY, UAV_SMALL, logistics, "hub_jdz", None, frozenset(), AirspaceClass.G, ILL,
              "ILLUSTRATIVE; " + CONVENTION),
        Route("L-HS-2", "景德镇—黄山物流航线(山区段)", "Jingdezhen - Huangshan logistics (mountain leg)",
              RouteKind.LOGISTICS, line(WP_HS, (117.9800, 29.5700), TUNXI), 500, amsl(1800), amsl(2000),
              RouteDirection.TWO_WAY, UAV_SMALL, logistics, None, "hub_tunxi", frozenset(), AirspaceClass.G, ILL,
              "ILLUSTRATIVE; crosses the Fuliang/Xiuning/Wuyuan border massif (五股尖 1618 m, 六股尖 1630 m; "
              "landmarks_notes §4 recommends >=1700 m AMSL): band AMSL above terrain"),
        Route("L-SQ-1", "景德镇—三清山物流航线(平原段)", "Jingdezhen - Sanqingshan logistics (lowland leg)",
              RouteKind.LOGISTICS, line(HUB_JDZ, WP_SQ), 300, agl(150), agl(250), RouteDirection.TWO_WAY,
              UAV_SMALL, logistics, "hub_jdz", None, frozenset(), AirspaceClass.G, ILL, "ILLUSTRATIVE; " + CONVENTION),
        Route("L-SQ-2", "景德镇—三清山物流航线(山区段)", "Jingdezhen - Sanqingshan logistics (mountain leg)",
              RouteKind.LOGISTICS, line(WP_SQ, SANQING_PAD), 500, amsl(1950), amsl(2150), RouteDirection.TWO_WAY,
              UAV_SMALL, daily(7, 0, 18, 0), None, "pad_sanqing", frozenset(), AirspaceClass.G, ILL,
              "ILLUSTRATIVE; Sanqingshan massif to 1817 m (landmarks.csv sanqingshan): band AMSL above terrain"),
        Route("L-LS-1", "景德镇—庐山物流航线(平原段)", "Jingdezhen - Lushan logistics (lake-plain leg)",
              RouteKind.LOGISTICS, line(HUB_JDZ, (116.7000, 29.3500), WP_LS), 300, agl(150), agl(250),
              RouteDirection.TWO_WAY, UAV_SMALL, logistics, "hub_jdz", None, frozenset(), AirspaceClass.G, ILL,
              "ILLUSTRATIVE; over the Poyang lake plain; " + CONVENTION),
        Route("L-LS-2", "景德镇—庐山物流航线(山区段)", "Jingdezhen - Lushan logistics (mountain leg)",
              RouteKind.LOGISTICS, line(WP_LS, GULING), 500, amsl(1550), amsl(1700), RouteDirection.TWO_WAY,
              UAV_SMALL, daily(7, 0, 19, 0), None, "hub_lushan", frozenset(), AirspaceClass.G, ILL,
              "ILLUSTRATIVE; Lushan peaks to 1474 m, Guling ~1000 m (landmarks.csv): band AMSL above terrain; "
              "final descent to the Guling pad is outside the band (needs approval)"),
        Route("E-YAOLI-HOSP1", "瑶里—市一医院应急航线", "Yaoli - No.1 Hospital emergency route", RouteKind.EMERGENCY,
              line(yaoli_pad, (117.4000, 29.4300), HOSP1), 300, agl(260), agl(300), RouteDirection.TWO_WAY,
              frozenset({Cat.SMALL_UAV, Cat.MEDIUM_UAV}), None, "pad_yaoli", "hosp1_pad", frozenset({"L-HS-1"}),
              AirspaceClass.G, ILL, "ILLUSTRATIVE medical-supply drone route, always released (emergency, D3)"),
        Route("E-FLGA-HOSP1", "浮梁通用机场—市一医院应急航线", "Fuliang GA - No.1 Hospital emergency route",
              RouteKind.EMERGENCY, line(FULIANG_GA, HOSP1), 500, agl(300), agl(600), RouteDirection.TWO_WAY,
              PASSENGER, None, "fuliang_ga", "hosp1_pad", frozenset({"T-CIDU"}), AirspaceClass.G, ILL,
              "ILLUSTRATIVE air-ambulance route, always released (D3)"),
        Route("E-ZSJD-HOSP2", "罗家机场—市二医院应急航线", "ZSJD - No.2 Hospital emergency route",
              RouteKind.EMERGENCY, line(ZSJD, HOSP2), 500, agl(300), agl(600), RouteDirection.TWO_WAY,
              MANNED, None, "zsjd", "hosp2_pad", frozenset(), AirspaceClass.G, ILL,
              "ILLUSTRATIVE medevac transfer route for crewed helicopters (D3, D9)"),
    ]
    return r


# ---------------------------------------------------------------- files


def metadata(kind: str, items: list) -> dict[str, object]:  # type: ignore[type-arg]
    ill = sorted(i.id for i in items if i.provenance is Provenance.ILLUSTRATIVE)
    return {
        "area": "fuliang",
        "collection": kind,
        "crs": "WGS84 lon/lat (EPSG:4326 = CGCS2000 at this accuracy); altitudes in metres with floor_ref/ceiling_ref",
        "generated_by": "airspace_data/build_fuliang.py",
        "illustrative_feature_ids": ill,
        "derived_feature_ids": sorted(i.id for i in items if i.provenance is Provenance.DERIVED),
        "official_feature_ids": sorted(i.id for i in items if i.provenance is Provenance.OFFICIAL),
        "warning": "NOT FOR OPERATIONAL USE: no AIP/NAIP data; illustrative features are plausible placements only.",
        "sources": [
            "airspace_data/sources/landmarks.csv (OpenFlights/OurAirports, Wikipedia/Wikivoyage, gazetteers)",
            "docs/reference/regulations_cn.md sections A, B, C, F, I (国家空域基础分类方法; 条例 Art. 19, 62; "
            "CCAR-92; 2017 Jiangxi airport protection notice)",
            "airspace_data/terrain/spot_heights.csv via lowalt.geo.terrain.default_terrain (approximate)",
        ],
        "service_area_bbox": list(SERVICE_AREA),
    }


def build() -> AirspaceSet:
    vols = build_volumes()
    pts = build_vertiports()
    routes = build_routes()
    return AirspaceSet("fuliang", tuple(vols), tuple(pts), tuple(routes), (), {
        "volumes.geojson": metadata("volumes", vols),
        "points.geojson": metadata("points", pts),
        "routes.geojson": metadata("routes", routes),
    })


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else HERE / "fuliang"
    aset = build()
    dump_airspace(aset, out)
    print(f"wrote {len(aset.volumes)} volumes, {len(aset.vertiports)} points, {len(aset.routes)} routes to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
