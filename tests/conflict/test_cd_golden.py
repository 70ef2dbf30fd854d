"""Golden vectors for detect_conflicts (values chosen exact in binary floating point)."""

from __future__ import annotations

import numpy as np
import pytest

from lowalt.conflict import Conflicts, detect_conflicts, detect_conflicts_bruteforce

H, V, L = 100.0, 30.0, 60.0


def run(pos: list[list[float]], vel: list[list[float]], h: float = H, v: float = V, la: float = L) -> Conflicts:
    fast = detect_conflicts(np.array(pos, float), np.array(vel, float), h_sep=h, v_sep=v, lookahead=la)
    ref = detect_conflicts_bruteforce(np.array(pos, float), np.array(vel, float), h_sep=h, v_sep=v, lookahead=la)
    assert np.array_equal(fast.i, ref.i) and np.array_equal(fast.j, ref.j)
    return fast


def test_head_on() -> None:
    # 2000 m apart closing at 40 m/s: |2000 - 40 t| < 100  <=>  47.5 < t < 52.5
    c = run([[0, 0, 100], [2000, 0, 100]], [[20, 0, 0], [-20, 0, 0]])
    assert len(c) == 1 and (c.i[0], c.j[0]) == (0, 1)
    assert c.t_in[0] == pytest.approx(47.5) and c.t_out[0] == pytest.approx(52.5)
    assert c.t_cpa[0] == pytest.approx(50.0) and c.d_cpa[0] == pytest.approx(0.0, abs=1e-9)


def test_head_on_beyond_lookahead() -> None:
    assert len(run([[0, 0, 100], [2000, 0, 100]], [[20, 0, 0], [-20, 0, 0]], la=47.5)) == 0
    c = run([[0, 0, 100], [2000, 0, 100]], [[20, 0, 0], [-20, 0, 0]], la=48.0)
    assert c.t_in[0] == pytest.approx(47.5) and c.t_out[0] == 48.0 and c.t_cpa[0] == 48.0


def test_crossing() -> None:
    # A east along y=0, B north along x=0; both reach the origin at t=50
    c = run([[-500, 0, 100], [0, -500, 100]], [[10, 0, 0], [0, 10, 0]])
    assert len(c) == 1
    # distance = sqrt(2) * 10 * |50 - t| < 100  <=>  |t - 50| < 5 sqrt(2)
    assert c.t_in[0] == pytest.approx(50 - 5 * np.sqrt(2)) and c.t_out[0] == pytest.approx(50 + 5 * np.sqrt(2))
    assert c.t_cpa[0] == pytest.approx(50.0)


def test_overtaking_same_track() -> None:
    c = run([[0, 0, 50], [400, 0, 50]], [[20, 0, 0], [10, 0, 0]])
    # |400 - 10 t| < 100  <=>  30 < t < 50 (A passes through B at t = 40)
    assert c.t_in[0] == pytest.approx(30.0) and c.t_out[0] == pytest.approx(50.0)
    assert c.t_cpa[0] == pytest.approx(40.0) and c.d_cpa[0] == pytest.approx(0.0, abs=1e-9)


def test_vertical_only() -> None:
    # same x, y; B climbs from 100 m below at 2 m/s: |100 - 2 t| < 30  <=>  35 < t < 65
    c = run([[0, 0, 200], [0, 0, 100]], [[0, 0, 0], [0, 0, 2]])
    assert c.t_in[0] == pytest.approx(35.0) and c.t_out[0] == L
    assert c.t_cpa[0] == 0.0 and c.d_cpa[0] == 0.0


def test_hovering_pair_boundary_and_inside() -> None:
    assert len(run([[0, 0, 100], [60, 80, 110]], [[0, 0, 0]] * 2)) == 0  # exactly 100 m
    c = run([[0, 0, 100], [60, 79, 110]], [[0, 0, 0]] * 2)
    assert len(c) == 1 and c.t_in[0] == 0.0 and c.t_out[0] == L and c.t_cpa[0] == 0.0


