"""lowalt.conflict: pure functions over arrays for the conflict monitor (no I/O, no clock).

* traffic-traffic conflicts: :func:`detect_conflicts` (pruned, exact), the reference
  :func:`detect_conflicts_bruteforce`, per-category minima (:class:`SeparationMatrix`,
  :func:`detect_conflicts_by_category`) and right-of-way (:func:`right_of_way`);
* predicted airspace intrusion: :func:`predict_intrusions` over :class:`IntrusionVolumes`;
* plan conformance: :func:`check_conformance` over :class:`ConformancePlans`;
* alert lifecycle with hysteresis: :class:`AlertBook`, :func:`severity_from_t_in`.
"""

from lowalt.conflict.alerts import (
    Alert,
    AlertBook,
    AlertDiff,
    AlertState,
    Finding,
    FindingKind,
    Severity,
    conflict_subject,
    severity_from_t_in,
)
from lowalt.conflict.conformance import ConformancePlans, ConformanceStatus, check_conformance
from lowalt.conflict.engine import (
    Conflicts,
    DetectionStats,
    PairwiseMinimum,
    detect_conflicts,
    detect_conflicts_bruteforce,
    detect_conflicts_with_stats,
)
from lowalt.conflict.intrusion import Intrusions, IntrusionVolumes, predict_intrusions
from lowalt.conflict.separation import (
    GiveWay,
    SeparationMatrix,
    category_minima,
    detect_conflicts_by_category,
    detect_conflicts_by_category_with_stats,
    right_of_way,
)
from lowalt.conflict.traffic import Traffic, generate_traffic


def warm_up() -> None:
    """Compile the engine's loops (or load them from numba's on-disk cache) before a tick needs them.

    A cold compile takes a few seconds of one core and holds the GIL; the monitor calls this when
    it starts and bootstrap once per install, so no tick and no test pays for it.
    """
    import numpy as np

    from lowalt.conflict.broadphase import overlapping_pairs

    traffic = generate_traffic(64, seed=0)
    detect_conflicts_by_category(traffic.pos, traffic.vel, traffic.category, SeparationMatrix(), lookahead=60.0)
    # one box far wider than the rest takes the outlier path
    lower = np.arange(128.0).reshape(64, 2)
    upper = lower + 1.0
    upper[0] += 1000.0
    overlapping_pairs(lower, upper)

__all__ = [
    "warm_up",
    "Alert",
    "AlertBook",
    "AlertDiff",
    "AlertState",
    "ConformancePlans",
    "ConformanceStatus",
    "Conflicts",
    "DetectionStats",
    "Finding",
    "FindingKind",
    "GiveWay",
    "IntrusionVolumes",
    "Intrusions",
    "PairwiseMinimum",
    "SeparationMatrix",
    "Severity",
    "Traffic",
    "category_minima",
    "check_conformance",
    "conflict_subject",
    "detect_conflicts",
    "detect_conflicts_bruteforce",
    "detect_conflicts_by_category",
    "detect_conflicts_by_category_with_stats",
    "detect_conflicts_with_stats",
    "generate_traffic",
    "predict_intrusions",
    "right_of_way",
    "severity_from_t_in",
]
