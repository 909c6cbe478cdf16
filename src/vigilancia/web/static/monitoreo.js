// The monitoring-run page: send the alert files, start the run, follow its progress.
import { el, errorText, fill, number, send, showProgress, size, texts } from "./work.js";

const T = texts();
const lang = document.documentElement.lang || "es";
const form = document.getElementById("run-form");
const startButton = document.getElementById("start");
const formMessage = document.getElementById("form-message");
const panel = document.getElementById("run-panel");
const bar = document.getElementById("run-bar");
const caption = document.getElementById("run-caption");
const statusBadge = document.getElementById("run-status");
let polling = null;

function time(iso) {
  return new Date(iso).toLocaleString(lang, { dateStyle: "short", timeStyle: "short" });
}

function showRun(run) {
  panel.hidden = false;
  panel.dataset.status = run.status;
  statusBadge.textContent = run.status_text;
  statusBadge.className = `badge ${run.status}`;
  document.getElementById("run-who").textContent =
    fill(T.started_by, { actor: run.actor, time: time(run.started) }) +
    (run.finished ? ` · ${fill(T.ended, { time: time(run.finished) })}` : "");
  document.getElementById("run-files").textContent = run.files.join(", ");
  const p = run.progress;
  const part = p.parts > 1 ? ` (${fill(T.part, { part: p.part + 1, parts: p.parts })})` : "";
  if (run.status === "running") {
    const text = p.stage_text
      ? (p.total ? fill(T.stage, { stage: p.stage_text, done: number(p.done, lang), total: number(p.total, lang) })
        : fill(T.stage_open, { stage: p.stage_text, done: number(p.done, lang) }))
      : T.starting;
    showProgress(bar, caption, p.fraction, text + part);
  } else {
    showProgress(bar, caption, run.status === "finished" ? 1 : 0, run.status_text);
  }
  startButton.disabled = run.status === "running";
  document.getElementById("run-error").textContent =
    run.status === "failed" ? run.error : run.status === "interrupted" ? T.interrupted : "";
  const summary = document.getElementById("run-summary");
  summary.replaceChildren();
  if (run.status === "finished" && run.summary) summary.append(summaryTable(run));
}

function summaryTable(run) {
  const s = run.summary;
  const rows = [
    [T.clearings, number(s.clearings, lang)],
    [T.area, number(s.area_ha, lang, 1)],
    [T.territories, number(s.territories, lang)],
    [T.batches_new, number(s.batches_new, lang)],
    [T.batches_present, number(s.batches_present, lang)],
  ];
  const table = el("table", { class: "facts", id: "run-facts" });
  for (const [k, v] of rows) table.append(el("tr", {}, el("th", {}, k), el("td", {}, v)));
  const drivers = Object.entries(s.drivers || {});
  if (drivers.length) {
    const list = el("ul", { class: "drivers" });
    for (const [code, n] of drivers.sort((a, b) => b[1] - a[1])) {
      list.append(el("li", { class: `driver ${code}` }, `${run.driver_names[code] || code}: ${number(n, lang)}`));
    }
    table.append(el("tr", {}, el("th", {}, T.drivers), el("td", {}, list)));
  }
  return el("div", {}, table, el("p", {}, el("a", { href: "/" }, T.see_map)));
}

async function poll(id) {
  clearTimeout(polling);
  try {
    const answer = await send("GET", `/api/monitor-runs/${encodeURIComponent(id)}`, null);
    if (answer.status === 200) {
      showRun(answer.body);
      if (answer.body.status === "running") polling = setTimeout(() => poll(id), 1000);
      return;
    }
    formMessage.textContent = errorText(answer.status, answer.body, T.failed);
  } catch (_e) {
    caption.textContent = T.network;
    polling = setTimeout(() => poll(id), 3000);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  formMessage.textContent = "";
  const files = document.getElementById("files").files;
  const onServer = form.querySelectorAll('input[name="server_files"]:checked');
  if (!files.length && !onServer.length) {
    formMessage.textContent = T.choose;
    return;
  }
  const data = new FormData(form);
  data.delete("csrf_token");
  if (!files.length) data.delete("files");
  for (const name of ["since", "until"]) if (!data.get(name)) data.delete(name);
  data.set("classify", form.elements.classify.checked ? "true" : "false");
  startButton.disabled = true;
  panel.hidden = false;
  statusBadge.textContent = "";
  document.getElementById("run-summary").replaceChildren();
  document.getElementById("run-error").textContent = "";
  try {
    const answer = await send("POST", "/api/monitor-runs", data, {
      onUpload: (loaded, total) => showProgress(bar, caption, total ? loaded / total : null,
        total ? fill(T.uploading, { done: size(loaded, lang), total: size(total, lang) }) : T.waiting),
    });
    if (answer.status === 202) {
      showRun(answer.body);
      poll(answer.body.id);
    } else {
      formMessage.textContent = errorText(answer.status, answer.body, T.failed);
      startButton.disabled = false;
      if (answer.status === 409) {
        const latest = JSON.parse(document.getElementById("latest-run").textContent || "null");
        if (latest) poll(latest.id);
      }
      showProgress(bar, caption, 0, "");
    }
  } catch (_e) {
    formMessage.textContent = T.network;
    startButton.disabled = false;
  }
});

const latest = JSON.parse(document.getElementById("latest-run").textContent || "null");
if (latest) {
  showRun(latest);
  if (latest.status === "running") poll(latest.id);
}
