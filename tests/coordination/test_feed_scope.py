"""The per-party alert feed rule (issue #19), pure: every role against every alert kind, both ways."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import shapely

from lowalt.airspace.geojson import load_airspace
from lowalt.airspace.model import VolumeKind
from lowalt.coordination.feed_scope import (
    ATC_AIRSPACE_VOLUMES,
    FULL,
    NONCOOP_PREFIX,
    FeedScope,
    Party,
    alert_visible,
    feed_visible,
    scope_of,
    visible_alerts,
)
from lowalt.identity.model import Role
from lowalt.live.hub import LiveHub
from lowalt.live.service import noncoop_track_id
from lowalt.metrics import Metrics
from lowalt.settings import DEFAULT_AIRSPACE

ORGS = {"OWN-1": "fleet-a", "OTHER-1": "fleet-b"}


def _alert(kind: str, *aircraft: str, volume: str | None = None) -> dict[str, Any]:
    return {"id": f"{kind}-x", "kind": kind, "aircraft": list(aircraft),
            "details": {"volume": volume, "t_enter": 0.0} if volume else {}}


NC = noncoop_track_id("radar-1", "7")
ALERTS: dict[str, dict[str, Any]] = {
    "conflict": _alert("conflict", "OWN-1", "OTHER-1"),
    "conflict_noncoop": _alert("conflict", "OTHER-1", NC),
    "intrusion_no_fly": _alert("intrusion", "OTHER-1", volume="chrdi_602"),
    "intrusion_zsjd_core": _alert("intrusion", "OTHER-1", volume="zsjd_core"),
    "intrusion_atc_notice": _alert("intrusion", "OTHER-1", volume="ATC-20261130-a1b2c3.v2"),
    "intrusion_military": _alert("intrusion", "OTHER-1", volume="MIL-20261130-a1b2c3.v1"),
    "intrusion_local": _alert("intrusion", "OWN-1", volume="LOC-20261130-a1b2c3.v1"),
    "intrusion_noncoop": _alert("intrusion", NC, volume="fl_restricted_x"),
    "nonconformance": _alert("nonconformance", "OWN-1"),
    "unauthorised": _alert("unauthorised", "OTHER-1"),
    "lost_contact": _alert("lost_contact", "OWN-1"),
}
EVERYTHING = set(ALERTS)
EXPECTED: dict[tuple[Role, str | None], set[str]] = {
    (Role.CENTRE, None): EVERYTHING,
    (Role.VIEWER, None): EVERYTHING,
    (Role.ADMIN, None): EVERYTHING,
    (Role.POLICE, "jdz-police"): {"conflict_noncoop", "intrusion_no_fly", "intrusion_zsjd_core",
                                  "intrusion_atc_notice", "intrusion_military", "intrusion_local",
                                  "intrusion_noncoop", "unauthorised"},
    (Role.MILITARY, "pla-airspace"): {"intrusion_military"},
    (Role.ATC, "zsjd-atc"): {"intrusion_zsjd_core", "intrusion_atc_notice"},
    (Role.OPERATOR, "fleet-a"): {"conflict", "intrusion_local", "nonconformance", "lost_contact"},
    (Role.OPERATOR, None): set(),  # an operator without an organisation owns nothing
    (Role.DEVICE, "fleet-a"): set(),
}


def test_every_role_is_in_the_table() -> None:
    assert {role for role, _ in EXPECTED} == set(Role)


@pytest.mark.parametrize(("role", "org"), list(EXPECTED))
@pytest.mark.parametrize("name", list(ALERTS))
def test_each_role_receives_exactly_its_alerts(role: Role, org: str | None, name: str) -> None:
    visible = feed_visible(role, org, ALERTS[name], ORGS.get)
    assert visible is (name in EXPECTED[(role, org)]), f"{role.value} / {name}"


def test_volume_names_match_by_prefix_only_with_the_dash() -> None:
    mil = FeedScope(Party.MILITARY)
    assert alert_visible(mil, _alert("intrusion", "A", volume="MIL-1.v1"))
    assert not alert_visible(mil, _alert("intrusion", "A", volume="MILITARY_RANGE"))
    assert not alert_visible(mil, _alert("conflict", "A", "B") | {"details": {"volume": "MIL-1.v1"}})
    atc = FeedScope(Party.ATC)
    assert not alert_visible(atc, _alert("intrusion", "A", volume="zsjd_core_extra"))
    assert not alert_visible(atc, _alert("intrusion", "A", volume="zstx_protection"))  # another airport's


def test_police_see_alerts_of_non_cooperative_tracks_by_their_namespace() -> None:
    assert NC.startswith(NONCOOP_PREFIX)
    police = scope_of(Role.POLICE, "jdz-police")
    assert alert_visible(police, _alert("lost_contact", NC))
    assert not alert_visible(police, _alert("lost_contact", "nc-lookalike"))  # a registered id, not a sensor's


def test_scopes_share_a_key_except_operators() -> None:
    assert scope_of(Role.POLICE, "a") == scope_of(Role.POLICE, "b") == FeedScope(Party.POLICE)
    assert scope_of(Role.CENTRE, "x") == scope_of(Role.VIEWER, None) == FULL
    assert scope_of(Role.OPERATOR, "a") != scope_of(Role.OPERATOR, "b")


def test_atc_airspace_volumes_are_the_intrusion_volumes_inside_the_zsjd_protection_area() -> None:
    volumes = {v.id: v for v in load_airspace(DEFAULT_AIRSPACE).volumes}
    area = volumes["zsjd_protection"].polygon
    inside = {v.id for v in volumes.values() if v.kind in (VolumeKind.NO_FLY, VolumeKind.RESTRICTED)
              and shapely.intersection(v.polygon, area).area >= 0.99 * v.polygon.area}
    assert inside and inside == set(ATC_AIRSPACE_VOLUMES) - {"zsjd_protection"}


def _hub() -> LiveHub:
    return LiveHub(Metrics(process=False))


def test_the_diff_is_built_once_per_scope_and_empty_scopes_get_nothing() -> None:
    new = [ALERTS["conflict"], ALERTS["intrusion_military"]]
    diff = _hub().alert_diff(new, [], [], 1.0)
    mil = diff(FeedScope(Party.MILITARY))
    assert mil is not None and b"MIL-" in mil and b"conflict" not in mil
    assert diff(FeedScope(Party.MILITARY)) is mil  # shared, not rebuilt
    assert diff(FeedScope(Party.ATC)) is None
    assert len(visible_alerts(FULL, new)) == 2 and visible_alerts(FeedScope(Party.ATC), new) == []


def _cleared(payload: bytes | None) -> list[str]:
    return list(orjson.loads(payload)["cleared"]) if payload is not None else []


def test_a_cleared_id_goes_to_the_scopes_that_may_have_received_it() -> None:
    hub, atc, police = _hub(), FeedScope(Party.ATC), FeedScope(Party.POLICE)
    conflict, core = {**ALERTS["conflict"], "id": "conflict-1"}, {**ALERTS["intrusion_zsjd_core"], "id": "intrusion-1"}
    hub.alert_diff([conflict, core], [], [], 1.0)
    diff = hub.alert_diff([], [], ["conflict-1", "intrusion-1", "lost_contact-never-sent"], 2.0)
    assert _cleared(diff(FULL)) == ["conflict-1", "intrusion-1", "lost_contact-never-sent"]
    assert _cleared(diff(atc)) == ["intrusion-1", "lost_contact-never-sent"]  # an unknown id: to everyone
    assert _cleared(diff(police)) == ["intrusion-1", "lost_contact-never-sent"]
    assert _cleared(hub.alert_diff([], [], ["intrusion-1"], 3.0)(atc)) == ["intrusion-1"]  # forgotten: unknown
    only_conflict = hub.alert_diff([conflict], [], [], 4.0)
    assert only_conflict(atc) is None
    assert hub.alert_diff([], [], ["conflict-1"], 5.0)(atc) is None  # nothing left for ATC: no message


def test_the_hub_forgets_what_it_sent_when_its_last_subscriber_leaves() -> None:
    hub = _hub()
    sub = hub.add(scope=FeedScope(Party.ATC))
    hub.alert_diff([{**ALERTS["conflict"], "id": "conflict-2"}], [], [], 1.0)
    assert hub.alert_diff([], [], ["conflict-2"], 2.0)(FeedScope(Party.ATC)) is None
    hub.alert_diff([{**ALERTS["conflict"], "id": "conflict-3"}], [], [], 3.0)
    hub.remove(sub)
    assert _cleared(hub.alert_diff([], [], ["conflict-3"], 4.0)(FeedScope(Party.ATC))) == ["conflict-3"]
