"""The per-category engine (the server's configuration) against an independent per-category brute force.

The reference never touches the engine's pruning radii or its pair-code lookup: for every category
pair (a, b) it runs the scalar brute force with ``matrix[a, b]`` on the whole picture and keeps the
pairs whose categories are {a, b}. Equality is exact (pairs and every float): both paths compute
each pair ``i < j`` with the same kernel on the same numbers, only pruning differs.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowalt.aircraft_category import AircraftCategory
from lowalt.conflict import (
    Conflicts,
    SeparationMatrix,
    detect_conflicts_bruteforce,
    detect_conflicts_by_category,
)
from lowalt.conflict.separation import ROWS, detect_conflicts_by_category_with_stats

C = ROWS
FIELDS = ("i", "j", "t_in", "t_out", "t_cpa", "d_cpa")


def per_category_bruteforce(pos: np.ndarray, vel: np.ndarray, codes: np.ndarray, matrix: SeparationMatrix,
                            lookahead: float) -> Conflicts:
    parts: list[Conflicts] = []
    for a in range(C):
        for b in range(a, C):
            if not ((codes == a).any() and (codes == b).any()):
                continue
            res = detect_conflicts_bruteforce(pos, vel, h_sep=float(matrix.h[a, b]), v_sep=float(matrix.v[a, b]),
                                              lookahead=lookahead)
            ca, cb = codes[res.i], codes[res.j]
            keep = ((ca == a) & (cb == b)) | ((ca == b) & (cb == a))
            parts.append(Conflicts(*(getattr(res, f)[keep] for f in FIELDS)))
    if not parts:
        return Conflicts.empty()
    cat = Conflicts(*(np.concatenate([getattr(p, f) for p in parts]) for f in FIELDS))
    order = np.lexsort((cat.j, cat.i))
    return Conflicts(*(getattr(cat, f)[order] for f in FIELDS))


def assert_identical(a: Conflicts, b: Conflicts) -> None:
    for f in FIELDS:
        assert np.array_equal(getattr(a, f), getattr(b, f)), f


@st.composite
def matrices(draw: st.DrawFn) -> SeparationMatrix:
    kind = draw(st.sampled_from(["default", "random", "zeros", "one_wide"]))
    if kind == "default":
        return SeparationMatrix()
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "one_wide":  # a single category far wider than the rest (the helicopter shape)
        h = np.full((C, C), 40.0)
        v = np.full((C, C), 10.0)
        w = int(rng.integers(0, C))
        h[w, :] = h[:, w] = 1500.0
        v[w, :] = v[:, w] = 150.0
        return SeparationMatrix(h=h, v=v)
    h = rng.choice([0.0, 15.0, 50.0, 152.4, 670.56, 1219.2], size=(C, C))
    v = rng.choice([0.0, 7.5, 30.48, 137.16], size=(C, C))
    if kind == "zeros":
        h[rng.random((C, C)) < 0.5] = 0.0
    return SeparationMatrix(h=np.triu(h) + np.triu(h, 1).T, v=np.triu(v) + np.triu(v, 1).T)


@st.composite
def pictures(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 140))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mode = draw(st.sampled_from(["uniform", "clustered", "duplicates", "lattice", "outliers", "hover"]))
    extent = draw(st.sampled_from([500.0, 3000.0, 20000.0]))
    pos = rng.uniform(0, extent, (n, 3))
    pos[:, 2] = rng.uniform(0, 600, n)
    vel = rng.normal(0, 20, (n, 3))
    vel[:, 2] = rng.normal(0, 2, n) * (rng.random(n) < 0.3)
    present = rng.choice(C, size=int(rng.integers(1, C + 1)), replace=False)
    codes = present[rng.integers(0, present.size, n)] if n else np.zeros(0, dtype=np.int64)
    if mode == "clustered" and n:
        centres = rng.uniform(0, extent, (3, 3))
        pos = centres[rng.integers(0, 3, n)] + rng.normal(0, 80, (n, 3))
    elif mode == "duplicates" and n:
        src = rng.integers(0, max(1, n // 4), n)
        pos, vel = pos[src], np.where(rng.random((n, 1)) < 0.5, vel[src], vel)
    elif mode == "lattice":
        # spacing exactly at default minima: many pairs on the boundary of their own minimum
        pos = np.column_stack((rng.integers(0, 5, n) * 50.0, rng.integers(0, 5, n) * 152.4,
                               rng.integers(0, 4, n) * 15.0))
        vel = np.where(rng.random((n, 1)) < 0.5, 0.0, np.round(vel))
    elif mode == "outliers" and n:
        fast = rng.random(n) < 0.05
        vel[fast] *= 15.0
        vel[0] = [300.0, -250.0, 40.0]
    elif mode == "hover":
        vel[rng.random(n) < 0.7] = 0.0
        vel[rng.random(n) < 0.2] *= -0.0  # negative zeros: dvz == -0.0 must behave as 0.0
    return pos, vel, np.asarray(codes, dtype=np.int64)


@given(pictures(), matrices(), st.sampled_from([0.0, 1.0, 30.0, 60.0, 120.0]))
def test_by_category_equals_per_category_bruteforce(
    pic: tuple[np.ndarray, np.ndarray, np.ndarray], matrix: SeparationMatrix, lookahead: float
) -> None:
    pos, vel, codes = pic
    fast = detect_conflicts_by_category(pos, vel, codes, matrix, lookahead=lookahead)
    assert_identical(fast, per_category_bruteforce(pos, vel, codes, matrix, lookahead))


@given(st.integers(0, 2**32 - 1), st.sampled_from([(1.0, 1.0), (2.0, 8.0), (5.0, 20.0), (0.5, 0.5)]))
def test_result_does_not_depend_on_strip_width(seed: int, scale: tuple[float, float]) -> None:
    rng = np.random.default_rng(seed)
    n = 120
    pos = rng.uniform(0, 4000, (n, 3))
    pos[:, 2] = rng.uniform(0, 400, n)
    vel = rng.normal(0, 25, (n, 3))
    codes = rng.integers(0, C, n)
    m = SeparationMatrix()
    got, stats = detect_conflicts_by_category_with_stats(pos, vel, codes, m, lookahead=60.0, cell_scale=scale)
    assert stats.candidates >= len(got)
    assert_identical(got, per_category_bruteforce(pos, vel, codes, m, 60.0))


def test_helicopter_among_drones_uses_each_pairs_own_minimum() -> None:
    heli, drone, evtol = (AircraftCategory.HELICOPTER.separation_code, AircraftCategory.SMALL_UAV.separation_code,
                          AircraftCategory.EVTOL.separation_code)
    m = SeparationMatrix()
    assert m.minima("small", "small") == (50.0, 15.0) and m.minima("small", "evtol") == (152.4, 30.48)
    assert m.minima("small", "helicopter") == m.minima("evtol", "helicopter") == (1219.2, 137.16)
    # two drones 40 m apart; a helicopter 1 km east, 50 m higher; an eVTOL 200 m north of the
    # first drone (outside its 152.4 m NMAC) and 1019.8 m from the helicopter (inside well-clear)
    pos = np.array([[0.0, 0.0, 100.0], [40.0, 0.0, 100.0], [1000.0, 0.0, 150.0], [0.0, 200.0, 120.0]])
    codes = np.array([drone, drone, heli, evtol])
    c = detect_conflicts_by_category(pos, np.zeros((4, 3)), codes, m, lookahead=60.0)
    assert list(zip(c.i.tolist(), c.j.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 2), (2, 3)]
    assert np.all(c.t_in == 0.0) and np.all(c.t_out == 60.0)
    # at exactly 50 m the drone pair is no longer a conflict under its own 50 m minimum
    pos[1, 0] = 50.0
    c = detect_conflicts_by_category(pos, np.zeros((4, 3)), codes, m, lookahead=60.0)
    assert list(zip(c.i.tolist(), c.j.tolist(), strict=True)) == [(0, 2), (1, 2), (2, 3)]


def test_bad_codes_name_the_argument() -> None:
    with pytest.raises(ValueError, match="cat_codes"):
        detect_conflicts_by_category(np.zeros((2, 3)), np.zeros((2, 3)), [0, C], SeparationMatrix(), lookahead=1.0)
    with pytest.raises(ValueError, match="cat_codes"):
        detect_conflicts_by_category(np.zeros((2, 3)), np.zeros((2, 3)), [0], SeparationMatrix(), lookahead=1.0)
