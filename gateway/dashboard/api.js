// api.js - the dashboard's only way to the server: Framewright's public REST
// API (/api/v2) with the signed-in key as a bearer token, and its event
// streams read with fetch(), so the key travels in the Authorization header
// and never in a URL (EventSource cannot send headers).

const KEY = "framewright.key";
const BASE = "/api/v2";

export function key() {
  return sessionStorage.getItem(KEY) || "";
}

export function setKey(k) {
  if (k) sessionStorage.setItem(KEY, k);
  else sessionStorage.removeItem(KEY);
}

// An answer that was not 2xx: the status and the API's {error, details}.
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || "HTTP " + status);
    this.status = status;
    this.details = (body && body.details) || [];
    this.field = this.details.length ? this.details[0].field : "";
  }
}

// Listeners for 401 answers: the key was revoked or never valid.
const unauthorized = [];
export function onUnauthorized(fn) {
  unauthorized.push(fn);
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (key()) h.Authorization = "Bearer " + key();
  return h;
}

async function failure(r) {
  let body = null;
  try {
    body = await r.json();
  } catch (e) {
    body = null;
  }
  const err = new ApiError(r.status, body);
  if (r.status === 401) unauthorized.forEach((fn) => fn(err));
  return err;
}

// One call; JSON in and out. opts: {method, body (an object), raw (a Blob
// sent as is), signal, asKey (a key to try instead of the signed-in one)}.
export async function call(path, opts) {
  opts = opts || {};
  const h = opts.asKey !== undefined ? { Authorization: "Bearer " + opts.asKey } : headers();
  let body;
  if (opts.raw !== undefined) {
    body = opts.raw;
    h["Content-Type"] = "application/octet-stream";
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    h["Content-Type"] = "application/json";
  }
  const r = await fetch(BASE + path, {
    method: opts.method || "GET",
    headers: h,
    body,
    signal: opts.signal,
    cache: "no-store",
    credentials: "omit",
  });
  if (!r.ok) throw opts.asKey !== undefined ? new ApiError(r.status, await r.json().catch(() => null)) : await failure(r);
  if (r.status === 204) return { data: null, next: "" };
  return { data: await r.json(), next: r.headers.get("X-Next-Page-Token") || "" };
}

export async function get(path, opts) {
  return (await call(path, opts)).data;
}

// A picture the server draws (a template frame) as an object URL for <img>;
// the caller revokes it.
export async function picture(path, signal) {
  const r = await fetch(BASE + path, { headers: headers(), signal, credentials: "omit" });
  if (!r.ok) throw await failure(r);
  return URL.createObjectURL(await r.blob());
}

// Read a Server-Sent Events stream (/jobs/{id}/events, /batches/{id}/events)
// and call onEvent with each `data:` object until the stream ends (the job
// ended) or signal aborts. Resolves when it ends; rejects on an HTTP error.
export async function events(path, onEvent, signal) {
  const r = await fetch(BASE + path, {
    headers: headers({ Accept: "text/event-stream" }),
    signal,
    cache: "no-store",
    credentials: "omit",
  });
  if (!r.ok) throw await failure(r);
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end;
    // Events end with a blank line; lines starting with ':' are keep-alives.
    while ((end = text.indexOf("\n\n")) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (!data.length) continue;
      let obj;
      try {
        obj = JSON.parse(data.join("\n"));
      } catch (e) {
        continue;
      }
      onEvent(obj, name);
    }
  }
}

export const FINAL = ["finished", "error", "manually_cancelled"];
