// A territory's page: its outline and its clearings (vector tiles filtered to it).
import { addClearings, boundsOf, loaded, makeMap, pageData } from '/static/common.js';

const data = pageData();
const P = data.palette;
const map = await makeMap(document.getElementById('map'), P, boundsOf([data.outline]));
await loaded(map);
map.addSource('territory', { type: 'geojson', data: { type: 'Feature', geometry: data.outline, properties: {} } });
map.addLayer({ id: 'territory-fill', type: 'fill', source: 'territory', paint: { 'fill-color': P.territory_fill, 'fill-opacity': 0.35 } });
map.addLayer({ id: 'territory-line', type: 'line', source: 'territory', paint: { 'line-color': P.territory_line, 'line-width': 2.5 } });
addClearings(map, P, `territory=${encodeURIComponent(data.territory)}`);
