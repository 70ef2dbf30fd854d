"""Every filing message in Chinese and English, in one catalogue.

Rules, alternatives and notifications build their texts with :func:`text` from
:data:`MESSAGES` (``str.format`` templates). Chinese templates contain no Latin letters:
codes are translated with the term tables below (:func:`zh`), altitudes with
:func:`alt_zh`, local times with :func:`local`; units are written in Chinese (米, 米/秒).
``tests/filing/test_messages.py`` scans the catalogue and rendered decisions for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from lowalt.aircraft_category import AircraftCategory
from lowalt.geo.altitude import Altitude, AltitudeReference

MESSAGES: dict[str, tuple[str, str]] = {
    "ok": ("通过", "passed"),
    "preempts": ("{level_zh}优先级高于冲突计划，优先占用空域", "{level} priority preempts the lower-priority plans "
                 "in conflict"),
    # geometry and time window
    "geometry_invalid": ("几何图形无效", "geometry is invalid"),
    "geometry_zero_length": ("航线长度为零", "route has zero length"),
    "outside_service_area": ("超出本中心服务区（经度 {x0:g}–{x1:g}，纬度 {y0:g}–{y1:g}）",
                             "outside the centre's service area (lon {x0:g}-{x1:g}, lat {y0:g}-{y1:g})"),
    "window_inverted": ("结束时间须晚于开始时间", "end must be after start"),
    "window_in_past": ("开始时间已过", "start is in the past"),
    "window_too_long": ("飞行时段超过 {hours:g} 小时上限", "window longer than {hours:g} h"),
    "window_too_far": ("最早只能提前 {days} 天申报", "start more than {days} days ahead"),
    # registration
    "operator_suspended": ("运营人已被暂停", "operator is suspended"),
    "aircraft_unregistered": ("航空器 {aircraft} 未在本单位实名登记，请先登记航空器",
                              "aircraft {aircraft} is not registered to {organisation}: register it first "
                              "(POST /aircraft)"),
    "aircraft_suspended": ("航空器已被暂停使用", "aircraft is suspended"),
    "category_mismatch": ("申报类别（{filed_zh}）与登记类别（{registered_zh}）不符",
                          "filed category {filed} differs from registered {registered}"),
    "licence_missing": ("该类别须填写操控员执照", "this category needs a pilot licence id"),
    "aircraft_busy": ("航空器 {aircraft} 在 {other_start}–{other_end} 已有计划（前后须留 {margin:g} 分钟周转时间）",
                      "aircraft {aircraft} already holds a plan {other_start}-{other_end} local (a {margin:g} min "
                      "turnaround is needed between plans)"),
    "pilot_busy": ("操控员（执照 {licence}）在 {other_start}–{other_end} 已有计划（前后须留 {margin:g} 分钟周转时间）",
                   "pilot (licence {licence}) already holds a plan {other_start}-{other_end} local (a {margin:g} "
                   "min turnaround is needed between plans)"),
    # airspace and altitude
    "airspace_forbidden": ("穿越禁止进入的空域：{list_zh}", "enters airspace closed to {category}: {list_en}"),
    "airspace_needs_approval": ("须经管制部门批准：{list_zh}", "needs approval by the centre: {list_en}"),
    "band_below_terrain": ("高度层低于地形：区域内最高地形海拔 {ground_max:.0f} 米，高度层顶海拔 {ceiling:.0f} 米",
                           "the band lies below the terrain: highest ground {ground_max:.0f} m AMSL, band "
                           "ceiling {ceiling:.0f} m AMSL"),
    "band_outside_corridor": ("高度须在航线{corridor_zh}的 {floor_zh}至{ceiling_zh} 之内",
                              "band must lie within route {corridor} band {floor}-{ceiling}"),
    "above_category_ceiling": ("微型无人机真高不得超过 {limit:g} 米（本计划最高真高 {height:.2f} 米）",
                               "micro UAVs fly at most {limit:g} m true height (this plan reaches {height:.2f} m)"),
    "above_suitable_airspace": ("真高超过 {limit:g} 米（本计划最高真高 {height:.2f} 米），超出适飞空域，须申请",
                                "above {limit:g} m true height (this plan reaches {height:.2f} m) is outside "
                                "suitable (W) airspace: application required"),
    "amsl_converted": ("海拔高度已按地形换算为真高：区域内地形海拔 {ground_min:.0f}–{ground_max:.0f} 米；"
                       "高度层底按最高地形为真高 {floor_agl:.1f} 米，高度层顶按最低地形为真高 {ceiling_agl:.1f} 米",
                       "AMSL band converted to true height with the terrain model over the whole footprint "
                       "(ground {ground_min:.0f}-{ground_max:.0f} m AMSL): the floor over the highest terrain "
                       "is {floor_agl:.1f} m, the ceiling over the lowest terrain is {ceiling_agl:.1f} m true height"),
    # corridors and pathways
    "corridor_category": ("航线{corridor_zh}不对{category_zh}开放", "route {corridor} is not released to {category}"),
    "outside_corridor": ("超出航线{corridor_zh}的走廊范围", "leaves the corridor of route {corridor}"),
    "corridor_closed": ("航线{corridor_zh}仅在{hours_zh}开放，{closed}时未开放",
                        "route {corridor_en} is released only {hours_en}; closed at {closed} local"),
    "clawback_application_required": ("存在须申请的情形：{flags_zh}", "an application is needed again: {flags}"),
    "emergency_short_notice": ("应急飞行应提前 {lead:g} 分钟申请（特别紧急可随时申请）",
                               "emergency flights apply {lead:g} min ahead (especially urgent: any time)"),
    "filed_too_late": ("申报截止时间为 {deadline}（{pathway_zh}），最早可申报 {earliest} 起的飞行",
                       "the filing deadline was {deadline} local ({pathway} pathway, {article}); the earliest "
                       "start you can still file for is {earliest} local"),
    "night_not_allowed": ("{mission_zh}作业仅限昼间（夜间为当地时间 {night_start} 至 {night_end}）",
                          "{mission} flights are day-only (night is {night_start}-{night_end} local)"),
    # vertiports and weather
    "vertiport_category": ("起降点{port_zh}不接受{category_zh}", "{port_en} does not admit {category}"),
    "vertiport_closed": ("起降点{port_zh}在 {at} 未开放", "{port_en} is closed at {at} local"),
    "vertiport_full": ("起降点{port_zh}该时段（{slot:g} 分钟）容量已满",
                       "{port_en} has no free movement in the {slot:g} min slot"),
    "weather_thunderstorm": ("雷暴预警生效期间禁止飞行（至 {until}）", "a thunderstorm warning is in force (until {until} "
                             "local)"),
    "weather_wind": ("风速 {value:g} 米/秒，超过{category_zh}限制 {limit:g} 米/秒",
                     "wind {value:g} m/s above the {category} limit {limit:g} m/s"),
    "weather_visibility": ("能见度 {value:g} 米，低于 {limit:g} 米标准", "visibility {value:g} m below {limit:g} m"),
    "weather_precipitation": ("降水 {value:g} 毫米/小时，超过 {limit:g} 毫米/小时",
                              "precipitation {value:g} mm/h above {limit:g} mm/h"),
    # deconfliction
    "conflict": ("与已批准计划在空间、高度和时间上冲突（{n} 个）", "overlaps {n} approved plan(s) in space, altitude and time"),
    "conflict_active_flight": ("与正在飞行的航空器冲突，需管制协调", "conflicts with a flight in progress: the centre "
                               "coordinates"),
    # pathways: which applied and why the others did not
    "pw_applied": ("采用此途径", "this pathway applied"),
    "pw_na_category": ("{category_zh}不适用免申请（仅微型、轻型、小型无人机）",
                       "{category} is not exempt (micro, light and small UAVs only)"),
    "pw_na_airspace": ("不全在适飞空域内", "not wholly inside suitable airspace"),
    "pw_na_height": ("最高真高 {height:.2f} 米超过 {limit:g} 米", "true height reaches {height:.2f} m, above {limit:g} m"),
    "pw_na_clawback": ("存在须申请的情形：{flags_zh}", "an application is needed again: {flags}"),
    "pw_corridor_none": ("不在已获长期批准的航线内", "not inside a long-term approved route"),
    "pw_standing_none": ("本单位没有常备批准（政务机队巡逻区）", "the organisation holds no standing approval (government "
                         "fleet patrol area)"),
    "pw_standing_revoked": ("本单位的常备批准已撤销", "the organisation's standing approval is revoked"),
    "pw_standing_mission": ("常备批准不涵盖该任务类型", "the standing approval does not cover this mission"),
    "pw_standing_window": ("飞行时段超出常备批准的有效期", "the window is outside the standing approval's validity"),
    "pw_standing_area": ("飞行范围超出常备批准的巡逻区", "the footprint leaves the standing approval's patrol area"),
    "pw_standing_band": ("飞行高度超出常备批准的高度范围", "the band leaves the standing approval's altitude band"),
    "standing_applied": ("依据常备批准“{title}”（{id}）即时批准", "approved at once under standing approval "
                         "\"{title}\" ({id})"),
    "pw_emergency_mission": ("非应急任务（{mission_zh}）", "not an emergency mission ({mission})"),
    "pw_crewed_category": ("非有人驾驶通用航空器", "not a crewed general-aviation aircraft"),
    "pw_standard_crewed": ("有人驾驶航空器按通用航空飞行计划规则申报", "crewed aircraft file under the general-aviation "
                           "rules"),
    "pw_worse": ("按此途径结果为“{verdict_zh}”，不如所采用的途径", "under this pathway the plan would be {verdict}, "
                 "worse than the pathway applied"),
    "pw_not_needed": ("已按更优的途径批准，无需此途径", "not needed: a better pathway approved the plan"),
    # alternatives
    "alt_time": ("改为 {start} 起飞", "take off at {start} local"),
    "alt_band": ("改用高度 {floor_zh}至{ceiling_zh}", "fly at {floor}-{ceiling}"),
    "alt_lower": ("降低高度至{ceiling_zh}以下，无需申请即可飞行", "lower the band to {ceiling} or below: no "
                  "application needed"),
    "alt_route": ("绕开禁止进入的空域", "route around the closed volumes"),
    "alt_area": ("移至禁止进入的空域之外最近的位置（平移约 {distance:.0f} 米）",
                 "move to the nearest position outside the closed volumes (about {distance:.0f} m away)"),
    # notifications
    "withdrawn_preempted": ("您的计划被更高优先级（{level_zh}）的飞行占用空域，已撤销",
                            "your plan was withdrawn: a higher-priority ({level}) flight takes the airspace"),
    "preempted_notice": ("您的{level_zh}飞行已获批准，占用了 {n} 个较低优先级计划的空域，这些计划已撤销并通知其运营人",
                         "your {level} flight is approved: it displaced {n} lower-priority plan(s), withdrawn and "
                         "their operators told"),
    "withdrawn_restriction": ("新的临时管制空域“{name_zh}”占用了您的空域，计划已撤销。可从 {n} 个改航方案中选择一个，"
                              "作为新的飞行计划重新申报（按全部规则重新审核）",
                              "a new restriction ({name}) takes the airspace: your plan was withdrawn. Choose one "
                              "of the {n} reroute(s) offered and file it again as a new plan (POST /plans; every "
                              "rule decides it as usual)"),
    "withdrawn_restriction_none": ("新的临时管制空域“{name_zh}”占用了您的空域，计划已撤销。暂无可提供的改航方案，"
                                   "请调整航线、高度或时间后重新申报",
                                   "a new restriction ({name}) takes the airspace: your plan was withdrawn. No "
                                   "reroute can be offered: change the route, band or time and file again"),
    "withdrawn_weather": ("{kind_zh}预警影响您的计划，计划已撤销", "a {kind} warning affects your plan: it was withdrawn"),
    "advisory_weather": ("{kind_zh}预警影响您正在进行的飞行，请尽快安全降落或避让",
                         "a {kind} warning affects your flight in progress: land or avoid it safely"),
    "suspended_weather": ("{kind_zh}预警影响您的计划，计划已暂停并转交管制中心",
                          "a {kind} warning affects your plan: it is suspended and referred to the centre"),
    "at_risk_emergency": ("一项{mission_zh}应急飞行申请了与您计划冲突的空域；如获批准，您的计划将被撤销",
                          "a {mission} emergency flight asks for airspace your plan holds; if it is approved, your "
                          "plan will be withdrawn"),
    "emergency_escalated": ("应急飞行须在 {decide_by} 前决定", "emergency flight: decide by {decide_by} local"),
    "emergency_auto_approved": ("决定时限已过，按政策自动批准（所有规则复核通过）",
                                "decision time passed: approved automatically as the policy says (every rule "
                                "re-checked)"),
    "emergency_auto_rejected": ("决定时限已过，按政策自动驳回", "decision time passed: rejected automatically as the "
                                "policy says"),
    "approval_refused": ("无法批准：{reasons_zh}", "cannot approve: {reasons_en}"),
}

CATEGORY_ZH = {c.value: c.label_zh for c in AircraftCategory}
MISSION_ZH = {"tourism": "旅游观光", "logistics": "物流配送", "inspection": "巡检", "agriculture": "农业植保",
              "survey": "测绘", "training": "训练", "police": "警务", "emergency_rescue": "应急救援",
              "medical": "医疗救护"}
FLAG_ZH = {"relay_network": "通过蜂窝网络或互联网中继飞行", "dangerous_goods": "载运危险品",
           "drops_objects": "投放物品", "over_crowds": "飞越集会人群", "moving_vehicle": "在移动的交通工具上操控",
           "swarm": "集群飞行"}
PATHWAY_ZH = {"no_application": "无需申请（适飞空域）", "long_term_corridor": "长期批准航线",
              "standing_approval": "常备批准（政务巡逻区）",
              "emergency": "应急飞行", "crewed_ga": "通用航空飞行计划", "standard": "标准申请"}
VERDICT_ZH = {"approved": "批准", "referred": "转管制中心审批", "rejected": "驳回"}
WEATHER_ZH = {"thunderstorm": "雷暴", "wind": "大风", "visibility": "低能见度", "precipitation": "强降水"}
RESTRICTION_ZH = {"event": "活动", "emergency": "应急", "security": "安保", "police": "警务", "weather": "气象",
                  "other": "其他"}

TERMS: dict[str, dict[str, str]] = {"category": CATEGORY_ZH, "mission": MISSION_ZH, "flag": FLAG_ZH,
                                    "pathway": PATHWAY_ZH, "verdict": VERDICT_ZH, "weather": WEATHER_ZH,
                                    "restriction": RESTRICTION_ZH}
DAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def text(key: str, **kw: Any) -> tuple[str, str]:
    """(zh, en) for a catalogue key, formatted with ``kw``."""
    zh, en = MESSAGES[key]
    return zh.format(**kw), en.format(**kw)


def zh(kind: str, code: str) -> str:
    """A code in Chinese (``kind``: category, mission, flag, pathway, verdict, weather, restriction)."""
    return TERMS[kind].get(code, "其他")


def alt_zh(a: Altitude) -> str:
    return f"{'真高' if a.reference is AltitudeReference.AGL else '海拔'} {a.value_m:g} 米"


def local(t: datetime, tz: ZoneInfo) -> str:
    """A local wall-clock time, ``MM-DD HH:MM`` (the same text in both languages)."""
    return f"{t.astimezone(tz):%m-%d %H:%M}"
