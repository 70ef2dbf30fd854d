"""Reports on the bus: encoding round trip and the split by geographic cell."""

from __future__ import annotations

import numpy as np

from lowalt.bus.codec import FLOAT_COLUMNS, cell_key, decode, encode, make_rows, split_by_cell


def _rows(lon: list[float], lat: list[float]):  # type: ignore[no-untyped-def]
    n = len(lon)
    cols = {c: np.arange(n, dtype=np.float64) + k for k, c in enumerate(FLOAT_COLUMNS)}
    cols["lon"], cols["lat"] = np.array(lon), np.array(lat)
    return make_rows("node-a", 1.5, [f"A{i}" for i in range(n)], cols, np.array([0, 3, 1][:n]),
                     np.array([2, 0, 1][:n]), np.array([True, False, True][:n]))


def test_round_trip_keeps_every_column() -> None:
    rows = _rows([117.2, 117.3, 117.1], [29.3, 29.3, 29.4])
    back = decode(encode(rows))
    assert back == rows
    assert back.f64("lon").tolist() == [117.2, 117.3, 117.1]
    assert back.i8("source").tolist() == [0, 3, 1]
    assert back.landed_mask().tolist() == [True, False, True]
    assert back.history_records()[1] == ("A1", 1.0, 117.3, 29.3, 4.0, 5.0, 6.0, 7.0, 3)


def test_split_by_cell_groups_rows_of_a_cell() -> None:
    rows = _rows([117.2, 118.9, 117.21], [29.3, 29.3, 29.31])
    parts = split_by_cell(rows)
    assert set(parts) == {cell_key(117.2, 29.3), cell_key(118.9, 29.3)}
    assert parts[cell_key(117.2, 29.3)].ids == ["A0", "A2"]
    assert parts[cell_key(118.9, 29.3)].f64("lon").tolist() == [118.9]


def test_cell_key_is_a_subject_token() -> None:
    assert cell_key(117.2, 29.3) == "e468n117"
    assert cell_key(-0.1, -0.1) == "em1nm1"
