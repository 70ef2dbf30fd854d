"""Kinematics: envelope limits hold for every aircraft, every step (speed, turn, climb, hover, battery)."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.models import ENVELOPES, KinState, Params, step


def _fleet(model: str, n: int = 50) -> tuple[KinState, Params]:
    env = ENVELOPES[model]
    s = KinState.zeros(n)
    s.gs[:] = env.min_ms
    return s, Params.of([env] * n)


@pytest.mark.parametrize("model", list(ENVELOPES))
def test_limits_hold_while_chasing_random_targets(model: str) -> None:
    rng = np.random.default_rng(3)
    env = ENVELOPES[model]
    s, p = _fleet(model)
    dt = 0.5
    for _ in range(200):
        tgt = np.column_stack([rng.uniform(-5e3, 5e3, 50), rng.uniform(-5e3, 5e3, 50), rng.uniform(0, 500, 50)])
        hdg0, gs0, z0 = s.hdg.copy(), s.gs.copy(), s.z.copy()
        step(s, p, tgt, np.full(50, env.max_ms * 2), dt)  # commanded above the limit on purpose
        assert (s.gs <= env.max_ms + 1e-9).all() and (s.gs >= env.min_ms - 1e-9).all()
        assert (np.abs(s.gs - gs0) <= env.accel_ms2 * dt + 1e-9).all()
        turned = np.abs((s.hdg - hdg0 + np.pi) % (2 * np.pi) - np.pi)
        moving = gs0 >= 1.0  # a hovering multirotor may yaw in place
        assert (turned[moving] <= np.radians(env.turn_dps) * dt + 1e-9).all()
        vz = (s.z - z0) / dt
        assert (vz <= env.climb_ms + 1e-9).all() and (vz >= -env.descent_ms - 1e-9).all()


def test_multirotor_arrives_and_hovers() -> None:
    s, p = _fleet("multirotor", 1)
    tgt = np.array([[200.0, 0.0, 50.0]])
    for _ in range(200):
        step(s, p, tgt, np.array([12.0]), 0.5)
    assert abs(s.x[0] - 200) < 2 and abs(s.z[0] - 50) < 1 and s.gs[0] < 0.5
    x = s.x[0]
    for _ in range(20):  # commanded speed 0 = hover: stays put
        step(s, p, tgt, np.array([0.0]), 0.5)
    assert abs(s.x[0] - x) < 1.0 and s.gs[0] < 0.5


def test_fixed_wing_cannot_hover() -> None:
    s, p = _fleet("fixed_wing", 1)
    for _ in range(100):
        step(s, p, np.array([[0.0, 0.0, 100.0]]), np.array([0.0]), 0.5)
    assert s.gs[0] >= ENVELOPES["fixed_wing"].min_ms - 1e-9  # circles the point instead


def test_battery_drains_and_hover_costs_more() -> None:
    cruise, p = _fleet("multirotor", 1)
    cruise.gs[:] = 12.0
    hover, _ = _fleet("multirotor", 1)
    for _ in range(120):
        step(cruise, p, np.array([[cruise.x[0] + 1e4, 0.0, 0.0]]), np.array([12.0]), 1.0)
        step(hover, p, np.array([[0.0, 0.0, 0.0]]), np.array([0.0]), 1.0)
    assert 0 < cruise.battery[0] < 100 and hover.battery[0] < cruise.battery[0]
    expect = 100 - 120 * 100 / ENVELOPES["multirotor"].endurance_s
    assert abs(cruise.battery[0] - expect) < 0.5


def test_mask_freezes_other_aircraft() -> None:
    s, p = _fleet("multirotor", 2)
    m = np.array([True, False])
    step(s, p, np.array([[100.0, 0, 10], [100.0, 0, 10]]), np.array([10.0, 10.0]), 1.0, m)
    assert s.z[0] > 0 and s.z[1] == 0 and s.x[1] == 0
