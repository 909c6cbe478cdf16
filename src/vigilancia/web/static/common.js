// What the pages' scripts share: the page's data, the map, safe text, the session's token.
// MapLibre GL JS 6 is an ES module served by the app itself (static/vendor, from npm).
import * as maplibregl from '/static/vendor/maplibre-gl/maplibre-gl.mjs';

export { maplibregl };

/** The JSON the page's template put in <script id="page-data">. */
export function pageData() {
  const node = document.getElementById('page-data');
  return node ? JSON.parse(node.textContent) : {};
}

// The session's CSRF token, for writes by fetch (header X-CSRF-Token): one helper for
// every page, in work.js (which loads no map).
export { csrfToken } from './work.js';

/** Text made safe for innerHTML. */
export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  }[c]));
}

/** A number in the page's language (1.234,5 in Spanish). */
export function num(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return '?';
  return Number(value).toLocaleString(document.documentElement.lang || 'es', {
    maximumFractionDigits: digits, minimumFractionDigits: 0,
  });
}

/** GET JSON from the app (same origin, the session's cookie). */
export async function getJSON(url) {
  const r = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(`${r.status} ${url}`);
  return r.json();
}

/** An absolute address of this app (MapLibre needs absolute tile addresses). */
export function here(path) {
  return window.location.origin + path;
}

/** A map with no remote source: a plain background, plus the local basemap when the server
 *  has one (GET /api/basemap). Marks #map data-map-state="idle" once everything is drawn. */
export async function makeMap(container, palette, bounds) {
  const style = {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': palette.background } }],
  };
  try {
    const basemap = await getJSON('/api/basemap');
    if (basemap && basemap.tiles && basemap.kind !== 'none' && basemap.format !== 'pbf') {
      style.sources.basemap = {
        type: 'raster', tileSize: 256,
        tiles: [basemap.kind === 'local' ? window.location.origin + basemap.tiles : basemap.tiles],
        minzoom: basemap.min_zoom ?? 0, maxzoom: basemap.max_zoom ?? 22,
      };
      style.layers.push({ id: 'basemap', type: 'raster', source: 'basemap' });
    }
  } catch (e) { /* no basemap: the plain background */ }
  const map = new maplibregl.Map({
    container, style, attributionControl: false,
    bounds: bounds || [[-76, -11], [-74, -9]],
    fitBoundsOptions: { padding: 24 },
    maxZoom: 18,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  const el = map.getContainer();
  map.on('dataloading', () => { el.dataset.mapState = 'loading'; });
  map.on('idle', () => { el.dataset.mapState = 'idle'; });
  return map;
}

/** Wait for a map's style. */
export function loaded(map) {
  return new Promise((resolve) => (map.loaded() ? resolve() : map.once('load', resolve)));
}

/** A DOM label (no web fonts needed) at [lon, lat]. */
export function label(map, lngLat, text, className = 'maplabel') {
  const el = document.createElement('div');
  el.className = className;
  el.textContent = text;
  return new maplibregl.Marker({ element: el }).setLngLat(lngLat).addTo(map);
}

/** MapLibre's match expression of a property to colours. */
export function matchColour(property, colours, fallback) {
  const expr = ['match', ['coalesce', ['get', property], 'unclassified']];
  for (const [k, v] of Object.entries(colours)) expr.push(k, v);
  expr.push(fallback);
  return expr;
}

/** The [[west, south], [east, north]] box of GeoJSON geometries (null when empty). */
export function boundsOf(geometries) {
  let w = Infinity; let s = Infinity; let e = -Infinity; let n = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]);
    } else for (const x of c) walk(x);
  };
  for (const g of geometries) if (g && g.coordinates) walk(g.coordinates);
  return Number.isFinite(w) ? [[w, s], [e, n]] : null;
}

/** The clearings of the API's vector tiles (``query``: its filters), coloured by driver. */
export function addClearings(map, palette, query = '') {
  map.addSource('clearings', {
    type: 'vector', minzoom: 0, maxzoom: 16,
    tiles: [here('/api/tiles/clearings/{z}/{x}/{y}.mvt') + (query ? `?${query}` : '')],
  });
  const colour = matchColour('driver', palette.drivers, palette.drivers.unclassified);
  map.addLayer({ id: 'clearing-fill', type: 'fill', source: 'clearings', 'source-layer': 'clearings',
    filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': colour, 'fill-opacity': 0.9 } });
  map.addLayer({ id: 'clearing-point', type: 'circle', source: 'clearings', 'source-layer': 'clearings',
    filter: ['==', ['geometry-type'], 'Point'],
    paint: { 'circle-color': colour, 'circle-radius': ['interpolate', ['linear'], ['zoom'], 6, 3.5, 12, 7],
      'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1 } });
}
