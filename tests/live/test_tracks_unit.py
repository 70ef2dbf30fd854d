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


def test_out_of_order_never_moves_a_track_back_and_duplicates_are_flagged() -> None:
    table = TrackTable()
    _upsert(table, ["a"], [NOW])
    z = np.zeros(4)
    res = table.upsert(["a", "a", "b", "b"], lon=np.full(4, 117.2), lat=np.full(4, 29.3), alt=np.full(4, 100.0),
                       vx=z, vy=z, vz=z, t=np.array([NOW - 1, NOW, NOW + 2, NOW + 1]), t_recv=NOW)
    # "a" older: late (history only); "a" same time: duplicate; within the batch the newer "b" wins
    assert res.accepted.tolist() == [False, False, True, False]
    assert res.late.tolist() == [True, False, False, True]
    assert res.duplicate.tolist() == [False, True, False, False]
    assert table.t[table.slot["a"]] == NOW and table.t[table.slot["b"]] == NOW + 2


def test_swap_remove_keeps_rows_dense() -> None:
    table = TrackTable()
    _upsert(table, ["a", "b", "c"], [NOW, NOW, NOW])
    table.lon[table.slot["c"]] = 118.0
    assert table.remove("a")
    assert len(table) == 2 and set(table.ids) == {"b", "c"}
    assert table.lon[table.slot["c"]] == 118.0
    assert not table.remove("a")


def test_expire_goes_by_report_time_not_arrival_time() -> None:
    table = TrackTable()
    _upsert(table, ["a", "b", "c"], [NOW - 10.0, NOW - 9.99, NOW])  # all arrived at NOW
    gone = table.expire(NOW, 10.0)  # 10 s old exactly is gone (the limit is inclusive), 9.99 s stays
    assert gone.ids == ["a"] and gone.t.tolist() == [NOW - 10.0]
    assert sorted(table.ids) == ["b", "c"]


def test_expire_keeps_a_recent_report_that_arrived_late() -> None:
    table = TrackTable()
    _upsert(table, ["late"], [NOW - 2.0])
    table.t_recv[table.slot["late"]] = NOW - 60  # arrival time plays no part
    assert table.expire(NOW, 10.0).ids == []


def test_coasting_flag_set_once_and_cleared_by_a_new_report() -> None:
    table = TrackTable()
    _upsert(table, ["a", "b"], [NOW - 3.0, NOW - 2.99])
    table.take_dirty()
    assert table.mark_coasting(NOW, 3.0) == 1
    assert table.coasting[table.slot["a"]] and not table.coasting[table.slot["b"]]
    assert [table.ids[r] for r in table.take_dirty()] == ["a"]  # the feed tells the map once
    assert table.mark_coasting(NOW + 1, 3.0) == 1  # "b" now; "a" is not flagged twice
    assert [table.ids[r] for r in table.take_dirty()] == ["b"]
    _upsert(table, ["a"], [NOW + 1])
    assert not table.coasting[table.slot["a"]]


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
