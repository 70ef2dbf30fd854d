"""Aircraft performance envelopes and one vectorized kinematic step for a whole fleet.

Why this shape: the simulator flies up to 10,000 aircraft at 1 Hz on a machine it shares with
the server, so the physics is a handful of numpy operations over struct-of-arrays state rather
than per-aircraft objects. The model is kinematic (no forces): speed, climb/descent rate, turn
rate and acceleration are clamped to the category's envelope; hover-capable aircraft may stop
and yaw in place, fixed wings keep above their minimum speed. Battery drains with time, harder
in hover and climb.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Envelope:
    """Performance of one airframe type (metres, seconds, degrees)."""

    model: str
    category: str
    """Wire category the aircraft is registered and reported as."""
    cruise_ms: float
    max_ms: float
    min_ms: float
    """0 for hover-capable aircraft; stall margin for fixed wings."""
    climb_ms: float
    descent_ms: float
    turn_dps: float
    accel_ms2: float
    hover: bool
    gps_sigma_m: float
    """1-sigma horizontal GPS noise added to reports."""
    endurance_s: float
    """Battery 100 % -> 0 % in level cruise."""
    separation_hint_m: float = 50.0


ENVELOPES: dict[str, Envelope] = {e.model: e for e in (
    # DJI M30/M300 class inspection/survey multirotor
    Envelope("multirotor", "small_uav", 12.0, 18.0, 0.0, 5.0, 3.0, 90.0, 3.0, True, 1.5, 40 * 60),
    # light camera drone (tourism photography, 婺源 / 瑶里 sightseeing)
    Envelope("light_multirotor", "light_uav", 10.0, 15.0, 0.0, 4.0, 3.0, 120.0, 3.0, True, 2.0, 30 * 60),
    # VTOL fixed-wing logistics drone (e.g. 40 kg class), cruises on the wing
    Envelope("fixed_wing", "medium_uav", 25.0, 33.0, 16.0, 4.0, 4.0, 15.0, 1.5, False, 3.0, 3 * 3600),
    # agricultural spraying multirotor (T40 class): slow, low, short endurance when loaded
    Envelope("agri_sprayer", "medium_uav", 7.0, 10.0, 0.0, 3.0, 3.0, 60.0, 2.0, True, 1.0, 20 * 60),
    # passenger eVTOL (EH216-S class multicopter: ~130 km/h max)
    Envelope("evtol", "evtol", 28.0, 36.0, 0.0, 4.0, 3.0, 20.0, 2.0, True, 1.5, 30 * 60),
    # light helicopter (AC311/R44 class), standard-rate-ish turns
    Envelope("helicopter", "helicopter", 55.0, 70.0, 0.0, 7.5, 7.5, 9.0, 2.5, True, 5.0, 3 * 3600),
)}


@dataclass
class KinState:
    """Struct of arrays for N aircraft: position (m, local ENU), heading (rad from north), speeds."""

    x: F64
    y: F64
    z: F64
    hdg: F64
    gs: F64
    vs: F64
    battery: F64
    """Percent, 0..100."""

    @classmethod
    def zeros(cls, n: int) -> KinState:
        z = np.zeros(n)
        return cls(z.copy(), z.copy(), z.copy(), z.copy(), z.copy(), z.copy(), np.full(n, 100.0))

    @property
    def vx(self) -> F64:
        return self.gs * np.sin(self.hdg)

    @property
    def vy(self) -> F64:
        return self.gs * np.cos(self.hdg)


@dataclass
class Params:
    """Per-aircraft envelope values as arrays (one row per aircraft)."""

    max_ms: F64
    min_ms: F64
    climb_ms: F64
    descent_ms: F64
    turn_rad_s: F64
    accel_ms2: F64
    hover: B
    drain_per_s: F64
    gps_sigma_m: F64
    vaccel_ms2: F64 = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def of(cls, envelopes: list[Envelope]) -> Params:
        def a(name: str) -> F64:
            return np.array([getattr(e, name) for e in envelopes], dtype=np.float64)

        return cls(a("max_ms"), a("min_ms"), a("climb_ms"), a("descent_ms"), np.radians(a("turn_dps")),
                   a("accel_ms2"), np.array([e.hover for e in envelopes], dtype=bool), 100.0 / a("endurance_s"),
                   a("gps_sigma_m"), np.full(len(envelopes), 2.0))

    def accept_radius(self, gs: F64) -> F64:
        """Distance at which a waypoint counts as reached: at least one turn radius (fixed wings)."""
        turn_r = gs / np.maximum(self.turn_rad_s, 1e-3)
        return np.maximum(15.0, np.where(self.hover, 0.3 * turn_r, 1.2 * turn_r))


def _wrap(a: F64) -> F64:
    return (a + np.pi) % (2 * np.pi) - np.pi


def step(s: KinState, p: Params, target: F64, v_cmd: F64, dt: float, mask: B | None = None) -> None:
    """Advance every aircraft in ``mask`` by ``dt`` seconds toward ``target`` (N, 3) at ``v_cmd`` (N,) m/s.

    In place (the fleet is large and this runs every tick). Limits: |turn| <= turn rate, speed
    within [min, max] and changed at most accel * dt, vertical rate within [-descent, climb].
    Hover-capable aircraft brake to arrive (v <= sqrt(2 a d)) and stop to yaw for sharp turns; a
    ``v_cmd`` of 0 is a hover.
    """
    m = np.ones(len(s.x), dtype=bool) if mask is None else mask
    dx, dy, dz = target[:, 0] - s.x, target[:, 1] - s.y, target[:, 2] - s.z
    dist = np.hypot(dx, dy)
    want = np.where(dist > 0.5, np.arctan2(dx, dy), s.hdg)
    err = _wrap(want - s.hdg)
    max_turn = p.turn_rad_s * dt
    slow = p.hover & (s.gs < 1.0)  # a hovering multirotor yaws in place
    dh = np.where(slow, err, np.clip(err, -max_turn, max_turn))
    # speed command: arrive gently, slow for big heading errors (hover-capable only)
    v = np.minimum(v_cmd, p.max_ms)
    v = np.where(p.hover, np.minimum(v, np.minimum(np.sqrt(2.0 * p.accel_ms2 * dist), dist / dt)), v)
    v = np.where(p.hover & ((np.abs(err) > np.radians(60)) | (dist < 1.0)), 0.0, v)  # brake, yaw, go; hold
    v = np.maximum(v, p.min_ms)
    dv = np.clip(v - s.gs, -p.accel_ms2 * dt, p.accel_ms2 * dt)
    gs = np.clip(s.gs + dv, p.min_ms, p.max_ms)
    hdg = (s.hdg + dh) % (2 * np.pi)
    # vertical: proportional to the altitude error, clamped, with a vertical acceleration limit
    vs_cmd = np.clip(dz / 2.0, -p.descent_ms, p.climb_ms)
    vs = s.vs + np.clip(vs_cmd - s.vs, -p.vaccel_ms2 * dt, p.vaccel_ms2 * dt)
    vs = np.clip(vs, -p.descent_ms, p.climb_ms)
    # mean of old and new speed over the step (trapezoid)
    ve = 0.5 * (s.gs + gs)
    hmid = s.hdg + 0.5 * dh
    nx = s.x + ve * np.sin(hmid) * dt
    ny = s.y + ve * np.cos(hmid) * dt
    nz = s.z + 0.5 * (s.vs + vs) * dt
    # battery: cruise drain, x1.3 when hovering/slow (induced power), + climb effort
    load = 1.0 + 0.3 * (p.hover & (gs < 3.0)) + 0.5 * np.clip(vs, 0.0, None) / np.maximum(p.climb_ms, 1e-3)
    bat = np.maximum(0.0, s.battery - p.drain_per_s * load * dt)
    for name, new in (("x", nx), ("y", ny), ("z", nz), ("hdg", hdg), ("gs", gs), ("vs", vs), ("battery", bat)):
        cur = getattr(s, name)
        cur[m] = new[m]
