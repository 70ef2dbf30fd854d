"""The pilot register (/pilots) on PostGIS: tenancy, masking, every bad input named, and the filing
check (the named pilot is the organisation's, holds the licence, valid on the flight date inclusive)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, get_args

import httpx

from lowalt.api.routers.pilots import LicenceClass, id_number_problem, mask_id
from lowalt.filing.pilot_rules import LICENCE_CLASSES
from lowalt.store.tables import PILOT_LICENCE_CLASSES
from tests.conftest import auth
from tests.filing.conftest import local_day, plan_body
from tests.portal.conftest import id_number

ZHANG_ID = id_number(11)


def pilot(name: str = "张伟", ident: str = ZHANG_ID, **kw: Any) -> dict[str, Any]:
    return {"name": name, "id_number": ident, **kw}


def licence(number: str, cls: str, expiry: date) -> dict[str, str]:
    return {"licence_number": number, "licence_class": cls, "licence_expiry": expiry.isoformat()}


def fields(r: httpx.Response) -> str:
    err = r.json()["error"]
    return " ".join([err["message"], *(f["field"] + " " + f["message"] for f in err.get("fields") or [])])


def test_identity_number_check_and_mask() -> None:
    good = id_number(7)
    assert id_number_problem(good) is None
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    assert "check digit" in (id_number_problem(wrong_check) or "")
    assert "birth date" in (id_number_problem(id_number(7, born="19901301")) or "")
    assert id_number_problem(good[:17]) and id_number_problem(good + "1")
    assert mask_id(good) == good[:3] + "*" * 11 + good[-4:]
    assert LICENCE_CLASSES == PILOT_LICENCE_CLASSES == get_args(LicenceClass)  # rule, schema and API agree


async def test_register_list_mask_and_tenancy(client: httpx.AsyncClient, operator_factory: Any,
                                              make_token: Any) -> None:
    a = await operator_factory("浮梁文旅")
    b = await operator_factory("景德镇物流")
    r = await client.post("/pilots", headers=a.headers,
                          json=pilot(**licence("CAAC-UAS-0001", "uas_small", date(2027, 6, 30))))
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["organisation"] == "浮梁文旅" and p["name"] == "张伟"
    assert p["id_number_masked"] == mask_id(ZHANG_ID) and ZHANG_ID not in r.text
    assert p["covers"] == ["light_uav", "micro_uav", "small_uav"] and p["licence_class_zh"].startswith("小型")
    no_licence = await client.post("/pilots", headers=a.headers, json=pilot("王强", id_number(12)))
    assert no_licence.status_code == 201 and no_licence.json()["licence_number"] is None
    assert [x["name"] for x in (await client.get("/pilots", headers=a.headers)).json()] == ["张伟", "王强"]
    # another organisation sees nothing of it, and cannot change or remove it (404, as for no pilot)
    assert (await client.get("/pilots", headers=b.headers)).json() == []
    peek = await client.get("/pilots", headers=b.headers, params={"organisation": "浮梁文旅"})
    assert peek.status_code == 422 and "organisation" in fields(peek)
    assert (await client.patch(f"/pilots/{p['id']}", headers=b.headers, json={"name": "x"})).status_code == 404
    assert (await client.delete(f"/pilots/{p['id']}", headers=b.headers)).status_code == 404
    # the centre sees every organisation's, or one's
    centre = auth(await make_token("centre"))
    assert len((await client.get("/pilots", headers=centre)).json()) == 2
    assert (await client.get("/pilots", headers=centre, params={"organisation": "景德镇物流"})).json() == []
    # renew: the licence's expiry moves; removed: gone
    renewed = await client.patch(f"/pilots/{p['id']}", headers=a.headers,
                                 json=licence("CAAC-UAS-0001", "uas_medium", date(2029, 6, 30)))
    assert renewed.status_code == 200 and renewed.json()["licence_expiry"] == "2029-06-30"
    assert "medium_uav" in renewed.json()["covers"]
    assert (await client.delete(f"/pilots/{p['id']}", headers=a.headers)).status_code == 204
    assert [x["name"] for x in (await client.get("/pilots", headers=a.headers)).json()] == ["王强"]
    assert (await client.delete(f"/pilots/{p['id']}", headers=a.headers)).status_code == 404


async def test_every_bad_input_is_a_4xx_naming_the_field(client: httpx.AsyncClient, operator_factory: Any) -> None:
    a = await operator_factory("浮梁文旅")
    exp = date(2027, 1, 1)
    cases: list[tuple[dict[str, Any], int, str]] = [
        (pilot(ident=ZHANG_ID[:17] + ("1" if ZHANG_ID[17] == "0" else "0")), 422, "id_number"),
        (pilot(ident="12345"), 422, "id_number"),
        (pilot(name="   "), 422, "name"),
        (pilot(licence_number="L-1"), 422, "licence_class"),  # a licence comes whole
        (pilot(licence_number="L-1", licence_class="uas_small"), 422, "licence_expiry"),
        (pilot(**licence("L-1", "pilot_of_everything", exp)), 422, "licence_class"),
        (pilot(**licence("L 1;", "uas_small", exp)), 422, "licence_number"),
        (pilot(licence_expiry="2027-02-30", licence_number="L-1", licence_class="uas_small"), 422, "licence_expiry"),
        (pilot(organisation="景德镇物流"), 422, "organisation"),  # operators register for their own only
        (pilot(nickname="x"), 422, "nickname"),
    ]
    for body, status, field in cases:
        r = await client.post("/pilots", headers=a.headers, json=body)
        assert r.status_code == status and field in fields(r), (body, r.status_code, r.text)
    first = await client.post("/pilots", headers=a.headers, json=pilot(**licence("L-1", "uas_small", exp)))
    assert first.status_code == 201
    same_licence = await client.post("/pilots", headers=a.headers, json=pilot("李娜", id_number(13),
                                                                              **licence("L-1", "uas_small", exp)))
    assert same_licence.status_code == 409 and "licence_number" in fields(same_licence)
    same_person = await client.post("/pilots", headers=a.headers, json=pilot())
    assert same_person.status_code == 409 and "id_number" in fields(same_person)
    pid = first.json()["id"]
    assert (await client.patch(f"/pilots/{pid}", headers=a.headers, json={})).status_code == 422
    half = await client.patch(f"/pilots/{pid}", headers=a.headers, json={"licence_expiry": "2030-01-01"})
    assert half.status_code == 422 and "licence_number" in fields(half)
    assert (await client.patch("/pilots/abc", headers=a.headers, json={"name": "x"})).status_code == 422


async def test_filing_checks_the_register_and_the_expiry_day_inclusive(client: httpx.AsyncClient,
                                                                       operator_factory: Any) -> None:
    a = await operator_factory("浮梁文旅", {"FL-S1": "small_uav", "FL-L1": "light_uav"})
    d_start = local_day(1, 10)  # a flight on D (Beijing), the licence's last day
    d = d_start.date()
    assert (await client.post("/pilots", headers=a.headers,
                              json=pilot(**licence("CAAC-UAS-7", "uas_small", d)))).status_code == 201

    async def file(aircraft: str, category: str, start: Any, **kw: Any) -> dict[str, Any]:
        r = await client.post("/plans", headers=a.headers, json=plan_body(aircraft, category, start=start, **kw))
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    on_d = await file("FL-S1", "small_uav", d_start, licence_id="CAAC-UAS-7")
    assert on_d["state"] == "approved", on_d["decision"]["reasons"]
    assert {"rule": "pilot", "outcome": "pass", "code": "ok"} in on_d["decision"]["checks"]
    on_d1 = await file("FL-S1", "small_uav", d_start + timedelta(days=1), licence_id="CAAC-UAS-7")
    assert on_d1["state"] == "rejected"
    reason = next(r for r in on_d1["decision"]["reasons"] if r["rule"] == "pilot")
    assert reason["code"] == "licence_expired" and d.isoformat() in reason["message_zh"]
    assert "Art. 16" in reason["details"]["article"] and on_d1["decision"]["alternatives"] == []
    # the licence is another pilot's; a pilot the register does not know; a class too small
    other = await file("FL-S1", "small_uav", d_start + timedelta(hours=2), licence_id="CAAC-UAS-7", pilot="李娜")
    assert [r["code"] for r in other["decision"]["reasons"]] == ["licence_other_pilot"]
    stranger = await file("FL-L1", "light_uav", d_start + timedelta(hours=4), pilot="赵六")
    assert stranger["state"] == "rejected" and stranger["decision"]["reasons"][0]["code"] == "pilot_unregistered"
    assert "赵六" in stranger["decision"]["reasons"][0]["message_zh"]


async def test_an_organisation_without_a_register_files_as_before(client: httpx.AsyncClient,
                                                                  operator_factory: Any) -> None:
    a = await operator_factory("没有名册的单位", {"X-1": "light_uav"})
    r = await client.post("/plans", headers=a.headers, json=plan_body("X-1", start=local_day(1, 10), pilot="谁都行"))
    assert r.status_code == 201 and r.json()["state"] == "approved"
    assert all(c["rule"] != "pilot" for c in r.json()["decision"]["checks"])


async def test_the_centre_approving_a_referred_plan_rechecks_the_licence(client: httpx.AsyncClient,
                                                                          operator_factory: Any,
                                                                          make_token: Any) -> None:
    """Approval re-runs every rule: a licence renewed to end before the flight since filing refuses the
    approval (409 with the pilot reason); renewed again past the flight date, it is approved."""
    a = await operator_factory("浮梁文旅", {"FL-S1": "small_uav"})
    start = local_day(2, 10)
    p = (await client.post("/pilots", headers=a.headers,
                           json=pilot(**licence("CAAC-UAS-9", "uas_small", start.date())))).json()
    plan = (await client.post("/plans", headers=a.headers, json=plan_body(
        "FL-S1", "small_uav", start=start, floor=150, ceiling=200, licence_id="CAAC-UAS-9"))).json()
    assert plan["state"] == "referred", plan["decision"]["reasons"]
    day_before = start.date() - timedelta(days=1)
    r = await client.patch(f"/pilots/{p['id']}", headers=a.headers, json=licence("CAAC-UAS-9", "uas_small", day_before))
    assert r.status_code == 200
    centre = auth(await make_token("centre"))
    refused = await client.post(f"/plans/{plan['id']}/approve", headers=centre, json={})
    assert refused.status_code == 409, refused.text
    assert [x["code"] for x in refused.json()["error"]["reasons"]] == ["licence_expired"]
    await client.patch(f"/pilots/{p['id']}", headers=a.headers, json=licence("CAAC-UAS-9", "uas_small", start.date()))
    approved = await client.post(f"/plans/{plan['id']}/approve", headers=centre, json={})
    assert approved.status_code == 200 and approved.json()["state"] == "approved", approved.text
