"""One AircraftCategory: every layer derives its view of a category (wire value, separation row, legal
class, label) from ``lowalt.aircraft_category``, and a crewed GA aeroplane can register and file."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from lowalt.aircraft_category import (
    CATEGORIES,
    SEPARATION_KEYS,
    UNKNOWN_SEPARATION_CODE,
    AircraftCategory,
    LegalClass,
    separation_code,
)
from lowalt.airspace import index as airspace_index
from lowalt.airspace import model as airspace_model
from lowalt.conflict.separation import ROWS, SeparationMatrix, separation_row
from lowalt.filing.messages import CATEGORY_ZH
from lowalt.live.monitor import category_code
from tests.filing.conftest import local_day, plan_body

WIRE = ["micro_uav", "light_uav", "small_uav", "medium_uav", "large_uav", "evtol", "helicopter", "crewed_ga"]
"""The wire values the API has always used: they must not change."""
LEGAL = {"micro_uav": ("micro", "微型"), "light_uav": ("light", "轻型"), "small_uav": ("small", "小型"),
         "medium_uav": ("medium", "中型"), "large_uav": ("large", "大型"), "evtol": ("large", "大型"),
         "helicopter": ("crewed", "有人驾驶"), "crewed_ga": ("crewed", "有人驾驶")}


def test_wire_values_are_stable_and_ordered_by_separation_code() -> None:
    assert [c.value for c in CATEGORIES] == WIRE
    assert airspace_model.AircraftCategory is AircraftCategory  # the same enum, not a copy
    assert airspace_index.CATEGORIES == CATEGORIES  # airspace array codes are separation codes
    assert ROWS == len(WIRE) + 1 == len(SEPARATION_KEYS) and len(WIRE) == UNKNOWN_SEPARATION_CODE


@pytest.mark.parametrize("wire", WIRE)
def test_every_category_round_trips_wire_to_code_to_label(wire: str) -> None:
    cat = AircraftCategory(wire)
    code = cat.separation_code
    assert CATEGORIES[code] is cat and SEPARATION_KEYS[code] == cat.separation_key
    assert AircraftCategory.parse(wire) is cat and AircraftCategory.parse(cat.separation_key) is cat
    assert separation_row(wire) == separation_row(cat.separation_key) == code
    assert category_code(wire) == separation_code(wire) == code  # the track table's code
    assert cat.label_zh == CATEGORY_ZH[wire] and cat.label_zh and cat.label_en
    assert (cat.legal_class.value, cat.legal_class.label_zh) == LEGAL[wire]
    assert cat.is_crewed == (cat.legal_class is LegalClass.CREWED)


def test_matrix_keys_old_and_new_mean_the_same_pair() -> None:
    old = SeparationMatrix.from_dict({"pairs": [{"a": "micro", "b": "crewed_ga", "h_m": 2000, "v_m": 200}]})
    new = SeparationMatrix.from_dict({"pairs": [{"a": "micro_uav", "b": "crewed_ga", "h_m": 2000, "v_m": 200}]})
    assert old == new and new.minima(AircraftCategory.MICRO_UAV, "crewed_ga") == (2000.0, 200.0)
    assert SeparationMatrix.from_dict(new.to_dict()) == new
    assert new.minima("unknown", "unknown") == SeparationMatrix().minima("unknown", "unknown")


@pytest.mark.parametrize("name", ["unknown", "blimp", "", "MICRO_UAV", None])
def test_undeclared_names_are_the_unknown_row_and_no_category(name: str | None) -> None:
    assert separation_code(name) == UNKNOWN_SEPARATION_CODE
    with pytest.raises(ValueError, match="micro_uav"):
        AircraftCategory.parse(name or "")
    if name != "unknown":
        with pytest.raises(ValueError):
            separation_row(name or "")


def test_crewed_rows_get_well_clear_from_every_uav() -> None:
    m = SeparationMatrix()
    crewed = [c for c in CATEGORIES if c.is_crewed]
    assert {c.value for c in crewed} == {"helicopter", "crewed_ga"}
    for uav in (c for c in CATEGORIES if not c.is_crewed):
        for k in crewed:
            assert m.minima(uav, k) == (1219.2, 137.16)
    assert np.array_equal(m.h, m.h.T)


async def test_crewed_ga_registers_and_files_under_the_ga_pathway(client: httpx.AsyncClient,
                                                                   operator_factory: Any) -> None:
    op = await operator_factory("景德镇通航", {"GA-001": "crewed_ga"})
    listed = (await client.get("/aircraft", headers=op.headers)).json()
    assert [a["category"] for a in listed if a["id"] == "GA-001"] == ["crewed_ga"]
    start = local_day(3, 10)  # well before the GA cutoff (15:00 the day before)
    r = await client.post("/plans", headers=op.headers,
                          json=plan_body("GA-001", "crewed_ga", start=start, minutes=40, ceiling=300,
                                         mission="survey", licence_id="CAAC-PPL-0001"))
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["category"] == "crewed_ga"
    assert plan["decision"]["pathway"] == "crewed_ga", plan["decision"]
    got = (await client.get(f"/plans/{plan['id']}", headers=op.headers)).json()
    assert got["category"] == "crewed_ga"


async def test_a_category_outside_the_enum_is_refused_naming_the_field(client: httpx.AsyncClient,
                                                                       operator_factory: Any) -> None:
    op = await operator_factory("景德镇通航")
    for bad in ("unknown", "micro", "blimp"):
        r = await client.post("/aircraft", headers=op.headers, json={"id": "X-1", "category": bad})
        assert r.status_code == 422 and "category" in r.text, r.text
        r = await client.post("/plans", headers=op.headers, json=plan_body("X-1", bad))
        assert r.status_code == 422 and "category" in r.text, r.text
