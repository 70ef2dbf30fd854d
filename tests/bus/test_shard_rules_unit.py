"""The shard bookkeeping's pure rules (``lowalt.live.shards``), each on both sides: the hand-over ledger of a
monitor shard, the merge of every shard's assessments, the clear of a handed-over alert no shard adopted,
and the cluster-wide shard terms a node checks before it takes a shard lease."""

from __future__ import annotations

from typing import Any

import numpy as np

from lowalt.live.shards import (
    REMOTE_KEEP_S,
    STATUS_CARRY_S,
    UNADOPTED_AFTER_S,
    UNADOPTED_REASON,
    ShardLedger,
    ShardTerms,
    ShardTick,
    cleared_unadopted,
    lease_holder,
    lease_value,
    merge_shards,
    terms_keys,
    terms_mismatch,
    unadopted,
)

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
    led.begin()  # still foreign next pass: not handed twice (even if the caller still listed it)
    led.sort(CONFLICT, keys(7), mask(False))
    assert led.settle([], [], {"c-7", "c-8", "l-7"}).handed == []


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


def alert(aid: str, last_seen: float, **kw: Any) -> dict[str, Any]:
    return {"id": aid, "last_seen": last_seen, **kw}


T = 1000.0  # monotonic seconds


def always(_aid: str) -> bool:
    return True


def test_merge_the_newest_last_seen_wins_between_shards_and_this_nodes_own_last() -> None:
    remote = {"s1": (T, {"x": alert("x", 5.0, by="s1")}, {"A": "ok"}),
              "s2": (T, {"x": alert("x", 6.0, by="s2"), "y": alert("y", 1.0, by="s2")}, {"A": "conflict"})}
    m = merge_shards(remote, {}, {}, {}, {}, always, T)
    assert m.active["x"]["by"] == "s2" and m.active["y"]["by"] == "s2"
    older: dict[str, ShardTick] = {"s1": (T, {"x": alert("x", 6.0, by="s1")}, {}), "s2": (T, {"x": alert("x", 5.0, by="s2")}, {})}
    assert merge_shards(older, {}, {}, {}, {}, always, T).active["x"]["by"] == "s1"  # not the order
    same: dict[str, ShardTick] = {"s1": (T, {"x": alert("x", 6.0, by="s1")}, {}), "s2": (T, {"x": alert("x", 6.0, by="s2")}, {})}
    assert merge_shards(same, {}, {}, {}, {}, always, T).active["x"]["by"] == "s1"  # a tie keeps the first
    own = merge_shards(remote, {"x": alert("x", 0.0, by="me")}, {"A": "deviating"}, {}, {}, always, T)
    assert own.active["x"]["by"] == "me" and own.statuses == {"A": "deviating"}  # own last, even if older


def test_merge_keeps_a_silent_shard_for_remote_keep_s_exactly_and_drops_it_after() -> None:
    remote = {"dead": (T, {"x": alert("x", 1.0)}, {"A": "ok"}), "live": (T + 10, {}, {"B": "ok"})}
    at_keep = merge_shards(remote, {}, {}, {}, {}, always, T + REMOTE_KEEP_S)
    assert "x" in at_keep.active and at_keep.statuses == {"A": "ok", "B": "ok"} and at_keep.expired == []
    past = merge_shards(remote, {}, {}, {}, {}, always, T + REMOTE_KEEP_S + 0.001)
    assert past.active == {} and past.statuses == {"B": "ok"} and past.expired == ["dead"]


def test_merge_carries_a_status_no_shard_has_for_less_than_status_carry_s_while_tracked() -> None:
    shown = {"A": "conflict", "B": "ok", "C": "ok"}
    m = merge_shards({}, {}, {"C": "ok"}, shown, {}, always, T)  # A, B crossing: carried from now
    assert m.statuses == shown and m.carried == {"A": T, "B": T}
    just = merge_shards({}, {}, {}, shown, {"A": T, "B": T}, always, T + STATUS_CARRY_S - 0.001)
    assert just.statuses == {"A": "conflict", "B": "ok", "C": "ok"} and set(just.carried) == {"A", "B", "C"}
    ends = merge_shards({}, {}, {}, shown, {"A": T, "B": T + 0.002}, always, T + STATUS_CARRY_S)
    assert ends.statuses == {"B": "ok", "C": "ok"} and "A" not in ends.carried  # exactly STATUS_CARRY_S: gone
    untracked = merge_shards({}, {}, {}, shown, {}, lambda aid: aid != "B", T)
    assert set(untracked.statuses) == {"A", "C"}  # B's track ended: nothing to carry
    back = merge_shards({"s1": (T, {}, {"A": "ok"})}, {}, {}, shown, {"A": T}, always, T + 1)
    assert back.statuses["A"] == "ok" and "A" not in back.carried  # a shard has it again: no longer carried


