"""Every filing message exists in Chinese and English; Chinese texts carry no untranslated token."""

from __future__ import annotations

import re
import string

import pytest

from lowalt.airspace.model import AircraftCategory
from lowalt.filing.decision import decide
from lowalt.filing.messages import MESSAGES, TERMS
from lowalt.filing.model import CLAWBACKS, MissionType
from lowalt.filing.rules import Pathway
from tests.filing import builders as b
from tests.filing.test_decision_table import ROWS

LATIN = re.compile(r"[A-Za-z]")
CLASS = re.compile(r"[A-GW]类")
"""Airspace classes are letters in Chinese too (G类空域, W类): the only Latin allowed in zh text."""


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_template_has_both_languages_and_no_latin_in_chinese(key: str) -> None:
    zh, en = MESSAGES[key]
    assert zh.strip() and en.strip()
    literal = "".join(lit for lit, _, _, _ in string.Formatter().parse(zh))
    assert not LATIN.search(literal), f"{key}: Latin letters in the Chinese template: {zh!r}"
    assert re.search(r"[\u4e00-\u9fff]", zh), f"{key}: no Chinese text"
    for f in _fields(zh):  # Chinese templates take translated (…_zh) or numeric/time/id fields only
        assert not f.endswith("_en") and f not in {"category", "mission", "flags", "pathway", "verdict", "kind",
                                                   "reason", "list_en", "hours_en", "corridor_en", "port_en",
                                                   "reasons_en", "article"}, (key, f)


def test_every_code_has_a_chinese_term() -> None:
    for c in AircraftCategory:
        assert c.value in TERMS["category"]
    for m in MissionType:
        assert m.value in TERMS["mission"]
    for f in CLAWBACKS:
        assert f in TERMS["flag"]
    for p in Pathway:
        assert p.value in TERMS["pathway"]
    for table in TERMS.values():
        for v in table.values():
            assert not LATIN.search(v), v


RAW = {c.value for c in AircraftCategory} | {m.value for m in MissionType} | set(CLAWBACKS) | {
    p.value for p in Pathway} | {"daily", "local", "Art.", "AGL", "AMSL", "UTC"}


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_rendered_decisions_have_no_raw_token_in_chinese(row: object) -> None:
    """Every reason, pathway explanation and alternative of the decision table, rendered."""
    p = row.plan()  # type: ignore[attr-defined]
    d, _ = decide(p, row.facts())  # type: ignore[attr-defined]
    texts = [r.message_zh for r in d.reasons] + [x["message_zh"] for x in d.pathways] + [
        a["message_zh"] for a in d.alternatives]
    for t in texts:
        assert not [w for w in RAW if w in t], t
        # Latin letters only inside ids the operator gave (aircraft, licence) - none in these rows
        assert not LATIN.search(CLASS.sub("类", t.replace(p.aircraft_id, "").replace(p.licence_id or "\0", ""))), t


def test_below_terrain_is_not_reported_as_outside_the_service_area() -> None:
    fp_lo, fp_hi = b.footprint(b.plan(b.PLAIN), b.view().terrain).ground_min, b.footprint(
        b.plan(b.PLAIN), b.view().terrain).ground_max
    p = b.plan(b.PLAIN, floor=b.Altitude(fp_lo - 80, b.AltitudeReference.AMSL),
               ceiling=b.Altitude(fp_hi - 1, b.AltitudeReference.AMSL))
    d, _ = decide(p, b.facts())
    codes = [r.code for r in d.reasons]
    assert "band_below_terrain" in codes and "outside_service_area" not in codes
    below = next(r for r in d.reasons if r.code == "band_below_terrain")
    assert "低于地形" in below.message_zh and "below the terrain" in below.message_en
    assert all("服务区" not in r.message_zh and "无空域数据" not in r.message_zh for r in d.reasons)
