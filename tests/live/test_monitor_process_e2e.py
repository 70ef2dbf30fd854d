"""The server's default monitor, in a process of its own, on a real server: the restart test of the live
truth suite (a conflict raised over real websockets, acknowledged through ``POST /alerts/{id}/ack``,
cleared and logged; a second server run gives a new id and leaves the old log rows as they were) with
``monitor_process`` on. The rest of the suite runs the monitor in a worker thread (tests/conftest.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lowalt.settings import Settings
from tests.live.test_live_truth_e2e import (
    test_alert_ids_unique_across_a_restart_and_the_old_log_unchanged as test_with_the_monitor_process,
)

__all__ = ["test_with_the_monitor_process"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, monitor_process=True)