def test_a_handed_alert_some_shard_shows_is_adopted_one_none_shows_is_cleared_from_the_window_on() -> None:
    handed = {"seen": T, "early": T + 0.001, "due": T}
    assert unadopted(handed, lambda aid: aid == "seen", T + UNADOPTED_AFTER_S) == (["seen"], ["due"])
    assert unadopted(handed, lambda aid: False, T + UNADOPTED_AFTER_S - 0.001) == ([], [])  # not yet
    assert unadopted(handed, lambda aid: True, T + 10 * UNADOPTED_AFTER_S) == (["seen", "early", "due"], [])
    assert UNADOPTED_AFTER_S > 15.0  # longer than the new owner waits (POOL_KEEP_S): never one being adopted


def test_an_unadopted_alert_is_cleared_with_its_reason_and_keeps_its_id_and_details() -> None:
    w: dict[str, Any] = {"id": "c-1", "kind": "conflict", "state": "ongoing", "cleared_at": None, "last_seen": 5.0,
         "details": {"t_in": 3.0}}
    out = cleared_unadopted(w, 9.0)
    assert out["id"] == "c-1" and out["state"] == "cleared" and out["cleared_at"] == 9.0 and out["last_seen"] == 5.0
    assert out["details"] == {"t_in": 3.0, "cleared_reason": UNADOPTED_REASON} == {"t_in": 3.0,
                                                                                  "cleared_reason": "handed_over_unadopted"}
    assert w["state"] == "ongoing" and "cleared_reason" not in w["details"]  # the handed alert is not changed


def test_a_lease_value_carries_its_holder_and_shard_terms_and_an_old_plain_value_is_read_too() -> None:
    value = lease_value("node-a", ShardTerms(2))
    assert lease_holder(value) == ("node-a", ShardTerms(2, 0.25))
    assert lease_holder(lease_value("n", ShardTerms(4, 0.5))) == ("n", ShardTerms(4, 0.5))
    assert lease_holder("node-a", "monitor") == ("node-a", ShardTerms(1))  # before the terms: one monitor
    assert lease_holder("node-a", "monitor.1") == ("node-a", None)  # before the terms: count unknown
    assert lease_holder("123", "monitor.0") == ("123", None) and lease_holder('{"node": "x"}')[1] is None
    assert terms_keys(1) == ["monitor", "monitor.0"] and terms_keys(3) == ["monitor", "monitor.0", "monitor.1",
                                                                          "monitor.2"]


def test_a_node_refuses_shard_leases_only_when_another_node_holds_one_with_other_terms() -> None:
    mine = ShardTerms(2)
    agree = {"monitor": None, "monitor.0": lease_value("a", ShardTerms(2)), "monitor.1": None}
    assert terms_mismatch("b", mine, agree) is None
    own = {"monitor.0": lease_value("b", ShardTerms(3))}  # its own (e.g. before a restart with a new setting)
    assert terms_mismatch("b", mine, own) is None
    assert terms_mismatch("b", mine, {"monitor.1": "a"}) is None  # an older node: terms unknown
    more = {"monitor": None, "monitor.0": lease_value("a", ShardTerms(3)), "monitor.1": lease_value("a", ShardTerms(3))}
    why = terms_mismatch("b", mine, more)
    assert why is not None and why.startswith("lease monitor.0 is held by node a with 3 monitor shard(s)")
    assert "this node has 2" in why and "LOWALT_MONITOR_SHARDS" in why
    one = terms_mismatch("b", mine, {"monitor": "a"})  # a plain one-monitor node
    assert one is not None and "node a with 1 monitor shard(s)" in one
    cell = terms_mismatch("b", mine, {"monitor.0": lease_value("a", ShardTerms(2, 0.5))})
    assert cell is not None and "0.5 deg" in cell
