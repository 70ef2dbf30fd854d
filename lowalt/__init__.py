"""lowalt: low-altitude airspace operations for the Jingdezhen / Fuliang coordination centre."""

__version__ = "0.1.0"
