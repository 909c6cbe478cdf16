"""``/api/`` for the map: territories, clearings (pages and vector tiles), risk,
corridors, field observations and the basemap."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from starlette.responses import Response

from vigilancia.services import basemap as basemap_service
from vigilancia.services import map as map_service
from vigilancia.services import overview
from vigilancia.services.territories import list_territories
from vigilancia.web.deps import GEOJSON, Ctx, context, respond

router = APIRouter(prefix="/api", tags=["map"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Zoom = Annotated[int, Path(ge=0, le=map_service.MAX_ZOOM)]
TileIndex = Annotated[int, Path(ge=0, le=2**22 - 1)]
ZoomQuery = Annotated[int | None, Query(ge=0, le=22, description="Simplify for this zoom.")]
Kinds = Annotated[list[str] | None, Query(alias="kind", max_length=8,
                                          description="community, reserve, protected_area, "
                                          "district (repeatable).")]


@router.get("/territories", summary="Territories (no geometry)")
def territories(kind: Kinds = None, ctx: Ctx = Depends(context)) -> Response:
    """Every territory (or those of ``kind``): id, name, kind, people, tenure, area."""
    return respond(list_territories(ctx.store, kind))


@router.get("/territories/geojson", summary="Territory outlines with their risk")
def territories_geojson(kind: Kinds = None, zoom: ZoomQuery = None,
                        ctx: Ctx = Depends(context)) -> Response:
    """GeoJSON of the territories, simplified for ``zoom``, with each one's latest risk."""
    return respond(overview.territory_map(ctx.store, kinds=kind, zoom=zoom),
                   media_type=GEOJSON)


@router.get("/territories/{territory_id}", summary="One territory's overview")
def territory(territory_id: Id, ctx: Ctx = Depends(context)) -> Response:
    """A territory with its risk and reasons, trend, cases and (for those who see patrol
    plans) its last patrols, as a GeoJSON Feature."""
    return respond(overview.territory_overview(ctx.store, territory_id,
                                               disclosure=ctx.disclosure),
                   media_type=GEOJSON)


# ----------------------------------------------------------------------- clearings

Since = Annotated[date | None, Query(description="Alerts on or after this date.")]
Until = Annotated[date | None, Query(description="Alerts on or before this date.")]
Drivers = Annotated[list[str] | None, Query(alias="driver", max_length=8,
                                            description="Likely driver (repeatable): coca, "
                                            "airstrip, mining, road, agriculture, other, "
                                            "unclassified.")]
Confidence = Annotated[str | None, Query(max_length=16,
                                         description="Lowest confidence: low, high, highest.")]
TerritoryQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1,
                                             description="Only clearings in this territory.")]
Statuses = Annotated[list[str] | None, Query(alias="status", max_length=8,
                                             description="Status of their case (repeatable); "
                                             "none: in no case.")]


@router.get("/clearings", summary="Clearings by bounding box and filters, in pages")
def clearings(
    bbox: Annotated[str | None, Query(max_length=200, description="west,south,east,north")]
    = None,
    since: Since = None,
    until: Until = None,
    driver: Drivers = None,
    confidence: Confidence = None,
    territory: TerritoryQuery = None,
    status: Statuses = None,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="Last id of the previous "
                                       "page.")] = None,
    limit: Annotated[int, Query(ge=1, le=map_service.MAX_PAGE)] = 100,
    ctx: Ctx = Depends(context),
) -> Response:
    """A GeoJSON page of clearings in id order; ``next_after`` asks for the next page."""
    where = map_service.clearing_filter(since=since, until=until, drivers=driver,
                                        min_confidence=confidence, territory=territory,
                                        statuses=status)
    return respond(map_service.clearings_page(ctx.store, where,
                                              bbox=map_service.parse_bbox(bbox),
                                              after=after, limit=limit),
                   media_type=GEOJSON)


