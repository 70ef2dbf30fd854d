"""The live hub's backpressure: a reader that keeps falling behind is dropped, one that keeps up is not."""

from __future__ import annotations

from lowalt.live.hub import LiveHub
from lowalt.metrics import Metrics


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _hub(**kw: float) -> tuple[LiveHub, Metrics, Clock]:
    metrics, clock = Metrics(process=False), Clock()
    return LiveHub(metrics, queue_size=2, clock=clock, **kw), metrics, clock  # type: ignore[arg-type]


def _counter(metrics: Metrics, name: str) -> float:
    return metrics.total(name)


def _flood(hub: LiveHub, n: int) -> None:
    for _ in range(n):
        hub.publish(lambda bbox, snapshot, scope: b"snapshot" if snapshot else b"diff")


def test_a_subscriber_that_never_reads_is_dropped_after_max_strikes_within_the_window() -> None:
    hub, metrics, clock = _hub(max_strikes=3, strike_window_s=60.0)
    sub = hub.add()
    for k in range(3):
        clock.t = 10.0 * k
        _flood(hub, 3)  # 2 fit, the third is a strike; the queue is emptied and a snapshot is due
    assert sub.closed and sub not in hub.subscribers
    assert sub.queue.get_nowait() is None  # the sender closes the socket (1008)
    assert _counter(metrics, "lowalt_live_dropped_total") == 1
    assert _counter(metrics, "lowalt_live_skipped_total") > 0


def test_a_reader_that_drains_between_floods_is_still_dropped() -> None:
    # the old counter reset on every successful put, so this reader was never dropped
    hub, _, clock = _hub(max_strikes=3, strike_window_s=60.0)
    sub = hub.add()
    for k in range(3):
        clock.t = 5.0 * k
        _flood(hub, 3)
        if not sub.closed:
            assert sub.needs_snapshot
            _flood(hub, 1)  # the resync snapshot fits: a "flush" that used to reset the strikes
            while not sub.queue.empty():
                sub.queue.get_nowait()
    assert sub.closed


def test_strikes_older_than_the_window_are_forgiven() -> None:
    hub, metrics, clock = _hub(max_strikes=3, strike_window_s=60.0)
    sub = hub.add()
    for k in range(6):
        clock.t = 30.01 * k  # never 3 strikes within 60 s
        _flood(hub, 3)
        while not sub.queue.empty():
            sub.queue.get_nowait()
    assert not sub.closed and _counter(metrics, "lowalt_live_dropped_total") == 0


def test_exactly_max_strikes_at_the_window_edge_drops() -> None:
    hub, _, clock = _hub(max_strikes=3, strike_window_s=60.0)
    sub = hub.add()
    for t in (0.0, 30.0, 60.0):  # the first strike is exactly 60 s old: still inside
        clock.t = t
        _flood(hub, 3)
    assert sub.closed


def test_a_reader_that_keeps_up_is_never_dropped_and_gets_a_snapshot_first() -> None:
    hub, metrics, _ = _hub(max_strikes=1)
    sub = hub.add()
    got = []
    for _ in range(50):
        _flood(hub, 1)
        got.append(sub.queue.get_nowait())
    assert got[0] == b"snapshot" and set(got[1:]) == {b"diff"}
    assert not sub.closed and _counter(metrics, "lowalt_live_skipped_total") == 0
