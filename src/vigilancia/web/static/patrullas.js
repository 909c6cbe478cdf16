// The patrol-planning page: a community, a budget and a start clicked on the map; the
// route (preview), saved, and the community's offline package.
import { el, errorText, fill, number, send, texts } from "./work.js";

const T = texts();
const lang = document.documentElement.lang || "es";
const $ = (id) => document.getElementById(id);
const form = $("plan-form");
const territorySelect = $("territory");
const startInput = $("start");
const message = $("form-message");
const saved = $("saved");
let lastPlan = null; // the body of the last preview (what "save" stores)
let map = null;
let maplibregl = null;
let startMarker = null;
let stopMarkers = [];
let territories = null;

// ------------------------------------------------------------------ the map

function bboxOf(geometry) {
  let b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === "number") {
      b = [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])];
    } else c.forEach(walk);
  };
  walk(geometry.coordinates);
  return b;
}

/** A WKT LINESTRING or MULTILINESTRING (the plan's route) as GeoJSON. */
function wktLines(wkt) {
  if (!wkt) return null;
  const parts = [...wkt.matchAll(/\(([-\d.eE\s,]+)\)/g)].map((m) =>
    m[1].split(",").map((p) => p.trim().split(/\s+/).slice(0, 2).map(Number)));
  if (!parts.length) return null;
  return { type: "MultiLineString", coordinates: parts };
}

const EMPTY = { type: "FeatureCollection", features: [] };
// The route's colour (the stops' markers have it too: work.css).
const ROUTE_COLOUR = "#c2410c";

async function startMap() {
  let common;
  try { // the map's scripts (from npm) may be missing: the page says so, planning still works
    common = await import("/static/common.js");
  } catch (_e) {
    return;
  }
  maplibregl = common.maplibregl;
  const palette = JSON.parse($("palette").textContent);
  map = await common.makeMap($("map"), palette, null);
  map.on("load", async () => {
    const answer = await send("GET", "/api/territories/geojson?zoom=10", null);
    territories = answer.status === 200 ? answer.body : EMPTY;
    map.addSource("territories", { type: "geojson", data: territories });
    map.addSource("route", { type: "geojson", data: EMPTY });
    map.addLayer({ id: "territories-fill", type: "fill", source: "territories",
      paint: { "fill-color": palette.territory_fill, "fill-opacity": 0.25 } });
    map.addLayer({ id: "territories-line", type: "line", source: "territories",
      paint: { "line-color": palette.territory_line, "line-width": 1 } });
    map.addLayer({ id: "territory-selected", type: "line", source: "territories",
      filter: ["==", ["get", "id"], -1], paint: { "line-color": palette.territory_line, "line-width": 3.5 } });
    map.addLayer({ id: "route-line", type: "line", source: "route",
      layout: { "line-join": "round", "line-cap": "round" },
      paint: { "line-color": ROUTE_COLOUR, "line-width": 4 } });
    showTerritory();
  });
  map.on("click", (e) => {
    if (!startInput) return;
    const { lng, lat } = e.lngLat;
    startInput.value = `${lng.toFixed(5)},${lat.toFixed(5)}`;
    setStart([lng, lat]);
  });
}

function setStart(lonlat) {
  if (!map) return;
  if (!lonlat) {
    if (startMarker) startMarker.remove();
    startMarker = null;
    return;
  }
  if (!startMarker) {
    startMarker = new maplibregl.Marker({ element: el("div", { class: "start-marker", title: "start" }) });
  }
  startMarker.setLngLat(lonlat).addTo(map);
}

function showTerritory() {
  if (!map || !territories || !map.getLayer("territory-selected")) return;
  const id = Number(territorySelect.value);
  map.setFilter("territory-selected", ["==", ["get", "id"], id]);
  const feature = territories.features.find((f) => f.properties.id === id);
  if (feature && feature.geometry) {
    const b = bboxOf(feature.geometry);
    // the map is idle again once drawn there (tests and people click on it then)
    map.getContainer().dataset.mapState = "loading";
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, duration: 0, maxZoom: 13 });
    map.triggerRepaint();
  }
  map.getContainer().dataset.territory = String(id);
}

function showRoute(plan) {
  if (!map || !map.getSource("route")) return;
  const geometry = wktLines(plan && plan.route);
  map.getSource("route").setData(geometry ? { type: "Feature", geometry, properties: {} } : EMPTY);
  for (const m of stopMarkers) m.remove();
  stopMarkers = [];
  if (!plan) return;
  setStart(plan.start);
  for (const s of plan.stops) {
    const node = el("div", { class: "stop-marker", title: caseCode(s.case_id) }, String(s.order));
    stopMarkers.push(new maplibregl.Marker({ element: node }).setLngLat([s.lon, s.lat]).addTo(map));
  }
  if (geometry) {
    const b = bboxOf(geometry);
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 50, duration: 0, maxZoom: 14 });
  }
}