@router.get("/clearings/{clearing_id}", summary="One clearing with its reasons")
def clearing(clearing_id: Annotated[int, Path(ge=1, le=2**62)],
             ctx: Ctx = Depends(context)) -> Response:
    """A GeoJSON Feature: shape, dates, confidence, driver and why, placement, case."""
    return respond(map_service.clearing_detail(ctx.store, clearing_id), media_type=GEOJSON)


@router.get("/tiles/clearings/{z}/{x}/{y}.mvt", summary="Vector tile of the clearings",
            response_class=Response,
            responses={200: {"content": {"application/vnd.mapbox-vector-tile": {}}},
                       204: {"description": "Nothing in this tile."}})
def clearing_tile(z: Zoom, x: TileIndex, y: TileIndex, since: Since = None,
                  until: Until = None, driver: Drivers = None, confidence: Confidence = None,
                  territory: TerritoryQuery = None, status: Statuses = None,
                  ctx: Ctx = Depends(context)) -> Response:
    """Mapbox Vector Tile, layer ``clearings``: thinned points below zoom 13, polygons
    from 13 on; properties id, driver, probability, area_ha, first_date, last_date,
    confidence, case, case_status."""
    where = map_service.clearing_filter(since=since, until=until, drivers=driver,
                                        min_confidence=confidence, territory=territory,
                                        statuses=status)
    tile = map_service.clearing_tile(ctx.store, z, x, y, where)
    if not tile.data:
        return Response(status_code=204)
    return Response(tile.data, media_type="application/vnd.mapbox-vector-tile")


# ----------------------------------------------------------------------- analyses


@router.get("/risk", summary="Latest community risk, ranked and explained")
def risk(ctx: Ctx = Depends(context)) -> Response:
    """The latest stored risk assessment: each territory's score, class and reasons."""
    return respond(overview.risk_view(ctx.store))


@router.get("/risk/geojson", summary="Latest community risk as a choropleth")
def risk_geojson(zoom: ZoomQuery = None, ctx: Ctx = Depends(context)) -> Response:
    """GeoJSON of the scored territories (simplified for ``zoom``) with score and class."""
    return respond(overview.risk_view(ctx.store, geometry=True, zoom=zoom), media_type=GEOJSON)


@router.get("/corridors", summary="Latest trafficking corridors")
def corridors(ctx: Ctx = Depends(context)) -> Response:
    """GeoJSON of the routes of the latest ``vigilancia routes`` run, with its summary."""
    return respond(overview.corridor_map(ctx.store), media_type=GEOJSON)


@router.get("/observations", summary="Field observations on the map")
def observations(case: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                 ctx: Ctx = Depends(context)) -> Response:
    """GeoJSON of the field observations (or one case's): exact points and tracks for
    admins and coordinators, the centre of a fixed 0.01° cell for the others."""
    return respond(overview.observation_map(ctx.store, case=case, disclosure=ctx.disclosure),
                   media_type=GEOJSON)


# ----------------------------------------------------------------------- basemap


@router.get("/basemap", summary="The basemap the map draws")
def basemap(ctx: Ctx = Depends(context)) -> Response:
    """``kind``: none, remote (an XYZ address) or local (a file this server serves)."""
    return respond(basemap_service.basemap_info(ctx.settings))


@router.get("/basemap/tiles/{z}/{x}/{y}", summary="A tile of the local basemap",
            response_class=Response)
def basemap_tile(z: Annotated[int, Path(ge=0, le=30)], x: TileIndex, y: TileIndex,
                 ctx: Ctx = Depends(context)) -> Response:
    """A tile of the local basemap file (PMTiles or MBTiles)."""
    tile = basemap_service.basemap_tile(ctx.settings, z, x, y)
    headers = {"Cache-Control": "private, max-age=86400"}
    if tile.encoding:
        headers["Content-Encoding"] = tile.encoding
    return Response(tile.data, media_type=tile.media_type, headers=headers)
