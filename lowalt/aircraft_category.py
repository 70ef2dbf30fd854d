"""The one model of an aircraft's category, shared by every layer (a leaf: it imports nothing of lowalt).

The wire value (``micro_uav``, ..., ``crewed_ga``) is what the API, the database, the airspace data and
the filing policy store. Each category also carries:

* its **separation code**: the row/column of :class:`lowalt.conflict.separation.SeparationMatrix` and the
  int8 category code of the track table. Codes ``0..7`` are the categories in declaration order;
  :data:`UNKNOWN_SEPARATION_CODE` (8) is the row of a target whose category nobody declared
  (non-cooperative radar/RF detections, unregistered ids), which is not a category one can register
  or file, so it is not a member;
* its **separation key**: the short name the separation matrix JSON and the conflict alerts' ``categories``
  detail have always used (``micro``, ``light``, ...), kept so existing matrix files and feed readers work;
* its **legal class**: 条例 Art. 62 微型/轻型/小型/中型/大型 for UAVs, or crewed (regulations_cn.md B1, B2);
* its **labels**: Chinese first, English second, for messages and the UI.

Adding a category means adding one member here (and a row to the separation defaults if its minima
differ); every table elsewhere is derived from this module.
"""

from __future__ import annotations

from enum import StrEnum


class LegalClass(StrEnum):
    """Class in law: 条例 Art. 62 UAV classes (regulations_cn.md B1), or crewed."""

    MICRO = "micro"
    """微型: < 0.25 kg, <= 40 km/h, design true height <= 50 m."""
    LIGHT = "light"
    """轻型: empty <= 4 kg, MTOW <= 7 kg, <= 100 km/h."""
    SMALL = "small"
    """小型: empty <= 15 kg, MTOW <= 25 kg."""
    MEDIUM = "medium"
    """中型: MTOW <= 150 kg."""
    LARGE = "large"
    """大型: MTOW > 150 kg."""
    CREWED = "crewed"
    """有人驾驶航空器: general-aviation rules (通用航空飞行管制条例, D9)."""

    @property
    def label_zh(self) -> str:
        return _LEGAL_ZH[self]


_LEGAL_ZH = {LegalClass.MICRO: "微型", LegalClass.LIGHT: "轻型", LegalClass.SMALL: "小型",
             LegalClass.MEDIUM: "中型", LegalClass.LARGE: "大型", LegalClass.CREWED: "有人驾驶"}


class AircraftCategory(StrEnum):
    """An aircraft's declared category (wire value). Declaration order is the separation code."""

    MICRO_UAV = "micro_uav"
    """微型 UAV."""
    LIGHT_UAV = "light_uav"
    """轻型 UAV."""
    SMALL_UAV = "small_uav"
    """小型 UAV."""
    MEDIUM_UAV = "medium_uav"
    """中型 UAV."""
    LARGE_UAV = "large_uav"
    """大型 UAV (other than passenger eVTOL)."""
    EVTOL = "evtol"
    """Passenger eVTOL; unmanned ones (e.g. EH216-S) are large UAVs in law (B2), and UAVs for separation."""
    HELICOPTER = "helicopter"
    """Crewed helicopter (GA rules, D9)."""
    CREWED_GA = "crewed_ga"
    """Crewed fixed-wing general aviation (GA rules, D9)."""

    @property
    def separation_code(self) -> int:
        """Row/column in the separation matrix; also the track table's int8 category code."""
        return _CODE[self]

    @property
    def separation_key(self) -> str:
        """Short name in the separation matrix JSON and the conflict alerts' ``categories``."""
        return _SEPARATION_KEY[self]

    @property
    def legal_class(self) -> LegalClass:
        return _LEGAL[self]

    @property
    def is_crewed(self) -> bool:
        return self.legal_class is LegalClass.CREWED

    @property
    def label_zh(self) -> str:
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]

    @classmethod
    def parse(cls, name: str) -> AircraftCategory:
        """A category from its wire value or its separation key (``micro_uav`` or ``micro``).

        Raises ``ValueError`` naming the accepted values for anything else (``unknown`` included:
        it is a separation row, not a category).
        """
        found = _BY_NAME.get(name)
        if found is None:
            raise ValueError(f"unknown aircraft category {name!r}; one of {', '.join(WIRE_VALUES)}")
        return found


_CODE = {c: k for k, c in enumerate(AircraftCategory)}
_SEPARATION_KEY = {
    AircraftCategory.MICRO_UAV: "micro", AircraftCategory.LIGHT_UAV: "light", AircraftCategory.SMALL_UAV: "small",
    AircraftCategory.MEDIUM_UAV: "medium", AircraftCategory.LARGE_UAV: "large", AircraftCategory.EVTOL: "evtol",
    AircraftCategory.HELICOPTER: "helicopter", AircraftCategory.CREWED_GA: "crewed_ga",
}
_LEGAL = {
    AircraftCategory.MICRO_UAV: LegalClass.MICRO, AircraftCategory.LIGHT_UAV: LegalClass.LIGHT,
    AircraftCategory.SMALL_UAV: LegalClass.SMALL, AircraftCategory.MEDIUM_UAV: LegalClass.MEDIUM,
    AircraftCategory.LARGE_UAV: LegalClass.LARGE, AircraftCategory.EVTOL: LegalClass.LARGE,
    AircraftCategory.HELICOPTER: LegalClass.CREWED, AircraftCategory.CREWED_GA: LegalClass.CREWED,
}
_LABELS = {
    AircraftCategory.MICRO_UAV: ("微型无人机", "micro UAV"),
    AircraftCategory.LIGHT_UAV: ("轻型无人机", "light UAV"),
    AircraftCategory.SMALL_UAV: ("小型无人机", "small UAV"),
    AircraftCategory.MEDIUM_UAV: ("中型无人机", "medium UAV"),
    AircraftCategory.LARGE_UAV: ("大型无人机", "large UAV"),
    AircraftCategory.EVTOL: ("电动垂直起降航空器", "eVTOL"),
    AircraftCategory.HELICOPTER: ("直升机", "helicopter"),
    AircraftCategory.CREWED_GA: ("有人驾驶通用航空器", "crewed general-aviation aeroplane"),
}

CATEGORIES: tuple[AircraftCategory, ...] = tuple(AircraftCategory)
"""Categories by separation code (``CATEGORIES[c.separation_code] is c``)."""
WIRE_VALUES: tuple[str, ...] = tuple(c.value for c in CATEGORIES)

UNKNOWN_SEPARATION_KEY = "unknown"
UNKNOWN_SEPARATION_CODE = len(CATEGORIES)
"""Separation row of a target with no declared category (non-cooperative, unregistered)."""
SEPARATION_KEYS: tuple[str, ...] = (*(c.separation_key for c in CATEGORIES), UNKNOWN_SEPARATION_KEY)
"""Separation matrix row names by code (the categories' keys, then ``unknown``)."""

_BY_NAME = {**{c.value: c for c in CATEGORIES}, **{c.separation_key: c for c in CATEGORIES}}


def separation_code(name: str | None) -> int:
    """Separation code of a wire value or separation key; anything else (``unknown``, an unregistered
    or misspelt category, ``None``) is the unknown row: treated with the non-cooperative minima."""
    found = _BY_NAME.get(name) if name is not None else None
    return UNKNOWN_SEPARATION_CODE if found is None else _CODE[found]

