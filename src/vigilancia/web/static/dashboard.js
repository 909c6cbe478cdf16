// The dashboard map: territories (risk choropleth, names), clearings by likely driver from
// the API's vector tiles (date slider, driver filter), runway candidates, corridors and
// context layers; a click says what a thing is and why.
import {
  addClearings, esc, getJSON, here, label, loaded, makeMap, matchColour, num, pageData,
} from '/static/common.js';

const data = pageData();
const T = data.texts;
const P = data.palette;
const bounds = data.bounds ? [[data.bounds[0], data.bounds[1]], [data.bounds[2], data.bounds[3]]] : null;
const mapEl = document.getElementById('map');
const map = await makeMap(mapEl, P, bounds);
await loaded(map);

// ---------------------------------------------------------------- filters -> tile address
const first = data.first_date ? new Date(data.first_date + 'T00:00:00Z') : null;
const sinceEl = document.getElementById('since');
const untilEl = document.getElementById('until');

function dayOf(offset) {
  const d = new Date(first.getTime() + Number(offset) * 86400000);
  return d.toISOString().slice(0, 10);
}

function filters() {
  const q = new URLSearchParams();
  if (first && sinceEl && untilEl) {
    let a = Number(sinceEl.value);
    let b = Number(untilEl.value);
    if (a > b) [a, b] = [b, a];
    if (a > Number(sinceEl.min)) q.set('since', dayOf(a));
    if (b < Number(untilEl.max)) q.set('until', dayOf(b));
  }
  const boxes = [...document.querySelectorAll('#drivers input[name=driver]')];
  const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
  if (chosen.length > 0 && chosen.length < boxes.length) {
    for (const d of chosen) q.append('driver', d);
  }
  return q.toString();
}

function tileUrl() {
  const q = filters();
  return here('/api/tiles/clearings/{z}/{x}/{y}.mvt') + (q ? `?${q}` : '');
}

// ---------------------------------------------------------------- layers
map.addSource('territories', { type: 'geojson', data: here('/api/territories/geojson?zoom=12') });
map.addLayer({
  id: 'risk-fill', type: 'fill', source: 'territories',
  filter: ['has', 'risk_class'],
  paint: { 'fill-color': matchColour('risk_class', P.risk, P.territory_fill), 'fill-opacity': 0.55 },
});
map.addLayer({
  id: 'territory-fill', type: 'fill', source: 'territories',
  paint: { 'fill-color': P.territory_fill, 'fill-opacity': 0.01 },
});
map.addLayer({
  id: 'territory-line', type: 'line', source: 'territories',
  paint: { 'line-color': P.territory_line, 'line-width': 2.5 },
});

const contextKinds = (data.context || []).map((c) => c.kind);
if (contextKinds.length) {
  map.addSource('context', { type: 'geojson', data: here('/api/context?zoom=12') });
  const colour = matchColour('kind', P.context, '#333333');
  map.addLayer({ id: 'context-line', type: 'line', source: 'context',
    filter: ['!=', ['geometry-type'], 'Point'],
    paint: { 'line-color': colour, 'line-width': 1.4, 'line-opacity': 0.8 } });
  map.addLayer({ id: 'context-point', type: 'circle', source: 'context',
    filter: ['==', ['geometry-type'], 'Point'],
    paint: { 'circle-color': colour, 'circle-radius': 3.5, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1 } });
}

if (document.querySelector('input[data-layer=corridors]:not([disabled])')) {
  map.addSource('corridors', { type: 'geojson', data: here('/api/corridors') });
  map.addLayer({ id: 'corridor-line', type: 'line', source: 'corridors',
    paint: { 'line-color': P.corridor, 'line-width': 3, 'line-dasharray': [2, 1.5], 'line-opacity': 0.9 } });
}

addClearings(map, P, filters());
map.addLayer({ id: 'runway-ring', type: 'circle', source: 'clearings', 'source-layer': 'clearings',
  filter: ['==', ['get', 'driver'], 'airstrip'],
  paint: { 'circle-color': 'rgba(0,0,0,0)', 'circle-radius': ['interpolate', ['linear'], ['zoom'], 6, 7, 12, 12],
    'circle-stroke-color': '#000000', 'circle-stroke-width': 2 } });