// ------------------------------------------------------------------ the plan

const caseCode = (id) => `C-${String(id).padStart(4, "0")}`;

function request() {
  const start = startInput ? startInput.value.trim() : "";
  return {
    territory: territorySelect.value,
    max_km: Number($("max_km").value),
    start: start || null,
    returns: $("returns").checked,
  };
}

function showPlan(plan) {
  $("plan").hidden = false;
  const start = plan.start_name || T[`start_kind_${plan.start_kind}`] || plan.start_kind;
  let totals = fill(T.totals, { stops: number(plan.stops.length, lang), km: number(plan.total_km, lang, 1),
    hours: number(plan.total_hours, lang, 1), start });
  if (plan.returns && plan.return_km) totals += ` (${fill(T.totals_back, { km: number(plan.return_km, lang, 1) })})`;
  $("plan-totals").textContent = totals;
  const body = document.querySelector("#stops tbody");
  body.replaceChildren(...plan.stops.map((s) => el("tr", {},
    el("td", { class: "num" }, s.order),
    el("td", {}, el("a", { href: `/casos/${caseCode(s.case_id)}` }, caseCode(s.case_id))),
    el("td", { class: "num" }, number(s.priority, lang, 2)),
    el("td", { class: "num" }, number(s.leg_km, lang, 1)),
    el("td", { class: "num" }, number(s.cumulative_km, lang, 1)),
    el("td", {}, s.care.map((c) => `⚠ ${T[c.kind] || c.kind}${c.name ? ` (${c.name})` : ""}, ${number(c.distance_m, lang)} m`).join("; ")))));
  $("skipped").textContent = plan.skipped && plan.skipped.length
    ? fill(T.skipped, { codes: plan.skipped.map((s) => (typeof s === "number" ? caseCode(s) : s)).join(", ") }) : "";
  showRoute(plan);
}

async function post(url, okStatus) {
  message.textContent = "";
  try {
    const answer = await send("POST", url, request());
    if (answer.status === okStatus) return answer.body;
    message.textContent = errorText(answer.status, answer.body, T.failed);
  } catch (_e) {
    message.textContent = T.network;
  }
  return null;
}

if (form && $("preview")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    saved.textContent = T.planning;
    const saveButton = $("save");
    if (saveButton) saveButton.disabled = true;
    const plan = await post("/api/patrol-plans/preview", 200);
    saved.textContent = "";
    if (!plan) return;
    lastPlan = request();
    showPlan(plan);
    if (saveButton) saveButton.disabled = false;
  });
}

if ($("save")) {
  $("save").addEventListener("click", async () => {
    const plan = await post("/api/patrol-plans", 201);
    if (!plan) return;
    showPlan(plan);
    saved.textContent = fill(T.saved, { id: plan.id });
    $("save").disabled = true;
  });
}

if ($("download")) {
  $("download").addEventListener("click", async () => {
    message.textContent = "";
    saved.textContent = T.downloading;
    try {
      const url = `/api/territories/${encodeURIComponent(territorySelect.value)}/package`;
      const answer = await send("GET", url, null, { asBlob: true });
      if (answer.status !== 200) {
        saved.textContent = "";
        message.textContent = errorText(answer.status, answer.body, T.failed);
        return;
      }
      const disposition = answer.headers.getResponseHeader("Content-Disposition") || "";
      const found = disposition.match(/filename\*?=(?:UTF-8'')?"?([^";]+)"?/i);
      const name = found ? decodeURIComponent(found[1]) : "paquete.zip";
      const link = el("a", { href: URL.createObjectURL(answer.blob), download: name });
      document.body.append(link);
      link.click();
      link.remove();
      saved.textContent = fill(T.downloaded, { name });
    } catch (_e) {
      saved.textContent = "";
      message.textContent = T.network;
    }
  });
}

territorySelect.addEventListener("change", () => {
  lastPlan = null;
  if ($("save")) $("save").disabled = true;
  $("plan").hidden = true;
  showRoute(null);
  showTerritory();
});
if ($("clear-start")) {
  $("clear-start").addEventListener("click", () => {
    startInput.value = "";
    setStart(null);
  });
}
if (startInput) {
  startInput.addEventListener("change", () => {
    const m = startInput.value.match(/^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/);
    setStart(m ? [Number(m[1]), Number(m[2])] : null);
  });
}

startMap();
