"""``lowalt bench feeds`` at a tiny size: every generated report is accepted (none refused), keys stable."""

from __future__ import annotations

import json

import pytest

from lowalt.bench import feeds as bench


def test_bench_feeds_small(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--vehicles", "10", "--packets", "200", "--aircraft", "5", "--messages", "150",
                       "--batch", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mavlink_accepted"] == 200 and out["mavlink_rejected"] == 0  # 10 SYSTEM_TIME + 200 positions
    assert out["adsb_messages"] == 150 and out["adsb_accepted"] > 0 and out["adsb_rejected"] == 0
    for key in ("mavlink_packets_per_s", "mavlink_decode_only_per_s", "adsb_messages_per_s", "adsb_decode_only_per_s"):
        assert out[key] > 0
