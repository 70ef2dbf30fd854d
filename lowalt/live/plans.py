"""What the live monitor knows of approved plans, taken from the filing service.

``FilingPlanSource.refresh`` runs on the event loop before each tick and freezes the approved
and active plans into a ``PlanPicture`` (arrays + a dict), rebuilt only when filing's holdings
change or the minute turns; the monitor thread only ever reads that frozen picture.

Bands: a plan filed with both limits AGL is checked in true height (the aircraft's AMSL
altitude minus the terrain under it); otherwise in AMSL with the footprint's conservative band.

It also turns the first telemetry of an aircraft inside its approved window into the plan's
activation (approved -> active, 条例 Art. 30 readiness), once per plan.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

import numpy as np

from lowalt.conflict.conformance import ConformancePlans
from lowalt.live.monitor import PlanPicture
from lowalt.surveillance.tracks import Snapshot

log = logging.getLogger(__name__)
COMPLETED_GRACE_S = 120.0
"""How long after its plan is completed a landed aircraft may still report without being unauthorised."""
EMPTY = PlanPicture(ConformancePlans(np.array([], dtype=object), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0)),
                    {}, [], np.zeros(0, dtype=np.bool_))


class FilingPlanSource:
    def __init__(self, filing: Any) -> None:
        self.filing = filing
        self._key: tuple[int, int] | None = None
        self._picture: PlanPicture = EMPTY
        self._activated: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    def refresh(self, now: float) -> None:
        key = (self.filing.held_version, int(now // 10))
        if key == self._key:
            return
        self._key = key
        held = list(self.filing.held.values())
        recent = self.filing.recently_completed
        for pid in [pid for pid, (_, _, at) in recent.items() if at < now - COMPLETED_GRACE_S]:
            del recent[pid]
        held += [(p, replace(fp, end_s=max(fp.end_s, at + COMPLETED_GRACE_S))) for p, fp, at in recent.values()]
        if not held:
            self._picture = EMPTY
            return
        plans = [p for p, _ in held]
        fps = [fp for _, fp in held]
        agl = np.array([np.isfinite(fp.floor_agl) and np.isfinite(fp.ceiling_agl) for fp in fps], dtype=np.bool_)
        floor = np.array([fp.floor_agl if a else fp.floor_amsl for fp, a in zip(fps, agl, strict=True)])
        ceiling = np.array([fp.ceiling_agl if a else fp.ceiling_amsl for fp, a in zip(fps, agl, strict=True)])
        start = np.array([fp.start_s for fp in fps])
        end = np.array([fp.end_s for fp in fps])
        # per aircraft: the plan whose window holds now, else the nearest window
        best: dict[str, tuple[float, int]] = {}
        for k, p in enumerate(plans):
            gap = 0.0 if start[k] <= now <= end[k] else min(abs(now - start[k]), abs(now - end[k]))
            if p.aircraft_id not in best or gap < best[p.aircraft_id][0]:
                best[p.aircraft_id] = (gap, k)
        self._picture = PlanPicture(
            ConformancePlans(np.array([fp.area for fp in fps], dtype=object), floor, ceiling, start, end),
            {aid: k for aid, (_, k) in best.items()}, [p.id for p in plans], agl,
            states=[p.state.value for p in plans],
        )

    def picture(self, now: float) -> PlanPicture:
        return self._picture

    def activate_flying(self, snap: Snapshot, now: float) -> None:
        """Approved plans whose aircraft is reporting inside the window become active (once each)."""
        pic = self._picture
        if not pic.plan_ids:
            return
        from lowalt.filing.service import Filer, PlanNotFound, TransitionRefused

        for k, aid in enumerate(snap.ids):
            if not snap.cooperative[k]:
                continue
            row = pic.plan_of.get(aid)
            if row is None or pic.states[row] != "approved":
                continue
            pid = pic.plan_ids[row]
            if pid in self._activated or not pic.plans.start_s[row] <= now <= pic.plans.end_s[row]:
                continue
            self._activated.add(pid)

            async def go(plan_id: str = pid) -> None:
                try:
                    await self.filing.activate(plan_id, Filer("surveillance", None, True))
                except (PlanNotFound, TransitionRefused) as exc:
                    log.info("activation_skipped", extra={"plan": plan_id, "why": str(exc)})
                except Exception as exc:  # database away: try again later
                    self._activated.discard(plan_id)
                    log.warning("activation_failed", extra={"plan": plan_id, "error": str(exc)[:200]})

            task = asyncio.ensure_future(go())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
