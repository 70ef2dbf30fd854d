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

__all__ = [
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
