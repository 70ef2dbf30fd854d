"""The pure MAVLink decoder, with packets built by pymavlink itself."""

from __future__ import annotations

import os

os.environ.setdefault("MAVLINK20", "1")
from pymavlink.dialects.v20 import common as mav  # noqa: E402

from lowalt.feeds.mavlink import MavlinkDecoder  # noqa: E402

KEY = bytes(range(32))
NOW = 1_790_000_000.0


def _tx(sysid: int = 7, key: bytes | None = KEY) -> mav.MAVLink:
    tx = mav.MAVLink(None, srcSystem=sysid, srcComponent=1)
    if key is not None:
        tx.signing.secret_key, tx.signing.sign_outgoing, tx.signing.timestamp = key, True, 1000
    return tx


def _pos(tx: mav.MAVLink, boot_ms: int = 5000) -> bytes:
    return bytes(tx.global_position_int_encode(boot_ms, 292600000, 1172300000, 150000, 100000, 0, 0, 0, 0).pack(tx))


def test_refusals_are_counted_by_reason_and_good_packets_in_the_same_datagram_survive() -> None:
    d = MavlinkDecoder({7: ("A", KEY)})
    datagram = _pos(_tx(key=None)) + _pos(_tx(sysid=9)) + _pos(_tx()) + b"\xfd\x40trunc"
    res = d.feed(datagram, NOW)
    assert res.refused == {"unsigned": 1, "unknown_system": 1, "malformed": 1}
    assert [r.id for r in res.reports] == ["A"] and res.packets == 4
    corrupt = bytearray(_pos(_tx()))
    corrupt[15] ^= 0xFF  # payload byte: the CRC fails
    assert d.feed(bytes(corrupt), NOW).refused == {"malformed": 1}


def test_system_time_aligns_report_time_and_landing_is_sent_at_once() -> None:
    d, tx = MavlinkDecoder({7: ("A", KEY)}), _tx()
    d.feed(bytes(tx.system_time_encode(int((NOW - 1.0) * 1e6), 4000).pack(tx)), NOW)  # boot at NOW - 5 s
    d.feed(bytes(tx.extended_sys_state_encode(0, mav.MAV_LANDED_STATE_IN_AIR).pack(tx)), NOW)
    rep = d.feed(_pos(tx, boot_ms=4500), NOW).reports[0]
    assert rep.t == NOW - 0.5 and rep.landed is False and rep.ref == "AMSL" and rep.alt == 150.0
    landed = d.feed(bytes(tx.extended_sys_state_encode(0, mav.MAV_LANDED_STATE_ON_GROUND).pack(tx)), NOW).reports
    assert len(landed) == 1 and landed[0].landed is True and landed[0].t == NOW


def test_a_bad_feeds_file_names_the_place() -> None:
    import pytest

    from lowalt.feeds.config import FeedsConfigError, parse_feeds

    gw = {"listen": "127.0.0.1:0", "organisation": "o", "systems": {7: {"aircraft": "A", "key_hex": "00" * 31}}}
    with pytest.raises(FeedsConfigError, match=r"mavlink\[0\]\.systems\.7: a signing key is 32 bytes"):
        parse_feeds({"mavlink": [gw]})
    with pytest.raises(FeedsConfigError, match=r"mavlink\[0\]: KeyError"):
        parse_feeds({"mavlink": [gw | {"systems": {7: {"key_hex": "00" * 32}}}]})
    assert parse_feeds({"mavlink": [gw | {"systems": {7: {"aircraft": "A", "key_hex": "00" * 32}}}]}).mavlink[0].port == 0


def test_gps_raw_int_is_used_only_without_the_fused_position() -> None:
    d, tx = MavlinkDecoder({7: ("A", KEY)}), _tx()
    raw = bytes(tx.gps_raw_int_encode(int((NOW - 0.2) * 1e6), 3, 292600000, 1172300000, 150000, 100, 100, 1234,
                                      9000, 10).pack(tx))
    [rep] = d.feed(raw, NOW).reports
    assert (rep.t, rep.alt, rep.ref, rep.gs, rep.trk) == (NOW - 0.2, 150.0, "AMSL", 12.34, 90.0)
    no_fix = bytes(tx.gps_raw_int_encode(int(NOW * 1e6), 1, 0, 0, 0, 100, 100, 0, 0, 0).pack(tx))
    assert d.feed(no_fix, NOW).reports == []
    d.feed(_pos(tx), NOW)
    again = bytes(tx.gps_raw_int_encode(int(NOW * 1e6), 3, 292600000, 1172300000, 150000, 100, 100, 1234, 9000,
                                        10).pack(tx))
    res = d.feed(again, NOW)
    assert res.reports == [] and res.refused == {}  # GLOBAL_POSITION_INT seen: the raw fix is no second position
    assert d.feed(again, NOW).refused == {"bad_signature": 1}  # the same signed packet again: a replay
