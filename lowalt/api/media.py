"""Response classes for media types other than plain JSON."""

from __future__ import annotations

from fastapi.responses import JSONResponse


class GeoJSONResponse(JSONResponse):
    """GeoJSON (RFC 7946) answers: ``application/geo+json``, as GIS clients (QGIS, GDAL) expect."""

    media_type = "application/geo+json"