def test_vertical_boundary_exact() -> None:
    assert len(run([[0, 0, 100], [0, 0, 130]], [[0, 0, 0]] * 2)) == 0  # exactly 30 m
    assert len(run([[0, 0, 100], [0, 0, 129.5]], [[0, 0, 0]] * 2)) == 1


def test_tangent_pass_is_not_conflict() -> None:
    # B passes A at a minimum distance of exactly 100 m: touching, zero-length interval
    assert len(run([[0, 0, 100], [-500, 100, 100]], [[0, 0, 0], [10, 0, 0]])) == 0
    assert len(run([[0, 0, 100], [-500, 99, 100]], [[0, 0, 0], [10, 0, 0]])) == 1


def test_already_in_loss() -> None:
    c = run([[0, 0, 100], [50, 0, 110]], [[10, 0, 0], [-10, 0, 0]])
    assert c.t_in[0] == 0.0
    # |50 - 20 t| < 100  <=>  t < 7.5
    assert c.t_out[0] == pytest.approx(7.5)


def test_parallel_same_speed() -> None:
    c = run([[0, 0, 100], [0, 50, 100], [0, 100, 100]], [[30, 5, 1]] * 3)
    assert list(zip(c.i.tolist(), c.j.tolist(), strict=True)) == [(0, 1), (1, 2)]  # (0, 2) exactly 100 m
    assert np.all(c.t_in == 0.0) and np.all(c.t_out == L) and np.all(c.t_cpa == 0.0)
    assert np.allclose(c.d_cpa, 50.0)


def test_zero_lookahead_only_current_loss() -> None:
    pos = [[0, 0, 100], [50, 0, 100], [1000, 0, 100], [1150, 0, 100]]
    vel = [[0, 0, 0], [0, 0, 0], [10, 0, 0], [-10, 0, 0]]
    c = run(pos, vel, la=0.0)
    assert list(zip(c.i.tolist(), c.j.tolist(), strict=True)) == [(0, 1)]
    assert c.t_in[0] == 0.0 and c.t_out[0] == 0.0


def test_touching_at_window_start_is_not_conflict() -> None:
    # separating pair exactly at 100 m now, opening: interval ends at t = 0
    assert len(run([[0, 0, 100], [100, 0, 100]], [[0, 0, 0], [1, 0, 0]])) == 0


def test_identical_positions_and_sorting() -> None:
    pos = [[5, 5, 50]] * 4
    c = run(pos, [[0, 0, 0]] * 4)
    assert list(zip(c.i.tolist(), c.j.tolist(), strict=True)) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert c.i.dtype == np.int64 and c.j.dtype == np.int64


def test_empty_and_single() -> None:
    assert len(run(np.zeros((0, 3)).tolist(), np.zeros((0, 3)).tolist())) == 0
    assert len(run([[0, 0, 0]], [[1, 1, 1]])) == 0


def test_zero_separation_never_conflicts() -> None:
    assert len(run([[0, 0, 0]] * 2, [[0, 0, 0]] * 2, h=0.0)) == 0
    assert len(run([[0, 0, 0]] * 2, [[0, 0, 0]] * 2, v=0.0)) == 0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"pos": np.array([[np.nan, 0, 0]]), "vel": np.zeros((1, 3))}, "pos"),
        ({"pos": np.zeros((1, 3)), "vel": np.array([[np.inf, 0, 0]])}, "vel"),
        ({"pos": np.zeros((2, 2)), "vel": np.zeros((2, 2))}, "pos"),
        ({"pos": np.zeros((2, 3)), "vel": np.zeros((3, 3))}, "vel"),
        ({"h_sep": -1.0}, "h_sep"),
        ({"v_sep": float("nan")}, "v_sep"),
        ({"lookahead": -5.0}, "lookahead"),
        ({"lookahead": float("inf")}, "lookahead"),
    ],
)
def test_bad_input_names_argument(kwargs: dict[str, object], name: str) -> None:
    args: dict[str, object] = {"pos": np.zeros((2, 3)), "vel": np.zeros((2, 3)), "h_sep": 1.0, "v_sep": 1.0,
                               "lookahead": 1.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        detect_conflicts(**args)  # type: ignore[arg-type]
