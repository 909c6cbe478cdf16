// The field-data page: several files at once, the upload's progress, the result per file.
import { el, errorText, fill, number, send, showProgress, size, texts } from "./work.js";

const T = texts();
const LIMITS = JSON.parse(document.getElementById("limits").textContent);
const lang = document.documentElement.lang || "es";
const form = document.getElementById("upload-form");
const input = document.getElementById("files");
const sendButton = document.getElementById("send");
const message = document.getElementById("form-message");
const meter = document.getElementById("meter");
const bar = document.getElementById("bar");
const caption = document.getElementById("caption");

input.addEventListener("change", () => {
  const list = document.getElementById("chosen");
  list.replaceChildren(...[...input.files].map((f) => el("li", {}, `${f.name} (${size(f.size, lang)})`)));
});

function details(file) {
  const r = file.result;
  const lines = [];
  if (file.error) lines.push(file.error);
  if (r) {
    if (r.files_kept) lines.push(fill(T.kept, { n: r.files_kept }));
    if (r.files_known) lines.push(fill(T.known, { n: r.files_known }));
    if (r.observations_skipped) lines.push(fill(T.skipped, { n: r.observations_skipped }));
    if (r.new_cases && r.new_cases.length) lines.push(fill(T.new_cases, { codes: r.new_cases.join(", ") }));
    const touched = [...new Set((r.cases || []).flatMap((c) => c.cases || []))];
    if (touched.length) lines.push(fill(T.cases, { codes: touched.join(", ") }));
    if (r.tracks && r.tracks.length) lines.push(fill(T.tracks, { n: r.tracks.length }));
    for (const p of [...(r.failures || []), ...(r.warnings || [])]) {
      lines.push(p.source && !p.message.startsWith(p.source) ? `${p.source}: ${p.message}` : p.message);
    }
  }
  const list = el("ul", { class: "plain" });
  for (const line of lines) list.append(el("li", {}, line));
  return list;
}

function showResults(answer) {
  const body = document.querySelector("#result-table tbody");
  body.replaceChildren();
  for (const file of answer.files) {
    const state = file.ok ? "ok" : file.result ? "with_problems" : "not_imported";
    body.append(el("tr", { "data-state": state, "data-file": file.name },
      el("td", {}, file.name),
      el("td", {}, el("span", { class: `badge ${state}` }, T[state])),
      el("td", { class: "num" }, file.result ? number(file.result.observations_added, lang) : "—"),
      el("td", {}, details(file))));
  }
  document.getElementById("totals").textContent =
    fill(T.totals, { added: number(answer.observations_added, lang), failed: number(answer.failed, lang) });
  document.getElementById("results").hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  message.textContent = "";
  const files = [...input.files];
  if (!files.length) {
    message.textContent = T.choose;
    return;
  }
  const total = files.reduce((s, f) => s + f.size, 0);
  if (total > LIMITS.max_bytes) {
    message.textContent = fill(T.too_big, { size: size(LIMITS.max_bytes, lang) });
    return;
  }
  const data = new FormData();
  for (const f of files) data.append("files", f, f.name);
  sendButton.disabled = true;
  meter.hidden = false;
  showProgress(bar, caption, 0, "");
  try {
    const answer = await send("POST", "/api/field-imports", data, {
      onUpload: (loaded, all) => {
        const done = all && loaded >= all;
        showProgress(bar, caption, done ? null : all ? loaded / all : null,
          done ? T.importing : fill(T.uploading, { done: size(loaded, lang), total: size(all || total, lang) }));
      },
    });
    if (answer.status === 200) {
      showProgress(bar, caption, 1, "");
      meter.hidden = true;
      showResults(answer.body);
    } else {
      meter.hidden = true;
      message.textContent = errorText(answer.status, answer.body, T.failed);
    }
  } catch (_e) {
    meter.hidden = true;
    message.textContent = T.network;
  } finally {
    sendButton.disabled = false;
  }
});
