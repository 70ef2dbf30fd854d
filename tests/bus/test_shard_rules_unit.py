"""The shard bookkeeping's pure rules (``lowalt.live.shards``), each on both sides: the hand-over ledger of a
monitor shard, the merge of every shard's assessments, the clear of a handed-over alert no shard adopted,
and the cluster-wide shard terms a node checks before it takes a shard lease."""

from __future__ import annotations

import numpy as np

from lowalt.live.shards import ShardLedger

CONFLICT, LOST = "conflict", "lost_contact"


def keys(*k: int) -> np.ndarray:
    return np.array(k, dtype=np.int64)


def mask(*m: bool) -> np.ndarray:
    return np.array(m, dtype=np.bool_)


def ledger_with(*alerts: tuple[str, int, str]) -> ShardLedger:
    led = ShardLedger()
    led.index(((kind, key), aid) for kind, key, aid in alerts)
    return led


def test_an_alert_whose_finding_left_this_shard_is_handed_over_once_one_still_here_is_not() -> None:
    led = ledger_with((CONFLICT, 7, "c-7"), (CONFLICT, 8, "c-8"), (LOST, 7, "l-7"))
    led.begin()
    led.sort(CONFLICT, keys(7, 8, 9), mask(False, True, False))  # 7 foreign, 8 owned, 9 foreign and unknown
    led.sort(LOST, keys(7), mask(True))  # same key, other kind: owned
    s = led.settle([], [], {"c-7", "c-8", "l-7"})
    assert s.handed == ["c-7"] and s.back == [] and s.silent == frozenset()
    assert led.handed == {"c-7"}
    led.begin()  # still foreign next pass: not handed twice
    led.sort(CONFLICT, keys(7), mask(False))
    assert led.settle([], [], {"c-8", "l-7"}).handed == []


def test_a_foreign_finding_whose_alert_is_not_published_here_is_not_handed() -> None:
    led = ledger_with((CONFLICT, 7, "c-7"))
    led.begin()
    led.sort(CONFLICT, keys(7), mask(False))
    assert led.settle([], [], set()).handed == [] and led.handed == set()


def test_a_new_alert_is_indexed_so_a_later_pass_can_hand_it_over() -> None:
    led = ledger_with()
    led.begin()
    led.sort(CONFLICT, keys(5), mask(True))
    assert led.settle([((CONFLICT, 5), "c-5")], [], {"c-5"}).handed == []
    led.begin()
    led.sort(CONFLICT, keys(5), mask(False))
    assert led.settle([], [], {"c-5"}).handed == ["c-5"]


def test_a_handed_alert_whose_finding_came_back_is_owned_again_one_still_away_is_not() -> None:
    led = ledger_with((CONFLICT, 7, "c-7"), (CONFLICT, 8, "c-8"))
    led.begin()
    led.sort(CONFLICT, keys(7, 8), mask(False, False))
    assert led.settle([], [], {"c-7", "c-8"}).handed == ["c-7", "c-8"]
    led.begin()
    led.sort(CONFLICT, keys(7, 8), mask(True, False))
    s = led.settle([], [], set())
    assert s.back == ["c-7"] and s.handed == [] and led.handed == {"c-8"}


def test_a_cleared_alert_leaves_the_ledger_and_its_clear_is_silent_only_when_it_was_handed() -> None:
    led = ledger_with((CONFLICT, 7, "c-7"), (CONFLICT, 8, "c-8"))
    led.begin()
    led.sort(CONFLICT, keys(7), mask(False))
    led.settle([], [], {"c-7", "c-8"})
    led.begin()
    s = led.settle([], [((CONFLICT, 7), "c-7"), ((CONFLICT, 8), "c-8")], set())
    assert s.silent == frozenset({"c-7"})  # c-8 was this shard's: a real clear
    assert led.handed == set() and led.id_of == {}
    led.begin()  # its key is forgotten: a foreign finding with that key hands nothing over
    led.sort(CONFLICT, keys(7), mask(False))
    assert led.settle([], [], {"c-7"}).handed == []


def test_holding_every_shard_brings_back_everything_handed_and_reindexes_later() -> None:
    led = ledger_with((CONFLICT, 7, "c-7"), (CONFLICT, 8, "c-8"))
    led.begin()
    led.sort(CONFLICT, keys(8, 7), mask(False, False))
    led.settle([], [], {"c-7", "c-8"})
    assert led.unshard() == ["c-7", "c-8"] and led.handed == set() and not led.indexed
    assert led.unshard() == []
    led.index([((CONFLICT, 9), "c-9")])  # a shard again: the index is rebuilt from what is active then
    assert led.indexed and led.id_of == {(CONFLICT, 9): "c-9"}
    led.index([((CONFLICT, 1), "c-1")])  # once
    assert led.id_of == {(CONFLICT, 9): "c-9"}


def test_an_adopted_alert_is_indexed_and_says_whether_it_was_handed_from_here() -> None:
    led = ledger_with((CONFLICT, 7, "c-7"))
    led.begin()
    led.sort(CONFLICT, keys(7), mask(False))
    led.settle([], [], {"c-7"})
    assert led.adopted((CONFLICT, 7), "c-7") is True  # stays handed until a pass owns it
    assert led.adopted((CONFLICT, 3), "c-3") is False and led.id_of[(CONFLICT, 3)] == "c-3"
    plain = ShardLedger()  # not a shard: nothing indexed
    assert plain.adopted((CONFLICT, 3), "c-3") is False and plain.id_of == {}
