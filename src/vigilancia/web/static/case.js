// A case's page: its clearings on the map (their outlines, coloured by driver), the case's
// point, and the field records (exact or snapped to a grid cell, as the role may see them).
import { boundsOf, here, loaded, makeMap, matchColour, pageData } from '/static/common.js';

const data = pageData();
const P = data.palette;
const geoms = data.clearings.features.map((f) => f.geometry).filter(Boolean);
let bounds = boundsOf(geoms.length ? geoms : [{ type: 'Point', coordinates: data.point }]);
if (bounds) {
  const pad = 0.0015;
  bounds = [[bounds[0][0] - pad, bounds[0][1] - pad], [bounds[1][0] + pad, bounds[1][1] + pad]];
}
const map = await makeMap(document.getElementById('map'), P, bounds);
await loaded(map);
const colour = matchColour('driver', P.drivers, P.drivers.unclassified);
map.addSource('case-clearings', { type: 'geojson', data: data.clearings });
map.addLayer({ id: 'case-fill', type: 'fill', source: 'case-clearings', paint: { 'fill-color': colour, 'fill-opacity': 0.85 } });
map.addLayer({ id: 'case-line', type: 'line', source: 'case-clearings', paint: { 'line-color': '#222222', 'line-width': 1 } });
map.addSource('case-point', { type: 'geojson', data: { type: 'Feature', geometry: { type: 'Point', coordinates: data.point }, properties: {} } });
map.addLayer({ id: 'case-point', type: 'circle', source: 'case-point',
  paint: { 'circle-radius': 7, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': P.case, 'circle-stroke-width': 2.5 } });
if (data.observations) {
  map.addSource('observations', { type: 'geojson', data: here(`/api/observations?case=${data.case}`) });
  map.addLayer({ id: 'obs-line', type: 'line', source: 'observations', filter: ['==', ['geometry-type'], 'LineString'],
    paint: { 'line-color': '#111111', 'line-width': 1.5, 'line-dasharray': [1, 1] } });
  map.addLayer({ id: 'obs-point', type: 'circle', source: 'observations', filter: ['==', ['geometry-type'], 'Point'],
    paint: { 'circle-radius': 4.5, 'circle-color': '#111111', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1.5 } });
}
window.vigilanciaMap = map;