// what was clicked last: ringed in red
map.addSource('selected', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
map.addLayer({ id: 'selected-line', type: 'line', source: 'selected',
  filter: ['!=', ['geometry-type'], 'Point'], paint: { 'line-color': '#d7191c', 'line-width': 3 } });
map.addLayer({ id: 'selected-point', type: 'circle', source: 'selected',
  filter: ['==', ['geometry-type'], 'Point'],
  paint: { 'circle-color': 'rgba(0,0,0,0)', 'circle-radius': 11, 'circle-stroke-color': '#d7191c', 'circle-stroke-width': 3 } });

function select(feature) {
  const features = feature ? [{ type: 'Feature', geometry: feature.geometry, properties: {} }] : [];
  map.getSource('selected').setData({ type: 'FeatureCollection', features });
}

// territory names: DOM labels (the map loads no web font)
const labels = [];
getJSON('/api/territories/geojson?zoom=8').then((fc) => {
  for (const f of fc.features) {
    if (f.properties.label && (f.properties.kind === 'community' || f.properties.kind === 'reserve')) {
      labels.push(label(map, f.properties.label, f.properties.name));
    }
  }
}).catch(() => {});

// ---------------------------------------------------------------- controls
const LAYERS = {
  territories: ['territory-line', 'territory-fill'],
  risk: ['risk-fill'],
  clearings: ['clearing-fill', 'clearing-point'],
  runways: ['runway-ring'],
  corridors: ['corridor-line'],
};

function applyLayers() {
  for (const box of document.querySelectorAll('input[data-layer]')) {
    const name = box.dataset.layer;
    let on = box.checked && !box.disabled;
    if (name === 'context') continue;
    if (name === 'clearings' || name === 'runways') {
      on = on && [...document.querySelectorAll('#drivers input[name=driver]')].some((b) => b.checked);
    }
    for (const id of LAYERS[name] || []) {
      if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
    }
    if (name === 'territories') for (const m of labels) m.getElement().hidden = !on;
  }
  if (contextKinds.length) {
    const shown = [...document.querySelectorAll('input[data-layer=context]')]
      .filter((b) => b.checked).map((b) => b.dataset.kind);
    const f = ['in', ['get', 'kind'], ['literal', shown]];
    map.setFilter('context-line', ['all', ['!=', ['geometry-type'], 'Point'], f]);
    map.setFilter('context-point', ['all', ['==', ['geometry-type'], 'Point'], f]);
  }
}

function showDates() {
  if (!first) return;
  document.getElementById('since-out').textContent = dayOf(Math.min(sinceEl.value, untilEl.value));
  document.getElementById('until-out').textContent = dayOf(Math.max(sinceEl.value, untilEl.value));
}

function refreshClearings() {
  map.getSource('clearings').setTiles([tileUrl()]);
  applyLayers();
  mapEl.dataset.filters = filters();
}

for (const box of document.querySelectorAll('input[data-layer]')) box.addEventListener('change', applyLayers);
for (const box of document.querySelectorAll('#drivers input')) box.addEventListener('change', refreshClearings);
for (const el of [sinceEl, untilEl]) {
  if (!el) continue;
  el.addEventListener('input', showDates);
  el.addEventListener('change', () => { showDates(); refreshClearings(); });
}
applyLayers();
mapEl.dataset.filters = filters();

// ---------------------------------------------------------------- what is this?
const body = document.getElementById('info-body');
const hint = document.getElementById('info-hint');

function row(name, value) {
  return value === null || value === undefined || value === '' ? ''
    : `<dt>${esc(name)}</dt><dd>${value}</dd>`;
}

async function showClearing(id) {
  const f = await getJSON(`/api/clearings/${id}`);
  const p = f.properties;
  const colour = P.drivers[p.driver || 'unclassified'];
  const reasons = (p.reasons || []).map((r) => `<li>${esc(r.text)}</li>`).join('');
  const where = (p.territories || []).map((t) => esc(t.name)).join(', ');
  const runway = p.driver === 'airstrip' ? `<p class="tag">${esc(T.runway)}</p>` : '';
  return `<h3><span class="swatch dot" style="background:${esc(colour)}"></span>${esc(T.clearing)} ${esc(p.id)}</h3>${runway}
    <dl>${row(T.likely_driver, p.driver_name ? `${esc(p.driver_name)} (${esc(T.probability)} ${num(100 * (p.driver_probability || 0))} %)` : esc(T.unclassified))}
    ${row(T.dates, `${esc(p.first_date)} – ${esc(p.last_date)}`)}
    ${row(T.area, `${num(p.area_ha, 2)} ${T.ha}`)}
    ${row(T.in_territory, where || null)}
    ${row(T.nearest, !where && p.nearest_territory ? esc(p.nearest_territory) : null)}
    ${row(T.case, p.case ? `<a href="/casos/${esc(p.case)}">${esc(p.case)}</a>` : esc(T.no_case))}</dl>
    ${p.explanation ? `<p><strong>${esc(T.why)}:</strong> ${esc(p.explanation)}</p>` : ''}
    ${reasons ? `<ul class="reasons">${reasons}</ul>` : ''}`;
}

async function showTerritory(id) {
  const f = await getJSON(`/api/territories/${id}`);
  const p = f.properties;
  const risk = p.risk;
  const why = risk ? (risk.contributions || []).filter((c) => c.points > 0)
    .map((c) => `<li>${esc(c.text)}</li>`).join('') : '';
  return `<h3>${esc(p.name)}</h3>
    <dl>${row(T.kind, esc(p.kind))}${row(T.people, esc(p.people))}${row(T.tenure, esc(p.tenure))}
    ${row(T.risk, risk ? `<span class="swatch" style="background:${esc(P.risk[risk.risk_class])}"></span>${esc(risk.risk_class_name)} (${esc(T.score)} ${num(risk.score, 1)})` : esc(T.not_scored))}</dl>
    ${risk ? `<p><strong>${esc(T.why)}:</strong> ${esc(risk.explanation)}</p>` : ''}
    ${why ? `<ul class="reasons">${why}</ul>` : ''}
    <p><a href="/territorios/${esc(p.id)}">${esc(T.open_territory)}</a></p>`;
}

function showCorridor(p) {
  const modes = Array.isArray(p.modes) ? p.modes.join(', ') : p.modes;
  return `<h3>${esc(T.corridor)}</h3><dl>${row(T.route, `${esc(p.origin)} → ${esc(p.exit)}`)}
    ${row(T.modes, esc(modes))}${row(T.length, `${num(p.length_km, 1)} ${T.km} · ${num(p.cost_h, 1)} ${esc(T.hours)}`)}</dl>`;
}

function showPlace(p) {
  return `<h3>${esc(p.name || p.kind_name)}</h3><dl>${row(T.kind, esc(p.kind_name))}${row(T.place, esc(p.class))}</dl>`;
}

map.on('click', async (e) => {
  const box = [[e.point.x - 4, e.point.y - 4], [e.point.x + 4, e.point.y + 4]];
  const order = ['clearing-point', 'clearing-fill', 'context-point', 'context-line', 'corridor-line', 'territory-fill'];
  const layers = order.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
  const hits = map.queryRenderedFeatures(box, { layers });
  hits.sort((a, b) => order.indexOf(a.layer.id) - order.indexOf(b.layer.id));
  const hit = hits[0];
  hint.hidden = true;
  select(hit && hit.layer.id !== 'territory-fill' ? hit : null);
  if (!hit) { body.innerHTML = `<p class="note">${esc(T.nothing)}</p>`; return; }
  body.innerHTML = `<p class="note">${esc(T.loading)}</p>`;
  try {
    const id = hit.layer.id;
    if (id.startsWith('clearing')) body.innerHTML = await showClearing(hit.id);
    else if (id === 'territory-fill') body.innerHTML = await showTerritory(hit.properties.id);
    else if (id === 'corridor-line') body.innerHTML = showCorridor(hit.properties);
    else body.innerHTML = showPlace(hit.properties);
    body.dataset.kind = id.split('-')[0];
  } catch (err) {
    body.innerHTML = `<p class="error">${esc(T.failed)}</p>`;
  }
  document.getElementById('info').scrollIntoView({ block: 'nearest' });
});
map.on('mousemove', (e) => {
  const ids = ['clearing-point', 'clearing-fill', 'corridor-line', 'context-point'].filter((id) => map.getLayer(id));
  map.getCanvas().style.cursor = map.queryRenderedFeatures(e.point, { layers: ids }).length ? 'pointer' : '';
});
window.vigilanciaMap = map;
