from __future__ import annotations

import json

import numpy as np
import pytest

from lowalt.aircraft_category import AircraftCategory
from lowalt.conflict import GiveWay, SeparationMatrix, right_of_way
from lowalt.conflict.separation import ROWS, _radii, separation_row


def test_default_matrix_provenance_values() -> None:
    m = SeparationMatrix()
    assert m.minima("micro", "small") == (50.0, 15.0)  # ASSUMED, regulations_cn.md I4
    assert m.minima("medium", "evtol") == (152.4, 30.48)  # NMAC, I2
    assert m.minima("light", "helicopter") == (1219.2, 137.16)  # DO-365B Phase I, I3
    assert m.minima("evtol", "crewed_ga") == (1219.2, 137.16)
    assert m.minima("helicopter", "crewed_ga") == (152.4, 30.48)
    assert m.minima("unknown", "micro") == (670.56, 137.16)  # DO-365B non-cooperative
    assert m.minima("unknown", "helicopter") == (670.56, 137.16)
    assert np.array_equal(m.h, m.h.T) and np.array_equal(m.v, m.v.T)


def test_matrix_from_dict_json_roundtrip_and_errors() -> None:
    m = SeparationMatrix.from_json(json.dumps({"pairs": [{"a": "micro", "b": "light", "h_m": 60, "v_m": 20}]}))
    assert m.minima("light", "micro") == (60.0, 20.0)
    assert m.minima("small", "small") == (50.0, 15.0)
    assert SeparationMatrix.from_dict(m.to_dict()) == m
    with pytest.raises(ValueError, match="h_m"):
        SeparationMatrix.from_dict({"pairs": [{"a": "micro", "b": "light", "h_m": -1}]})
    with pytest.raises(ValueError, match="categories"):
        SeparationMatrix.from_dict({"pairs": [{"a": "blimp", "b": "light", "h_m": 1}]})
    bad = SeparationMatrix().h.copy()
    bad[0, 1] = 1.0
    with pytest.raises(ValueError, match="symmetric"):
        SeparationMatrix(h=bad)


def test_pruning_radii_cover_every_pair() -> None:
    m = SeparationMatrix()
    rng = np.random.default_rng(0)
    cases = [np.full(ROWS, 5), np.array([900, 500, 300, 0, 0, 0, 4, 0, 0])]
    cases += [rng.integers(0, 4, ROWS) for _ in range(20)]
    for counts in cases:
        for table in (m.h, m.v):
            r = _radii(table, counts)
            idx = np.flatnonzero(counts > 0)
            assert np.all(r[idx, None] + r[None, idx] >= table[np.ix_(idx, idx)] - 1e-9)
    r = _radii(m.h, cases[1])
    assert r[AircraftCategory.MICRO_UAV.separation_code] == 25.0  # drones stay cheap to prune next to crewed traffic


def c(name: str) -> int:
    return separation_row(name)


def test_right_of_way_rules() -> None:
    cats = np.array([c("small"), c("helicopter"), c("micro"), c("light"), c("medium"), c("medium"),
                     c("light"), c("evtol"), c("unknown"), c("crewed_ga")])
    swarm = np.zeros(10, bool)
    swarm[6] = True
    i = np.array([0, 2, 3, 4, 3, 0, 7, 0, 1, 2])
    j = np.array([1, 3, 6, 5, 0, 6, 1, 8, 9, 6])
    got = right_of_way(i, j, cats, swarm=swarm)
    assert got.tolist() == [
        GiveWay.I,  # drone yields to crewed helicopter
        GiveWay.I,  # micro yields to light
        GiveWay.I,  # single light yields to a swarm member
        GiveWay.BOTH,  # medium vs medium: tie
        GiveWay.I,  # light (i) yields to small: lower priority yields
        GiveWay.I,  # single small yields to swarm
        GiveWay.I,  # eVTOL (UAV) yields to crewed
        GiveWay.I,  # drone yields to unknown (treated as crewed)
        GiveWay.BOTH,  # helicopter vs crewed GA: same priority
        GiveWay.I,  # micro yields, even to a swarm rule it would lose anyway
    ]
    # explicit priorities override the category default, not the crewed rule
    prio = np.arange(10)
    assert right_of_way([4, 0], [5, 1], cats, priority=prio).tolist() == [GiveWay.I, GiveWay.I]
    with pytest.raises(ValueError, match="swarm"):
        right_of_way([0], [1], cats, swarm=np.zeros(3, bool))
