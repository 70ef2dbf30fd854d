"""The daily report: one Beijing day's measures as an HTML page with plots, the CSVs behind every plot,
and a summary in Chinese (``lowalt report daily --date YYYY-MM-DD --out DIR``).

Pure apart from writing files into ``out``: the numbers come in as :class:`DayData` (gathered by
``lowalt.services.daily_report``); the summary is a pure function of them, so a test checks its sentences
against the numbers. Plots use matplotlib's Agg backend (no display) with a CJK font when one is installed
(Noto CJK on Debian), so the Chinese labels render.
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lowalt.airspace.schedule import LOCAL_TZ
from lowalt.analytics import model as m

BEIJING = ZoneInfo(LOCAL_TZ)
CJK_FONTS = ["Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "Source Han Sans SC", "DejaVu Sans"]
VERDICT_ZH = {"approved": "批准", "referred": "转人工", "rejected": "不予批准"}
DECIDER_ZH = {"automatic": "自动", "centre": "中心"}


def day_window(day: date) -> tuple[datetime, datetime]:
    """The Beijing calendar day as a UTC-aware window ``[00:00, next 00:00)`` (the centre's day)."""
    start = datetime.combine(day, time(0), tzinfo=BEIJING)
    return start, start + timedelta(days=1)


@dataclass(frozen=True)
class DayData:
    day: date
    start: datetime
    end: datetime
    slots: list[m.SlotUse]
    corridors: list[m.CorridorHour]
    cells: list[m.CellUse]
    filing: m.FilingSummary
    operators: list[m.OperatorUse]
    demand: m.Demand
    """The following 24 hours from approved plans, as known when the report was made."""


def _bj(t: datetime) -> str:
    return t.astimezone(BEIJING).strftime("%H:%M")


def summary_zh(d: DayData) -> list[str]:
    """The report's summary, one sentence per line, every number taken from ``d``."""
    hours = sum(c.flight_hours for c in d.cells)
    flights = sum(o.flights for o in d.operators)
    out = [f"{d.day.isoformat()}（北京时间）共飞行 {flights} 架次，累计飞行 {hours:.1f} 小时。"]
    booked = sum(s.booked for s in d.slots)
    over = [s for s in d.slots if s.booked > s.capacity]
    full = [s for s in d.slots if s.booked >= s.capacity]
    no_shows = sum(s.no_shows for s in d.slots)
    out.append(f"起降点共预订 {booked} 个起降架次，{len(full)} 个时段（15 分钟）达到容量上限，"
               f"其中 {len(over)} 个超出容量；未执行（预订未飞）{no_shows} 个。")
    peaks = sorted(m.peak_hours(d.slots), key=lambda p: (-p.booked, p.point_id))[:3]
    if peaks:
        out.append("最繁忙的起降点时段：" + "；".join(
            f"{p.name_zh} {_bj(p.hour)}–{_bj(p.hour + timedelta(hours=1))}（{p.booked}/{p.capacity}）" for p in peaks)
            + "。")
    if d.corridors:
        top = max(d.corridors, key=lambda c: (c.peak_simultaneous, c.flights))
        out.append(f"航线最高同时在飞 {top.peak_simultaneous} 架（{top.name_zh}，{_bj(top.hour)} 时段），"
                   f"全天航线小时架次合计 {sum(c.flights for c in d.corridors)}。")
    out += _separation_zh(d)
    conflicts, intrusions = sum(c.conflicts for c in d.cells), sum(c.intrusions for c in d.cells)
    hot = sorted((c for c in d.cells if c.conflicts + c.intrusions), key=lambda c: -(c.conflicts + c.intrusions))
    line = f"冲突告警 {conflicts} 次，闯入告警 {intrusions} 次"
    if hot:
        line += f"；热点网格（1 公里）位于 {hot[0].lon:.3f}°E，{hot[0].lat:.3f}°N（{hot[0].conflicts + hot[0].intrusions} 次）"
    out.append(line + "。")
    n = {k: sum(x.decisions for x in d.filing.decisions if x.decider == k) for k in DECIDER_ZH}
    times = {t.decider: t.median_s for t in d.filing.times}
    auto_t, centre_t = times.get("automatic"), times.get("centre")
    out.append(f"申报决定：自动 {n['automatic']} 件（中位用时 {_dur(auto_t)}），中心人工 {n['centre']} 件"
               f"（中位用时 {_dur(centre_t)}）。")
    if d.filing.referrals:
        out.append("转人工原因前三：" + "；".join(f"{r.label_zh} {r.plans} 件" for r in d.filing.referrals[:3]) + "。")
    alts = next((a for a in d.filing.alternatives if a.kind == "all"), None)
    if alts and alts.offered:
        out.append(f"备选方案：{alts.offered} 个计划获得备选方案，其中 {alts.accepted} 个按备选方案重新申报并获批准"
                   f"（采纳率 {100 * alts.accepted / alts.offered:.0f}%）。")
    rated = [o for o in d.operators if o.conformance_rate is not None]
    if rated:
        worst = min(rated, key=lambda o: (o.conformance_rate or 0.0, o.organisation))
        out.append(f"符合性最低的运营人：{worst.organisation}（{100 * (worst.conformance_rate or 0.0):.0f}%）。")
    sat = [s for s in d.demand.slots if s.saturated]
    if sat:
        first = min(sat, key=lambda s: s.slot)
        out.append(f"未来 24 小时已批准计划将使 {len(sat)} 个起降点时段饱和，最早为 {first.name_zh} "
                   f"{_bj(first.slot)}" + (f"（下一空闲时段 {_bj(first.next_free_slot)}）" if first.next_free_slot
                                           else "") + "。")
    else:
        out.append("未来 24 小时已批准计划未使任何起降点时段饱和。")
    return out


def _separation_zh(d: DayData) -> list[str]:
    """The corridors' separation sentence: the day's mean (the hours' means weighted by their samples), the
    tightest hour by p95, and the seconds in loss of separation (with the worst hour when any)."""
    hours = [c for c in d.corridors if c.separation_samples and c.mean_separation_m is not None]
    if not hours:
        return ["航线内未出现两架及以上航空器同时飞行，无间隔统计。"]
    n = sum(c.separation_samples for c in hours)
    mean = sum((c.mean_separation_m or 0.0) * c.separation_samples for c in hours) / n
    tight = min(hours, key=lambda c: (c.p95_separation_m or 0, c.hour, c.route_id))
    lost = sum(c.loss_of_separation_s for c in d.corridors)
    line = (f"航线间隔（与最近他机的水平距离）：全天平均 {mean:.0f} 米；95% 分位最小的时段为 {tight.name_zh} "
            f"{_bj(tight.hour)}（{tight.p95_separation_m} 米）；低于最小间隔共 {lost} 秒")
    if lost:
        worst = max(d.corridors, key=lambda c: (c.loss_of_separation_s, -c.hour.timestamp()))
        line += f"，最多为 {worst.name_zh} {_bj(worst.hour)} 时段（{worst.loss_of_separation_s} 秒）"
    return [line + "。"]


def _dur(s: float | None) -> str:
    if s is None:
        return "无"
    return f"{s:.1f} 秒" if s < 120 else f"{s / 60:.1f} 分钟"


# ------------------------------------------------------------------ plots


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    plt.rcParams["font.family"] = [f for f in CJK_FONTS if f in installed] or ["DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _plot_slots(plt: Any, d: DayData) -> Any:
    per: dict[str, list[m.SlotUse]] = defaultdict(list)
    for s in d.slots:
        per[s.point_id].append(s)
    busiest = sorted(per, key=lambda k: -sum(s.booked for s in per[k]))[:4]
    fig, axes = plt.subplots(max(1, len(busiest)), 1, figsize=(10, 2.4 * max(1, len(busiest))), squeeze=False)
    for ax, pid in zip(axes[:, 0], busiest, strict=False):
        rows = sorted(per[pid], key=lambda s: s.slot)
        x = [(s.slot - d.start).total_seconds() / 3600 for s in rows]
        ax.bar(x, [s.booked for s in rows], width=0.23, align="edge", label="预订 booked")
        ax.bar(x, [s.flown for s in rows], width=0.23, align="edge", label="已飞 flown")
        ax.axhline(rows[0].capacity, color="crimson", linestyle="--", label="容量 capacity")
        ax.set_title(f"{rows[0].name_zh}（{pid}）每 15 分钟起降")
        ax.set_xlim(0, 24)
        ax.legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("北京时间（时）")
    fig.tight_layout()
    return fig


def _plot_cells(plt: Any, d: DayData) -> Any:
    fig, ax = plt.subplots(figsize=(7, 6))
    if d.cells:
        sc = ax.scatter([c.lon for c in d.cells], [c.lat for c in d.cells], c=[c.flight_hours for c in d.cells],
                        s=30, marker="s", cmap="viridis")
        fig.colorbar(sc, ax=ax, label="飞行小时 flight hours")
        hot = [c for c in d.cells if c.conflicts + c.intrusions]
        ax.scatter([c.lon for c in hot], [c.lat for c in hot], s=[40 * (c.conflicts + c.intrusions) for c in hot],
                   facecolors="none", edgecolors="red", label="告警热点 alerts")
        if hot:
            ax.legend(loc="upper right")
    ax.set_title("1 公里网格飞行小时与告警热点")
    ax.set_xlabel("经度 °E")
    ax.set_ylabel("纬度 °N")
    fig.tight_layout()
    return fig


def _plot_corridors(plt: Any, d: DayData) -> Any:
    fig, ax = plt.subplots(figsize=(10, 3.5))
    per: dict[str, list[m.CorridorHour]] = defaultdict(list)
    for c in d.corridors:
        per[c.route_id].append(c)
    for _rid, rows in sorted(per.items()):
        rows.sort(key=lambda c: c.hour)
        ax.plot([(c.hour - d.start).total_seconds() / 3600 for c in rows], [c.flights for c in rows], marker="o",
                label=f"{rows[0].name_zh}")
    ax.set_xlim(0, 24)
    ax.set_title("航线每小时架次")
    ax.set_xlabel("北京时间（时）")
    if per:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _plot_separation(plt: Any, d: DayData) -> Any:
    """The four corridors with the most seconds in loss of separation (then the most samples), one panel
    each: mean and p95 distance to the nearest other aircraft inside per hour (lines, metres) and the seconds
    in loss of separation (bars, right axis); an hour with one aircraft at a time has no point."""
    per: dict[str, list[m.CorridorHour]] = defaultdict(list)
    for c in d.corridors:
        if c.separation_samples:
            per[c.route_id].append(c)
    top = sorted(per, key=lambda k: (-sum(c.loss_of_separation_s for c in per[k]),
                                     -sum(c.separation_samples for c in per[k]), k))[:4]
    fig, axes = plt.subplots(max(1, len(top)), 1, figsize=(10, 2.4 * max(1, len(top))), squeeze=False)
    for ax, rid in zip(axes[:, 0], top, strict=False):
        rows = sorted(per[rid], key=lambda c: c.hour)
        x = [(c.hour - d.start).total_seconds() / 3600 + 0.5 for c in rows]
        loss = ax.twinx()
        loss.bar(x, [c.loss_of_separation_s for c in rows], width=0.8, color="crimson", alpha=0.3,
                 label="低于最小间隔 loss (s)")
        loss.set_ylabel("秒 s")
        ax.plot(x, [c.p95_separation_m for c in rows], marker="o", label="95%分位 p95 (m)")
        ax.plot(x, [c.mean_separation_m for c in rows], linestyle="--", marker=".", label="平均 mean (m)")
        ax.set_ylim(bottom=0)
        ax.set_ylabel("米 m")
        ax.set_xlim(0, 24)
        ax.set_title(f"{rows[0].name_zh}：与最近他机的水平距离、低于最小间隔时间", fontsize=10)
        ax.set_zorder(loss.get_zorder() + 1)
        ax.patch.set_visible(False)
        handles = ax.get_legend_handles_labels()
        more = loss.get_legend_handles_labels()
        ax.legend(handles[0] + more[0], handles[1] + more[1], loc="upper right", fontsize=7)
    if not top:
        axes[0, 0].set_title("航线内未出现两架及以上航空器同时飞行")
    axes[-1, 0].set_xlabel("北京时间（时）")
    fig.tight_layout()
    return fig


def _plot_filing(plt: Any, d: DayData) -> Any:
    fig, ax = plt.subplots(figsize=(8, 3.5))
    labels = sorted({(x.decider, x.pathway) for x in d.filing.decisions})
    bottom = [0] * len(labels)
    for verdict, zh in VERDICT_ZH.items():
        vals = [sum(x.decisions for x in d.filing.decisions if (x.decider, x.pathway) == lab and x.verdict == verdict)
                for lab in labels]
        ax.bar(range(len(labels)), vals, bottom=bottom, label=zh)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_xticks(range(len(labels)), [f"{DECIDER_ZH[a]}\n{p}" for a, p in labels], fontsize=8)
    ax.set_title("申报决定（按途径与结果）")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------ the page


CSVS: tuple[tuple[str, str, type[Any]], ...] = (
    ("takeoff_slots.csv", "slots", m.SlotUse), ("takeoff_peaks.csv", "peaks", m.PeakHour),
    ("corridors.csv", "corridors", m.CorridorHour), ("cells.csv", "cells", m.CellUse),
    ("filing_decisions.csv", "decisions", m.DecisionCount), ("filing_times.csv", "times", m.DecisionTime),
    ("filing_referrals.csv", "referrals", m.ReferralReason),
    ("filing_alternatives.csv", "alternatives", m.AlternativesUse), ("operators.csv", "operators", m.OperatorUse),
    ("demand_slots.csv", "demand", m.DemandSlot), ("demand_corridors.csv", "demand_corridors", m.CorridorDemand))
PLOTS = (("takeoff_slots.png", "起降点容量使用 Take-off point slots", _plot_slots),
         ("cells.png", "空域网格热力 Airspace cells", _plot_cells),
         ("corridors.png", "航线流量 Corridors", _plot_corridors),
         ("separation.png", "航线间隔 Corridor separation", _plot_separation),
         ("filing.png", "申报决定 Filing decisions", _plot_filing))


def _tables(d: DayData) -> dict[str, list[Any]]:
    return {"slots": d.slots, "peaks": m.peak_hours(d.slots), "corridors": d.corridors, "cells": d.cells,
            "decisions": d.filing.decisions, "times": d.filing.times, "referrals": d.filing.referrals,
            "alternatives": d.filing.alternatives,
            "operators": d.operators, "demand": d.demand.slots, "demand_corridors": d.demand.corridors}


def write_report(d: DayData, out: Path) -> list[Path]:
    """Write ``index.html``, the PNG plots and the CSVs into ``out`` (created); returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    tables = _tables(d)
    for name, key, row_type in CSVS:
        (out / name).write_text(m.to_csv(tables[key], row_type), encoding="utf-8")
        written.append(out / name)
    plt = _pyplot()
    from matplotlib.backends.backend_pdf import PdfPages

    summary = summary_zh(d)
    with PdfPages(out / PDF, metadata={"Title": f"低空运行日报 {d.day.isoformat()}", "Creator": "lowalt"}) as pdf:
        pdf.savefig(_summary_page(plt, d, summary))
        for name, title, plot in PLOTS:
            fig = plot(plt, d)
            fig.savefig(out / name, dpi=90)
            fig.suptitle(title, fontsize=9, x=0.01, ha="left")  # the PDF page's section title
            pdf.savefig(fig)
            plt.close(fig)
            written.append(out / name)
        pdf.savefig(_operators_page(plt, d))
    plt.close("all")
    written.append(out / PDF)
    (out / "summary_zh.txt").write_text("\n".join(summary) + "\n", encoding="utf-8")
    written.append(out / "summary_zh.txt")
    (out / "index.html").write_text(_html(d, summary), encoding="utf-8")
    written.append(out / "index.html")
    return written


PDF = "report.pdf"
"""The report as one PDF: the summary, one page per plot, the operators (matplotlib's PdfPages: the plots
are matplotlib's already, so the PDF needs no browser or other renderer where the report runs; Noto Sans
CJK is embedded as a subset with its Unicode map, so the Chinese text renders and can be searched)."""
A4 = (8.27, 11.69)
WRAP = 44
"""Characters a line on the PDF's A4 page (CJK characters are about as wide as two Latin ones at 11 pt)."""
OPERATOR_HEAD = ("运营人", "架次", "飞行小时", "告警", "告警/飞行小时", "符合率")


def _wrapped(text: str) -> list[str]:
    import textwrap

    return textwrap.wrap(text, WRAP, break_long_words=True) or [""]


def _summary_page(plt: Any, d: DayData, summary: list[str]) -> Any:
    fig = plt.figure(figsize=A4)
    fig.text(0.08, 0.95, f"低空运行日报 Daily report {d.day.isoformat()}", fontsize=16, weight="bold")
    fig.text(0.08, 0.925, f"北京时间 {d.start.isoformat()} – {d.end.isoformat()}；定义见 docs/analytics.md",
             fontsize=8, color="#555")
    fig.text(0.08, 0.89, "摘要 Summary", fontsize=13, weight="bold")
    y = 0.86
    for sentence in summary:
        for k, line in enumerate(_wrapped(sentence)):
            fig.text(0.08 if k == 0 else 0.1, y, ("• " if k == 0 else "") + line, fontsize=10.5)
            y -= 0.022
        y -= 0.008
    return fig


def _operators_row(o: m.OperatorUse) -> list[str]:
    return [o.organisation, str(o.flights), f"{o.flight_hours:.2f}", str(o.alerts),
            "" if o.alerts_per_flight_hour is None else f"{o.alerts_per_flight_hour:.2f}",
            "" if o.conformance_rate is None else f"{100 * o.conformance_rate:.0f}%"]


def _operators_page(plt: Any, d: DayData) -> Any:
    fig = plt.figure(figsize=A4)
    fig.text(0.08, 0.95, "运营人 Operators", fontsize=13, weight="bold")
    rows = [_operators_row(o) for o in d.operators[:40]]
    if rows:
        ax = fig.add_axes((0.08, 0.93 - 0.022 * (len(rows) + 1), 0.84, 0.022 * (len(rows) + 1)))
        ax.axis("off")
        ax.table(cellText=rows, colLabels=list(OPERATOR_HEAD), loc="upper center", cellLoc="center")
    else:
        fig.text(0.08, 0.9, "当日无运营人数据。", fontsize=10.5)
    if len(d.operators) > 40:
        fig.text(0.08, 0.03, f"另有 {len(d.operators) - 40} 个运营人见 operators.csv。", fontsize=9)
    return fig


def _html(d: DayData, summary: list[str]) -> str:
    e = html.escape
    figs = "\n".join(f'<figure><img src="{n}" alt="{e(t)}"><figcaption>{e(t)}</figcaption></figure>'
                     for n, t, _p in PLOTS)
    csvs = "\n".join(f'<li><a href="{n}">{n}</a></li>' for n, _k, _t in CSVS)
    ops = "\n".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in _operators_row(o)) + "</tr>" for o in d.operators)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>低空运行日报 {d.day.isoformat()}</title>
<style>body{{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;max-width:1000px;margin:2em auto;
padding:0 1em}} img{{max-width:100%}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;
padding:2px 8px}} .en{{color:#666}}</style></head>
<body>
<h1>低空运行日报 <span class="en">Daily report</span> {d.day.isoformat()}</h1>
<p class="en">Beijing day {e(d.start.isoformat())} – {e(d.end.isoformat())}. Definitions: docs/analytics.md.</p>
<h2>摘要 <span class="en">Summary</span></h2>
<ul>{"".join(f"<li>{e(s)}</li>" for s in summary)}</ul>
<h2>图表 <span class="en">Plots</span></h2>
{figs}
<h2>运营人 <span class="en">Operators</span></h2>
<table><tr>{"".join(f"<th>{h}</th>" for h in OPERATOR_HEAD)}</tr>
{ops}</table>
<h2>数据 <span class="en">Data (CSV, PDF)</span></h2>
<p><a href="{PDF}">{PDF}</a>（摘要、图表与运营人，一节一页 / the summary, the plots and the operators, a page each)</p>
<ul>{csvs}</ul>
</body></html>
"""
