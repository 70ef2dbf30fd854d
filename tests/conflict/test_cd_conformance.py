from __future__ import annotations

import numpy as np
import pytest
import shapely

from lowalt.conflict import ConformancePlans, ConformanceStatus, check_conformance

S = ConformanceStatus


@pytest.fixture
def plans() -> ConformancePlans:
    return ConformancePlans(np.array([shapely.box(0, 0, 1000, 100), shapely.box(0, 0, 50, 50)]),
                            [50.0, 0.0], [120.0, 60.0], [0.0, 100.0], [1000.0, 200.0])


def test_statuses(plans: ConformancePlans) -> None:
    pos = np.array([[10, 10, 60], [10, 105, 60], [10, 10, 130], [10, 10, 60], [10, 10, 60],
                    [1000, 100, 120], [10, 10, 30]], float)
    t = np.array([5, 5, 5, 2000, 5, 5, 5], float)
    got = check_conformance(pos, t, [0, 0, 0, 0, -1, 0, 1], plans)
    assert got.tolist() == [S.CONFORMING, S.OUTSIDE_CORRIDOR, S.OUTSIDE_ALTITUDE, S.OUTSIDE_TIME_WINDOW,
                            S.NO_PLAN, S.CONFORMING, S.OUTSIDE_TIME_WINDOW]


def test_tolerance_and_hysteresis(plans: ConformancePlans) -> None:
    pos = np.array([[10, 105, 60], [10, 10, 130]], float)
    kw = {"h_tol_m": 10.0, "v_tol_m": 20.0}
    assert check_conformance(pos, 5.0, [0, 0], plans, **kw).tolist() == [S.CONFORMING, S.CONFORMING]
    prev = [S.OUTSIDE_CORRIDOR, S.OUTSIDE_ALTITUDE]
    # once out, an aircraft must be back inside the plan itself, not just the tolerance band
    assert check_conformance(pos, 5.0, [0, 0], plans, previous=prev, **kw).tolist() == prev
    back = np.array([[10, 99, 60], [10, 10, 119]], float)
    assert check_conformance(back, 5.0, [0, 0], plans, previous=prev, **kw).tolist() == [S.CONFORMING] * 2


def test_bad_input(plans: ConformancePlans) -> None:
    with pytest.raises(ValueError, match="plan_idx"):
        check_conformance(np.zeros((1, 3)), 0.0, [5], plans)
    with pytest.raises(ValueError, match="pos"):
        check_conformance(np.zeros((1, 2)), 0.0, [0], plans)
    with pytest.raises(ValueError, match="h_tol_m"):
        check_conformance(np.zeros((1, 3)), 0.0, [0], plans, h_tol_m=-1)
