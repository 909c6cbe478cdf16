// What the pages that write share: the session's CSRF token, requests with upload
// progress, the texts of the page (in its language) and small formatting helpers.

/** The page's texts: the JSON block `<script type="application/json" id="texts">`. */
export function texts() {
  const node = document.getElementById("texts");
  return node ? JSON.parse(node.textContent) : {};
}

/** The session's CSRF token (every write carries it as the X-CSRF-Token header). */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** The text of an API error answer (message and hint, in the page's language). */
export function errorText(status, body, fallback) {
  const error = body && body.error;
  if (error && error.message) {
    return error.hint ? `${error.message} (${error.hint})` : error.message;
  }
  return `${fallback} (HTTP ${status})`;
}

/**
 * Send a request through XMLHttpRequest (the one that reports upload progress).
 * `body`: FormData, an object (sent as JSON) or null. `onUpload(loaded, total)` is called
 * while the body goes up. Resolves to {status, body, blob?, headers}.
 */
export function send(method, url, body, { onUpload = null, asBlob = false } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("Accept", "application/json");
    if (method !== "GET") xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    if (asBlob) xhr.responseType = "blob";
    let payload = null;
    if (body instanceof FormData) {
      payload = body;
    } else if (body !== null && body !== undefined) {
      xhr.setRequestHeader("Content-Type", "application/json");
      payload = JSON.stringify(body);
    }
    if (onUpload) {
      xhr.upload.addEventListener("progress", (e) => onUpload(e.loaded, e.lengthComputable ? e.total : null));
    }
    xhr.addEventListener("load", async () => {
      let parsed = null;
      if (asBlob && xhr.status < 300) {
        resolve({ status: xhr.status, blob: xhr.response, headers: xhr });
        return;
      }
      try {
        const text = asBlob ? await xhr.response.text() : xhr.responseText;
        parsed = text ? JSON.parse(text) : null;
      } catch (_e) {
        parsed = null;
      }
      resolve({ status: xhr.status, body: parsed, headers: xhr });
    });
    xhr.addEventListener("error", () => reject(new Error("network")));
    xhr.addEventListener("abort", () => reject(new Error("abort")));
    xhr.send(payload);
  });
}

/** A size in bytes for people: "850 kB", "1,2 MB". */
export function size(bytes, lang) {
  const units = ["B", "kB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toLocaleString(lang, { maximumFractionDigits: digits })} ${units[unit]}`;
}

/** A number in the page's language ("1.234,5" in Spanish). */
export function number(value, lang, digits = 0) {
  return Number(value).toLocaleString(lang, { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** `text` with its {name} placeholders filled from `values`. */
export function fill(text, values) {
  return String(text).replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
}

/** Set a <progress> and its caption. */
export function showProgress(bar, caption, fraction, text) {
  if (fraction === null || fraction === undefined) {
    bar.removeAttribute("value");
  } else {
    bar.value = Math.max(0, Math.min(1, fraction));
  }
  caption.textContent = text;
}

/** A new element with text and attributes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
