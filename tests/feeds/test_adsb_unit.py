"""The pure ADS-B decoder: Beast frames (DF17 checked by pyModeS) and SBS lines (dump1090's format)."""

from __future__ import annotations

from lowalt.feeds.adsb import AdsbDecoder
from lowalt.feeds.modes_encode import beast, identification, position, velocity

RX = (29.35, 117.20)


def test_altitude_reference_baro_with_qnh_then_geometric_with_the_gnss_difference() -> None:
    d = AdsbDecoder(RX, qnh_hpa=1023.25, geoid_undulation_m=-5.0)
    [baro] = d.feed(beast(position("780A3B", 29.3, 117.25, 1000, 0)), 100.0).reports
    assert abs(baro.alt - (1000 * 0.3048 + 8.23 * 10)) < 1e-6 and baro.cat == "crewed_ga"
    d.feed(beast(velocity("780A3B", 0, 100, 0, -200)), 101.0)
    [geo] = d.feed(beast(position("780A3B", 29.3, 117.25, 1000, 1)), 102.0).reports
    assert abs(geo.alt - (800 * 0.3048 + 5.0)) < 1e-6  # (baro + GNSS-baro) above the ellipsoid, minus N
    assert abs(geo.vy - 100 * 1852 / 3600) < 0.01 and abs(geo.vx) < 1e-9


def test_bad_crc_is_counted_and_the_stream_resyncs() -> None:
    d = AdsbDecoder(RX)
    good = position("780A3B", 29.3, 117.25, 1000, 0)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    res = d.feed(b"junk" + beast(bad) + beast(identification("780A3B", "B7423")) + beast(good), 5.0)
    assert res.malformed == 1 and len(res.reports) == 1 and res.reports[0].cat == "helicopter"


def test_sbs_lines_from_dump1090() -> None:
    d = AdsbDecoder(RX, fmt="sbs")
    lines = (b"MSG,1,111,11111,780A3B,111111,2026/11/30,08:00:00.000,2026/11/30,08:00:00.000,B7423,,,,,,,,,,,0\n"
             b"MSG,4,111,11111,780A3B,111111,2026/11/30,08:00:00.100,2026/11/30,08:00:00.100,,,80,90.0,,,-128,,,,,0\n"
             b"MSG,3,111,11111,780A3B,111111,2026/11/30,08:00:00.200,2026/11/30,08:00:00.200,,1000,,,29.30000,117.25000"
             b",,,0,0,0,0\nMSG,3,partial")
    res = d.feed(lines, 7.0)
    [rep] = res.reports
    assert (rep.lat, rep.lon, rep.alt, rep.src) == (29.3, 117.25, 304.8, "adsb")
    assert abs(rep.vx - 80 * 1852 / 3600) < 1e-9 and abs(rep.vs + 128 * 0.3048 / 60) < 1e-9
    assert d.aircraft["780A3B"].callsign == "B7423" and res.frames == 3
