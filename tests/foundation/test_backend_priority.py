"""Background SQL (the analytics roll-up) runs on a reniced PostgreSQL backend; other backends are untouched."""

from __future__ import annotations

import os

from sqlalchemy import text

from lowalt.store.db import BACKGROUND_NICE, Database, lower_backend_priority


async def test_a_local_backend_is_reniced_and_the_others_are_not(database: Database) -> None:
    async with database.engine.connect() as background, database.engine.connect() as other:
        pid = (await background.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        other_pid = (await other.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert os.getpriority(os.PRIO_PROCESS, pid) < BACKGROUND_NICE
        assert await lower_backend_priority(background) is True
        assert os.getpriority(os.PRIO_PROCESS, pid) == BACKGROUND_NICE
        assert os.getpriority(os.PRIO_PROCESS, other_pid) < BACKGROUND_NICE
        assert await lower_backend_priority(background, nice=5) is True  # never raised back
        assert os.getpriority(os.PRIO_PROCESS, pid) == BACKGROUND_NICE
