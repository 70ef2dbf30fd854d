"""The feeds hand typed reports (``RawReport`` structs) to the live service: the checks are those a
JSON frame gets, with nothing encoded and parsed back in between."""

from __future__ import annotations

import time

import msgspec

from lowalt.airspace.validate import SERVICE_AREA_BBOX
from lowalt.surveillance.reports import MAX_REPORTS_PER_FRAME, RawReport, decode_frame, validate_reports


def _report(k: int = 0, **kw: object) -> RawReport:
    fields: dict[str, object] = {"id": f"ADSB-{k:06X}", "t": NOW, "lon": 117.2, "lat": 29.3, "alt": 300.0,
                                 "ref": "AMSL", "vx": 10.0, "vy": 0.0, "vs": 0.0, "src": "adsb", "cat": "helicopter"}
    return RawReport(**(fields | kw))  # type: ignore[arg-type]


NOW = time.time()


def test_typed_reports_get_the_same_checks_as_a_json_frame() -> None:
    reports = [_report(0), _report(1, lat=129.3), _report(2, ref="QNH"), _report(3, t=NOW + 3600),
               _report(4, vx=None, vy=None), _report(5, src="radar")]
    typed = validate_reports(reports, now=NOW, service_bbox=SERVICE_AREA_BBOX)
    framed = decode_frame(msgspec.json.encode(reports), now=NOW, service_bbox=SERVICE_AREA_BBOX)
    assert typed.ids == framed.ids == ["ADSB-000000"]
    assert [(e.code, e.field, e.index, e.aircraft) for e in typed.errors] == \
           [(e.code, e.field, e.index, e.aircraft) for e in framed.errors]
    assert {e.field for e in typed.errors} == {"lat", "ref", "t", "gs", "src"}  # each names its field
    assert typed.alt.tolist() == framed.alt.tolist() and typed.vx.tolist() == framed.vx.tolist()


def test_batch_size_limit_both_sides() -> None:
    at = validate_reports([_report(k) for k in range(MAX_REPORTS_PER_FRAME)], now=NOW, service_bbox=SERVICE_AREA_BBOX)
    assert len(at) == MAX_REPORTS_PER_FRAME and not at.errors
    over = validate_reports([_report(k) for k in range(MAX_REPORTS_PER_FRAME + 1)], now=NOW,
                            service_bbox=SERVICE_AREA_BBOX)
    assert len(over) == 0 and [e.code for e in over.errors] == ["too_many_reports"]
