"""The daily report: gathered from PostGIS for one Beijing day, written as HTML + PNG + CSV + a Chinese
summary whose numbers are the measures'; and ``lowalt report daily`` end to end in a subprocess."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from lowalt.analytics import model as m
from lowalt.analytics.report import CSVS, PDF, PLOTS, DayData, day_window, summary_zh
from lowalt.services.daily_report import gather, make_report
from lowalt.store.db import Database
from tests.analytics import history as hist
from tests.conftest import REPO

DAY = date(2026, 11, 24)
PNG = b"\x89PNG\r\n\x1a\n"


def test_day_is_the_beijing_calendar_day() -> None:
    start, end = day_window(DAY)
    assert start.astimezone(UTC) == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    assert end - start == timedelta(days=1)


def _day() -> DayData:
    start, end = day_window(DAY)
    t = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 Beijing
    slots = [m.SlotUse("P1", "一号起降点", t, 2, 3, 2, 1), m.SlotUse("P1", "一号起降点", t + timedelta(minutes=15), 2, 2, 2, 0),
             m.SlotUse("P2", "二号起降点", t, 3, 1, 1, 0)]
    return DayData(
        DAY, start, end, slots, [m.CorridorHour("R1", "一号航线", t, 4, 3, 100, 250.0, 900, 0),
                                 m.CorridorHour("R1", "一号航线", t + timedelta(hours=1), 3, 2, 300, 150.0, 400, 12),
                                 m.CorridorHour("R1", "一号航线", t + timedelta(hours=2), 1, 1)],
        [m.CellUse(1, 2, 117.2, 29.3, 1.5, 0.06, 2, 1), m.CellUse(1, 3, 117.2, 29.31, 0.5, 0.02, 0, 0)],
        m.FilingSummary([m.DecisionCount("automatic", "standard", "approved", 7),
                       m.DecisionCount("centre", "standard", "approved", 2)],
                      [m.DecisionTime("automatic", 7, 0.4), m.DecisionTime("centre", 2, 600.0)],
                      [m.ReferralReason("airspace_needs_approval", m.reason_zh("airspace_needs_approval"), 2)],
                      [m.AlternativesUse("all", 4, 3), m.AlternativesUse("time", 3, 2)]),
        [m.OperatorUse("org-a", 5, 2.0, 3, 1.5, 1, 0.5, 0.8)],
        m.Demand(end, end + timedelta(days=1),
               [m.DemandSlot("P1", "一号起降点", end + timedelta(hours=2), 2, 2, True, end + timedelta(hours=2, minutes=15))],
               []))


def test_summary_sentences_carry_the_numbers() -> None:
    text = "\n".join(summary_zh(_day()))
    assert "共飞行 5 架次，累计飞行 2.0 小时" in text
    assert "共预订 6 个起降架次，2 个时段（15 分钟）达到容量上限，其中 1 个超出容量；未执行（预订未飞）1 个" in text
    assert "一号起降点 10:00–11:00（5/8）" in text  # the busiest hour: 3 + 2 booked, capacity 2 x 4
    assert "航线最高同时在飞 3 架（一号航线，10:00 时段）" in text
    # mean weighted by samples: (100 x 250 + 300 x 150) / 400 = 175; the tightest p95 is 11:00's 400 m
    assert ("航线间隔（与最近他机的水平距离）：全天平均 175 米；95% 分位最小的时段为 一号航线 11:00（400 米）；"
            "低于最小间隔共 12 秒，最多为 一号航线 11:00 时段（12 秒）。") in text
    assert "冲突告警 2 次，闯入告警 1 次" in text
    assert "自动 7 件（中位用时 0.4 秒），中心人工 2 件（中位用时 10.0 分钟）" in text
    assert "备选方案：4 个计划获得备选方案，其中 3 个按备选方案重新申报并获批准（采纳率 75%）。" in text
    assert "须经管制部门批准 2 件" in text and "org-a（80%）" in text and "_" not in text  # no raw codes
    assert "1 个起降点时段饱和，最早为 一号起降点 02:00（下一空闲时段 02:15）" in text


async def _seeded(database: Database) -> None:
    async with database.unit_of_work() as uow:
        await hist.store(uow.conn, hist.build())
        await uow.commit()


async def test_report_files_and_csvs_equal_the_measures(database: Database, tmp_path: Path) -> None:
    await _seeded(database)
    as_of = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
    d = await gather(database.engine, DAY, radius_m=hist.RADIUS, as_of=as_of)
    files = await make_report(database.engine, DAY, tmp_path, radius_m=hist.RADIUS, as_of=as_of)
    names = {f.name for f in files}
    assert names == {n for n, _k, _t in CSVS} | {n for n, _t, _p in PLOTS} | {"index.html", "summary_zh.txt", PDF}
    for name, _title, _plot in PLOTS:
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 5_000, name
    start, end = day_window(DAY)
    assert {(r.point_id, r.slot) for r in d.slots} == set(hist.expected_slots(hist.build(), start, end, None, as_of))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "takeoff_slots.csv").read_text())))
    assert [(r["point_id"], int(r["booked"])) for r in rows] == [(s.point_id, s.booked) for s in d.slots]
    ops = list(csv.DictReader(io.StringIO((tmp_path / "operators.csv").read_text())))
    assert {r["organisation"]: int(r["flights"]) for r in ops} == {o.organisation: o.flights for o in d.operators}
    page = (tmp_path / "index.html").read_text()
    assert '<html lang="zh-CN">' in page and "低空运行日报" in page
    for sentence in summary_zh(d):
        assert sentence in page
    assert all(f'src="{n}"' in page for n, _t, _p in PLOTS)
    assert (tmp_path / "summary_zh.txt").read_text().splitlines() == summary_zh(d)
    assert any("低于最小间隔共 200 秒" in line for line in summary_zh(d))  # A3 with A1, from the history
    corridors = list(csv.DictReader(io.StringIO((tmp_path / "corridors.csv").read_text())))
    assert [int(r["loss_of_separation_s"]) for r in corridors] == [c.loss_of_separation_s for c in d.corridors]
    _check_pdf(tmp_path / PDF, summary_zh(d), d)


def _check_pdf(path: Path, summary: list[str], d: DayData) -> None:
    """A PDF with a page per section (summary, each plot, operators) whose text holds the summary's
    sentences (whitespace aside: lines wrap), each plot's section title and every operator: Chinese included,
    so the CJK font is embedded with its Unicode map."""
    import re

    from pypdf import PdfReader

    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    # the text layer alone does not show the glyphs are there: every font embedded is a CJK one (a
    # fallback to DejaVu would draw the Chinese as empty boxes and still extract as Chinese)
    fonts = set(re.findall(rb"/BaseFont /(?:[A-Z]{6}\+)?([A-Za-z-]+)", data))
    assert fonts and all(re.match(rb"(NotoSansCJK|NotoSerifCJK|WenQuanYi|SourceHanSans)", f) for f in fonts), fonts
    pages = ["".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages]
    assert len(pages) == 1 + len(PLOTS) + 1
    assert "低空运行日报" in pages[0]
    for sentence in summary:
        assert "".join(sentence.split()) in pages[0], sentence
    for (_name, title, _plot), page in zip(PLOTS, pages[1:], strict=False):
        assert "".join(title.split()) in page, title
    assert "运营人" in pages[-1] and all(o.organisation in pages[-1] for o in d.operators)


async def test_cli_report_daily_end_to_end(database: Database, tmp_path: Path) -> None:
    await _seeded(database)
    out = tmp_path / "report"
    env = {**os.environ, "LOWALT_DATABASE_URL": database.url, "LOWALT_DATA_DIR": str(tmp_path / "state")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lowalt.cli", "report", "daily", "--date", DAY.isoformat(), "--out", str(out),
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _stdout, stderr = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, stderr.decode()
    assert (out / "index.html").is_file() and (out / "cells.png").is_file() and (out / PDF).is_file()
    summary = (out / "summary_zh.txt").read_text()
    assert summary.startswith("2026-11-24（北京时间）共飞行")
    bad = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lowalt.cli", "report", "daily", "--date", "24/11/2026", "--out", str(out),
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _o, err = await asyncio.wait_for(bad.communicate(), 120)
    assert bad.returncode == 2 and b"--date" in err
