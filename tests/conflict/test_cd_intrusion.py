from __future__ import annotations

import numpy as np
import pytest
import shapely

from lowalt.conflict import IntrusionVolumes, predict_intrusions


@pytest.fixture
def volumes() -> IntrusionVolumes:
    return IntrusionVolumes.from_sequences(
        [shapely.box(1000, -500, 2000, 500), shapely.box(-100, -100, 100, 100),
         shapely.Polygon([(0, 3000), (400, 3000), (200, 3400)])],
        [0.0, 0.0, 100.0], [300.0, 100.0, 200.0], ["R1", "VP", "TRI"],
    )


def test_entry_times(volumes: IntrusionVolumes) -> None:
    pos = np.array([
        [0, 0, 50.0],  # inside VP now, reaches R1 at t=100
        [0, 0, 200.0],  # above VP ceiling, reaches R1 at t=100
        [3000, 0, 50.0],  # hovering far away
        [0, 0, 400.0],  # descends into R1's band only before reaching it
        [1500, 1000, 350.0],  # above R1 moving south and descending: band at t=10, footprint at t=50
        [200, 2000, 150.0],  # flies north into the triangle at y=3000 -> t=100
    ])
    vel = np.array([[10, 0, 0], [10, 0, 0], [0, 0, 0], [10, 0, -5], [0, -10, -5], [0, 10, 0.0]])
    r = predict_intrusions(pos, vel, volumes, lookahead=120.0)
    got = {(int(a), volumes.ids[v]): t for a, v, t in zip(r.aircraft, r.volume, r.t_enter, strict=True)}
    assert set(got) == {(0, "VP"), (0, "R1"), (1, "R1"), (4, "R1"), (5, "TRI")}
    assert got[(0, "VP")] == 0.0
    assert got[(0, "R1")] == pytest.approx(100.0)
    assert got[(1, "R1")] == pytest.approx(100.0)
    assert got[(4, "R1")] == pytest.approx(50.0)
    assert got[(5, "TRI")] == pytest.approx(100.0)
    assert np.all(np.diff(r.aircraft) >= 0)


def test_lookahead_limits_and_bad_input(volumes: IntrusionVolumes) -> None:
    pos = np.array([[0, 0, 200.0]])
    vel = np.array([[10, 0, 0.0]])
    assert len(predict_intrusions(pos, vel, volumes, lookahead=99.0)) == 0
    assert len(predict_intrusions(pos, vel, volumes, lookahead=100.0)) == 1  # touching the edge counts
    with pytest.raises(ValueError, match="lookahead"):
        predict_intrusions(pos, vel, volumes, lookahead=-1)
    with pytest.raises(ValueError, match="vel"):
        predict_intrusions(pos, np.zeros((2, 3)), volumes, lookahead=1)
    with pytest.raises(ValueError, match="floor_m"):
        IntrusionVolumes.from_sequences([shapely.box(0, 0, 1, 1)], [10], [5])


def test_matches_sampling_on_random_traffic(volumes: IntrusionVolumes) -> None:
    rng = np.random.default_rng(3)
    n, la = 400, 60.0
    pos = np.column_stack((rng.uniform(-1000, 3000, (n, 2)), rng.uniform(0, 400, n)))
    vel = np.column_stack((rng.normal(0, 30, (n, 2)), rng.normal(0, 3, n)))
    r = predict_intrusions(pos, vel, volumes, lookahead=la)
    t = np.linspace(0, la, 4001)
    for k in range(len(volumes.ids)):
        poly = volumes.polygons[k]
        p = pos[:, None, :] + vel[:, None, :] * t[None, :, None]
        inside = shapely.intersects_xy(poly, p[..., 0], p[..., 1])
        inside &= (p[..., 2] >= volumes.floor_m[k]) & (p[..., 2] <= volumes.ceiling_m[k])
        for a in np.flatnonzero(inside.any(axis=1)):
            row = np.flatnonzero((r.aircraft == a) & (r.volume == k))
            assert row.size == 1
            assert r.t_enter[row[0]] <= t[np.argmax(inside[a])] + 1e-9
            assert r.t_enter[row[0]] >= t[max(0, np.argmax(inside[a]) - 1)] - 1e-9
