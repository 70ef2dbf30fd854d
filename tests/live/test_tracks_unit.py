"""TrackTable and report decoding: pure, millisecond tests."""

from __future__ import annotations

import numpy as np
import orjson

from lowalt.surveillance.reports import MAX_FRAME_BYTES, decode_frame
from lowalt.surveillance.tracks import TrackTable

BBOX = (115.0, 28.0, 119.5, 31.0)
NOW = 1_790_000_000.0


def _upsert(table: TrackTable, ids: list[str], t: list[float], lon: float = 117.2) -> np.ndarray:
    m = len(ids)
    z = np.zeros(m)
    return table.upsert(ids, lon=np.full(m, lon), lat=np.full(m, 29.3), alt=np.full(m, 100.0), vx=z, vy=z, vz=z,
                        t=np.array(t), t_recv=NOW).accepted


def test_upsert_grow_and_lookup() -> None:
    table = TrackTable(16)
    ids = [f"a{k}" for k in range(100)]
    assert _upsert(table, ids, [NOW] * 100).all()
    assert len(table) == 100 and table.capacity >= 100
    assert table.ids[table.slot["a57"]] == "a57"


def test_out_of_order_and_duplicates_dropped() -> None:
    table = TrackTable()
    _upsert(table, ["a"], [NOW])
    acc = _upsert(table, ["a", "a", "b", "b"], [NOW - 1, NOW, NOW + 2, NOW + 1])
    # older and equal time for "a" dropped; within the batch the newer "b" wins
    assert acc.tolist() == [False, False, True, False]
    assert table.t[table.slot["b"]] == NOW + 2


def test_swap_remove_keeps_rows_dense() -> None:
    table = TrackTable()
    _upsert(table, ["a", "b", "c"], [NOW, NOW, NOW])
    table.lon[table.slot["c"]] = 118.0
    assert table.remove("a")
    assert len(table) == 2 and set(table.ids) == {"b", "c"}
    assert table.lon[table.slot["c"]] == 118.0
    assert not table.remove("a")


def test_expire_removes_silent_tracks() -> None:
    table = TrackTable()
    _upsert(table, ["a", "b"], [NOW, NOW])
    table.t_recv[table.slot["a"]] = NOW - 30
    assert table.expire(NOW, 10.0) == ["a"]
    assert table.ids == ["b"]


def test_dirty_rows() -> None:
    table = TrackTable()
    _upsert(table, ["a", "b"], [NOW, NOW])
    assert len(table.take_dirty()) == 2
    assert len(table.take_dirty()) == 0
    _upsert(table, ["b"], [NOW + 1])
    assert [table.ids[r] for r in table.take_dirty()] == ["b"]


def _report(**over: object) -> dict[str, object]:
    r: dict[str, object] = {"id": "UAV-1", "t": NOW, "lon": 117.2, "lat": 29.3, "alt": 100, "ref": "AGL",
                            "gs": 10, "trk": 90}
    r.update(over)
    return r


def test_decode_valid_batch_and_velocity() -> None:
    b = decode_frame(orjson.dumps({"reports": [_report(), _report(id="UAV-2", vx=3.0, vy=4.0, gs=None)]}),
                     now=NOW, service_bbox=BBOX)
    assert b.errors == [] and b.ids == ["UAV-1", "UAV-2"]
    assert np.allclose([b.vx[0], b.vy[0]], [10, 0], atol=1e-9)
    assert np.allclose([b.vx[1], b.vy[1]], [3, 4])
    assert b.agl.all()


def test_decode_names_each_problem() -> None:
    frame = [
        _report(lat="x"),                       # wrong type
        {"id": "UAV-3"},                        # missing fields
        _report(lon=29.3, lat=117.2),           # swapped
        _report(t=NOW + 3600),                  # future
        _report(t=NOW - 3600),                  # far past
        _report(ref="QNH"),                     # unknown reference
        _report(gs=None),                       # no velocity
        _report(src="sonar"),                   # unknown source
        _report(t="2026-11-24T08:00:00"),       # naive timestamp
        _report(alt=1e999),                     # inf
        _report(id="UAV-OK"),
    ]
    b = decode_frame(orjson.dumps(frame), now=NOW, service_bbox=BBOX)  # orjson writes inf as null
    assert b.ids == ["UAV-OK"]
    by_index = {e.index: e for e in b.errors}
    assert by_index[0].field == "lat"
    assert by_index[1].field in {"t", "lon", "lat", "alt", "ref"}
    assert by_index[2].code == "out_of_range" and "swapped" in by_index[2].message
    assert by_index[3].code == "future_timestamp"
    assert by_index[4].code == "stale_timestamp"
    assert by_index[5].field == "ref"
    assert by_index[6].field == "gs"
    assert by_index[7].field == "src"
    assert by_index[8].field == "t"
    assert by_index[9].field == "alt"
    assert len(b.errors) >= 9


def test_decode_frame_level_errors() -> None:
    assert decode_frame(b"{nope", now=NOW, service_bbox=BBOX).errors[0].code == "malformed_json"
    assert decode_frame(b"42", now=NOW, service_bbox=BBOX).errors[0].code == "bad_frame"
    big = b" " * (MAX_FRAME_BYTES + 1)
    assert decode_frame(big, now=NOW, service_bbox=BBOX).errors[0].code == "frame_too_large"
    inf = orjson.dumps(_report()).replace(b'"alt":100', b'"alt":1e999')
    err = decode_frame(inf, now=NOW, service_bbox=BBOX).errors[0]  # JSON has no inf: the parser says so
    assert err.code == "malformed_json" and "out of range" in err.message
