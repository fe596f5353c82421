// app.js - the Framewright dashboard: templates, jobs and batches of the
// signed-in key's team, drawn from the public REST API (api.js) only.
//
// Pages are hash routes (#/jobs, #/jobs/ID, #/templates/ID, ...), so the
// gateway serves one file for all of them. Everything the API answers is
// put in the page as text nodes (h() below), never as HTML.

import * as api from "./api.js";

const main = document.getElementById("main");
const announcer = document.getElementById("announce");

// ---- small DOM helpers ---------------------------------------------------------------------------

// h("a", {href: "#/x", class: "y"}, "text", child, ...): attributes starting
// with "on" are listeners; null and false children are skipped.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function announce(text) {
  announcer.textContent = "";
  setTimeout(() => (announcer.textContent = text), 30);
}

function when(ts) {
  if (!ts) return "";
  const d = new Date(ts);
  return isNaN(d) ? String(ts) : d.toLocaleString();
}

function seconds(v) {
  return v === null || v === undefined ? "" : Number(v).toFixed(2) + " s";
}

// A table whose cells carry their column's name (data-label), so that a
// phone-width window shows each row as a card of labelled values.
function table(caption, heads, rows, opts) {
  for (const row of rows)
    [...row.children].forEach((cell, i) => heads[i] && cell.setAttribute("data-label", heads[i]));
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h(
      "table",
      { class: (opts && opts.class) || null },
      h("caption", { class: opts && opts.showCaption ? null : "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows)
    )
  );
}

function statusBadge(status) {
  const kind = { finished: "ok", error: "bad", manually_cancelled: "muted", uploaded: "ok" }[status] || "busy";
  return h("span", { class: "badge " + kind, "data-status": status }, status || "unknown");
}

// A progress bar readable by screen readers, updated in place by setProgress.
function progressBar(label, value) {
  const bar = h("div", {
    class: "progress",
    role: "progressbar",
    "aria-label": label,
    "aria-valuemin": 0,
    "aria-valuemax": 100,
  });
  bar.append(h("div", { class: "fill" }), h("span", { class: "pct" }));
  setProgress(bar, value);
  return bar;
}

function setProgress(bar, value) {
  const v = Math.max(0, Math.min(100, Number(value) || 0));
  bar.setAttribute("aria-valuenow", String(Math.round(v)));
  bar.querySelector(".fill").style.width = v + "%";
  bar.querySelector(".pct").textContent = Math.round(v) + " %";
}

// "assets[0].value: the script failed ..." as its field and message.
function splitError(text) {
  const m = /^([A-Za-z_][\w]*(?:\[\d+\])?(?:\.[A-Za-z_][\w]*(?:\[\d+\])?)*): ([\s\S]*)$/.exec(text || "");
  return m ? { field: m[1], message: m[2] } : { field: "", message: text || "" };
}

function errorBox(err, where) {
  const box = h("div", { class: "error", role: "alert" });
  if (err.status === 404) box.append(h("p", {}, "Not found: " + (where || "this") + " is not one of your team's."));
  else box.append(h("p", {}, err.message || String(err)));
  if (err.field) box.append(h("p", {}, "Field: ", h("code", { class: "field" }, err.field)));
  return box;
}

// Whatever a page started (event streams, timers, object URLs) ends when
// another page is shown.
let cleanups = [];
function onLeave(fn) {
  cleanups.push(fn);
}
function leave() {
  for (const fn of cleanups) {
    try {
      fn();
    } catch (e) {
      /* the page is going anyway */
    }
  }
  cleanups = [];
}

function pageAbort() {
  const ctl = new AbortController();
  onLeave(() => ctl.abort());
  return ctl.signal;
}

function show(title, ...content) {
  document.title = title + " · Framewright";
  main.replaceChildren(h("h1", {}, title), ...content);
}

// ---- sign in -------------------------------------------------------------------------------------

function signInPage() {
  const input = h("input", {
    id: "key",
    name: "key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "key-help",
  });
  const message = h("div", { id: "sign-in-message" });
  const form = h(
    "form",
    { class: "card narrow", id: "sign-in", novalidate: true },
    h("label", { for: "key" }, "API key"),
    input,
    h(
      "p",
      { id: "key-help", class: "help" },
      "A key from ",
      h("code", {}, "framewright keys create --team NAME"),
      ". It is kept in this tab's session storage only and sent as a bearer token."
    ),
    message,
    h("button", { type: "submit" }, "Sign in")
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const k = input.value.trim();
    message.replaceChildren();
    input.removeAttribute("aria-invalid");
    if (!k) {
      input.setAttribute("aria-invalid", "true");
      message.append(h("p", { class: "error", role: "alert" }, "Enter an API key."));
      return;
    }
    try {
      await api.call("/templates?limit=1", { asKey: k });
      api.setKey(k);
      announce("Signed in");
      const next = sessionStorage.getItem("framewright.next");
      sessionStorage.removeItem("framewright.next");
      location.hash = next && next !== "#/sign-in" ? next : "#/jobs";
    } catch (err) {
      input.setAttribute("aria-invalid", "true");
      const text =
        err.status === 401
          ? "This key was not accepted (401): it is wrong, or it was revoked."
          : "Could not sign in: " + err.message;
      message.append(h("p", { class: "error", role: "alert", id: "sign-in-error" }, text));
      input.focus();
    }
  });
  show("Sign in", form);
  input.focus();
}

// ---- templates -----------------------------------------------------------------------------------

function templateType(name) {
  const n = name.toLowerCase();
  if (n.endsWith(".json")) return "json";
  if (n.endsWith(".lottie")) return "lottie";
  return "zip";
}

// The REST clients' flow: register the template, then PUT its bundle.
async function uploadTemplate(file, status) {
  const displayName = file.name.replace(/\.(json|lottie|zip)$/i, "") || file.name;
  status.textContent = "Registering " + file.name + "…";
  const t = await api.get("/templates", { method: "POST", body: { type: templateType(file.name), displayName } });
  status.textContent = "Uploading " + file.name + " (" + file.size + " bytes)…";
  return api.get("/templates/" + encodeURIComponent(t.id) + "/upload", { method: "PUT", raw: file });
}

function dropZone() {
  const status = h("p", { class: "drop-status", id: "upload-status", role: "status" });
  const input = h("input", { type: "file", id: "template-file", accept: ".json,.lottie,.zip" });
  const zone = h(
    "div",
    { class: "drop", id: "drop-zone" },
    h("p", {}, h("strong", {}, "Drop a template here"), " (Lottie .json, .lottie or .zip), or"),
    h("label", { for: "template-file", class: "button" }, "Choose a file…"),
    input,
    status
  );
  async function take(file) {
    if (!file) return;
    zone.classList.add("busy");
    try {
      const t = await uploadTemplate(file, status);
      announce("Template " + t.displayName + " uploaded");
      location.hash = "#/templates/" + encodeURIComponent(t.id);
    } catch (err) {
      status.replaceChildren(errorBox(err));
    } finally {
      zone.classList.remove("busy");
    }
  }
  for (const ev of ["dragenter", "dragover"])
    zone.addEventListener(ev, (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    take(e.dataTransfer && e.dataTransfer.files[0]);
  });
  input.addEventListener("change", () => take(input.files[0]));
  return zone;
}

async function templatesPage() {
  const signal = pageAbort();
  const list = h("div", {}, h("p", {}, "Loading templates…"));
  show("Templates", dropZone(), h("h2", {}, "Your templates"), list);
  try {
    const templates = await api.get("/templates?limit=200", { signal });
    if (!templates.length) {
      list.replaceChildren(h("p", { id: "no-templates" }, "No templates yet: drop one above."));
      return;
    }
    list.replaceChildren(
      table(
        "Templates",
        ["Name", "Status", "Type", "Version", "Compositions", "Updated"],
        templates.map((t) =>
          h(
            "tr",
            { "data-id": t.id },
            h("td", {}, h("a", { href: "#/templates/" + encodeURIComponent(t.id) }, t.displayName || t.id)),
            h("td", {}, statusBadge(t.status)),
            h("td", {}, t.type),
            h("td", {}, t.version || ""),
            h("td", {}, (t.compositions || []).join(", ")),
            h("td", {}, when(t.updatedAt))
          )
        )
      )
    );
  } catch (err) {
    if (err.name !== "AbortError") list.replaceChildren(errorBox(err));
  }
}

function rootComposition(t) {
  const comps = (t.details && t.details.compositions) || [];
  return comps.find((c) => c.isRoot) || comps[0] || null;
}

function replaceableText(r) {
  if (!r) return "";
  const what = [];
  if (r.text) what.push("text" + (r.font ? " (" + r.font + ")" : ""));
  if (r.image) what.push("image");
  if (r.video) what.push("footage");
  if (r.audio) what.push("audio");
  if (r.colors && r.colors.length) what.push("colours");
  return what.join(", ");
}

function swatches(colors) {
  return (colors || []).map((c) => {
    const chip = h("span", { class: "chip", "aria-hidden": "true" });
    chip.style.backgroundColor = c; // CSSOM, which the style policy allows
    return h("span", { class: "swatch" }, chip, c);
  });
}

// The poster frame and a short looping preview, drawn by the server.
function framesPanel(t, comp, signal) {
  const frames = Math.max(1, comp.frames | 0);
  const posterFrame = Math.min(frames - 1, Math.floor(frames / 2));
  const q = "&version=" + (t.version || 0) + (comp.isRoot ? "" : "&composition=" + encodeURIComponent(comp.name));
  const urls = [];
  onLeave(() => urls.forEach((u) => URL.revokeObjectURL(u)));
  const poster = h("img", {
    id: "poster",
    class: "frame",
    alt: "Frame " + posterFrame + " of composition " + comp.name,
    width: 640,
    height: Math.round((640 * comp.height) / comp.width),
  });
  const preview = h("img", {
    id: "preview",
    class: "frame",
    alt: "A looping preview of composition " + comp.name,
    width: 320,
    height: Math.round((320 * comp.height) / comp.width),
  });
  const note = h("p", { class: "help", id: "preview-note" }, "Drawing the preview…");
  const toggle = h("button", { type: "button", class: "quiet", "aria-pressed": "true", disabled: true }, "Pause");
  const panel = h(
    "section",
    { class: "frames", "aria-labelledby": "frames-title" },
    h("h2", { id: "frames-title" }, "Poster and preview"),
    h("div", { class: "frame-row" }, h("figure", {}, poster, h("figcaption", {}, "Poster: frame " + posterFrame)),
      h("figure", {}, preview, h("figcaption", {}, note, toggle)))
  );
  (async () => {
    try {
      const u = await api.picture("/templates/" + encodeURIComponent(t.id) + "/frames/" + posterFrame + "?width=640" + q, signal);
      urls.push(u);
      poster.src = u;
      poster.dataset.loaded = "1";
      // Twelve frames spread over the composition, shown at its own pace.
      const count = Math.min(12, frames);
      const pics = [];
      for (let i = 0; i < count; i++) {
        const n = Math.floor((i * frames) / count);
        const p = await api.picture("/templates/" + encodeURIComponent(t.id) + "/frames/" + n + "?width=320" + q, signal);
        urls.push(p);
        pics.push(p);
        if (i === 0) preview.src = p;
      }
      const step = Math.max(80, ((comp.duration || 1) * 1000) / count);
      let at = 0;
      let timer = null;
      const play = () => {
        timer = setInterval(() => {
          at = (at + 1) % pics.length;
          preview.src = pics[at];
        }, step);
      };
      const reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      note.textContent = count + " frames, looping";
      preview.dataset.frames = String(count);
      toggle.disabled = false;
      if (!reduced) play();
      else {
        toggle.textContent = "Play";
        toggle.setAttribute("aria-pressed", "false");
      }
      toggle.addEventListener("click", () => {
        if (timer) {
          clearInterval(timer);
          timer = null;
          toggle.textContent = "Play";
          toggle.setAttribute("aria-pressed", "false");
        } else {
          play();
          toggle.textContent = "Pause";
          toggle.setAttribute("aria-pressed", "true");
        }
      });
      onLeave(() => timer && clearInterval(timer));
    } catch (err) {
      if (err.name !== "AbortError") note.replaceChildren(errorBox(err));
    }
  })();
  return panel;
}

async function templatePage(id) {
  const signal = pageAbort();
  show("Template", h("p", {}, "Loading…"));
  let t;
  try {
    t = await api.get("/templates/" + encodeURIComponent(id), { signal });
  } catch (err) {
    if (err.name !== "AbortError") show("Template", errorBox(err, "template " + id));
    return;
  }
  const details = t.details || {};
  const comps = details.compositions || [];
  const fonts = details.fonts || [];
  const missing = fonts.filter((f) => !f.match || !f.match.exact);
  const root = rootComposition(t);
  const facts = h(
    "dl",
    { class: "facts" },
    h("dt", {}, "Status"), h("dd", {}, statusBadge(t.status)),
    h("dt", {}, "Type"), h("dd", {}, t.type),
    h("dt", {}, "Version"), h("dd", {}, t.version || "none yet"),
    h("dt", {}, "Size"), h("dd", {}, t.size ? t.size + " bytes" : ""),
    h("dt", {}, "Created"), h("dd", {}, when(t.createdAt)),
    h("dt", {}, "Id"), h("dd", {}, h("code", {}, t.id))
  );
  const parts = [facts];
  if (t.error) parts.push(errorBox(Object.assign(new Error(t.error), splitError(t.error))));
  if (t.status === "uploaded" && root) {
    parts.push(
      h("p", {}, h("a", { class: "button", id: "new-job", href: "#/templates/" + encodeURIComponent(t.id) + "/job" }, "New job from this template"),
        " ", h("a", { href: "#/jobs?template=" + encodeURIComponent(t.id) }, "Jobs of this template"))
    );
    parts.push(framesPanel(t, root, signal));
  }
  parts.push(
    h("h2", {}, "Compositions"),
    table(
      "Compositions",
      ["Name", "Size", "Frame rate", "Duration", "Frames", ""],
      comps.map((c) =>
        h("tr", {}, h("td", {}, c.name), h("td", {}, c.width + "×" + c.height), h("td", {}, c.fps + " fps"),
          h("td", {}, seconds(c.duration)), h("td", {}, c.frames), h("td", {}, c.isRoot ? "root" : ""))
      ),
      { class: "compositions" }
    )
  );
  for (const c of comps) {
    parts.push(
      h("h3", {}, "Layers of ", h("q", {}, c.name)),
      table(
        "Layers of " + c.name,
        ["#", "Name", "Type", "Replaceable", "Colours", "Frames"],
        (c.layers || []).map((l) =>
          h("tr", { "data-layer": l.name }, h("td", {}, l.index), h("td", {}, l.name), h("td", {}, l.type),
            h("td", {}, replaceableText(l.replaceable)), h("td", {}, swatches(l.replaceable && l.replaceable.colors)),
            h("td", {}, Math.round(l.inPoint) + "–" + Math.round(l.outPoint)))
        ),
        { class: "layers" }
      )
    );
  }
  parts.push(
    h("h2", {}, "Fonts"),
    fonts.length
      ? table(
          "Fonts",
          ["Font", "Family", "Style", "Drawn with", ""],
          fonts.map((f) =>
            h("tr", {}, h("td", {}, f.name), h("td", {}, f.family), h("td", {}, f.style),
              h("td", {}, f.match ? f.match.family + " " + (f.match.style || "") + " (" + f.match.source + ")" : ""),
              h("td", {}, f.match && f.match.exact ? "" : h("span", { class: "badge bad" }, "missing")))
          )
        )
      : h("p", {}, "The template names no fonts."),
    missing.length
      ? h("p", { id: "missing-fonts" }, "Missing fonts: ", missing.map((f) => f.name).join(", "),
          ". Upload them as team fonts, or jobs draw them with the face shown.")
      : h("p", { id: "missing-fonts" }, "No font is missing.")
  );
  show(t.displayName || t.id, ...parts);
}

// ---- the job form --------------------------------------------------------------------------------

const OUTPUTS = [
  { label: "MP4 video (H.264)", type: "video", codec: "video_h264_vbr_5mbps" },
  { label: "WebM video (VP9)", type: "video", codec: "video_vp9_alpha" },
  { label: "GIF", type: "video", codec: "video_gif" },
  { label: "PNG still (first frame)", type: "image", codec: "image_png" },
];

function layerFields(comp, inputs) {
  const sets = [];
  for (const l of comp.layers || []) {
    const r = l.replaceable || {};
    const fields = [];
    const base = "layer-" + l.index;
    const add = (kind, label, input, make) => {
      input.id = base + "-" + kind;
      input.name = input.id;
      fields.push(h("div", { class: "field" }, h("label", { for: input.id }, label), input,
        h("p", { class: "field-error", id: input.id + "-error", hidden: true })));
      inputs.push({ input, make, layer: l.name });
    };
    if (r.text)
      add("text", "Text", h("input", { type: "text", "data-layer": l.name }), (v) =>
        v ? { type: "text", layerName: l.name, value: v } : null);
    if (r.colors && r.colors.length) {
      const original = r.colors[0];
      add("color", "Colour", h("input", { type: "color", value: original, "data-layer": l.name }), (v) =>
        v && v.toLowerCase() !== original.toLowerCase() ? { type: "data", layerName: l.name, property: "Fill Color", value: v } : null);
    }
    if (r.image)
      add("image", "Image URL", h("input", { type: "url", placeholder: "https://…", "data-layer": l.name }), (v) =>
        v ? { type: "image", layerName: l.name, src: v } : null);
    if (r.video && !r.image)
      add("video", "Clip URL", h("input", { type: "url", placeholder: "https://…", "data-layer": l.name }), (v) =>
        v ? { type: "video", layerName: l.name, src: v } : null);
    if (r.audio)
      add("audio", "Sound URL", h("input", { type: "url", placeholder: "https://…", "data-layer": l.name }), (v) =>
        v ? { type: "audio", layerName: l.name, src: v } : null);
    if (fields.length)
      sets.push(h("fieldset", {}, h("legend", {}, "Layer ", h("q", {}, l.name), " (" + l.type + ")"), fields));
  }
  return sets;
}

async function jobFormPage(id) {
  const signal = pageAbort();
  let t;
  try {
    t = await api.get("/templates/" + encodeURIComponent(id), { signal });
  } catch (err) {
    if (err.name !== "AbortError") show("New job", errorBox(err, "template " + id));
    return;
  }
  const comps = (t.details && t.details.compositions) || [];
  let comp = rootComposition(t);
  let inputs = [];
  const layers = h("div", { id: "layer-fields" });
  const compSelect = h("select", { id: "composition", name: "composition" },
    comps.map((c) => h("option", { value: c.name, selected: c === comp }, c.name + (c.isRoot ? " (root)" : ""))));
  const output = h("select", { id: "output", name: "output" }, OUTPUTS.map((o, i) => h("option", { value: i }, o.label)));
  const preview = h("input", { type: "checkbox", id: "preview-on", name: "preview", checked: true });
  const message = h("div", { id: "job-form-message" });
  const fill = () => {
    inputs = [];
    const sets = layerFields(comp, inputs);
    layers.replaceChildren(...(sets.length ? sets : [h("p", {}, "Nothing in this composition can be replaced.")]));
  };
  compSelect.addEventListener("change", () => {
    comp = comps.find((c) => c.name === compSelect.value) || comp;
    fill();
  });
  fill();
  const form = h(
    "form",
    { class: "card", id: "job-form", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "composition" }, "Composition"), compSelect),
    layers,
    h("fieldset", {}, h("legend", {}, "Output"),
      h("div", { class: "field" }, h("label", { for: "output" }, "Format"), output),
      h("div", { class: "field check" }, preview, h("label", { for: "preview-on" }, "Preview (quick, at most 640 pixels a side)"))),
    message,
    h("button", { type: "submit", id: "submit-job" }, "Render")
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    message.replaceChildren();
    for (const f of inputs) {
      f.input.removeAttribute("aria-invalid");
      const p = document.getElementById(f.input.id + "-error");
      p.hidden = true;
      f.input.removeAttribute("aria-describedby");
    }
    const assets = [];
    const fromAsset = [];
    for (const f of inputs) {
      const a = f.make(f.input.value.trim());
      if (!a) continue;
      if (!comp.isRoot) a.composition = comp.name;
      assets.push(a);
      fromAsset.push(f.input);
    }
    const o = OUTPUTS[Number(output.value)] || OUTPUTS[0];
    const body = {
      template: { id: t.id, composition: comp.isRoot ? "" : comp.name },
      preview: preview.checked,
      assets,
      settings: { type: o.type, codec: o.codec },
    };
    try {
      const job = await api.get("/jobs", { method: "POST", body });
      announce("Job " + job.id + " created");
      location.hash = "#/jobs/" + encodeURIComponent(job.id);
    } catch (err) {
      message.replaceChildren(errorBox(err));
      // "assets[2].src: ..." points at the field that made asset 2.
      const m = /^assets\[(\d+)\]/.exec(err.field || "");
      const input = m ? fromAsset[Number(m[1])] : null;
      if (input) {
        const p = document.getElementById(input.id + "-error");
        p.textContent = err.details.length ? err.details[0].message : err.message;
        p.hidden = false;
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", p.id);
        input.focus();
      }
    }
  });
  show("New job: " + (t.displayName || t.id), h("p", {}, "Template ", h("a", { href: "#/templates/" + encodeURIComponent(t.id) }, t.displayName || t.id), ", version " + t.version), form);
}

// ---- jobs ----------------------------------------------------------------------------------------

const STATUSES = ["queued", "pending", "render:dorender", "finished", "error", "manually_cancelled"];
const MAX_LIVE_ROWS = 20; // event streams a list opens at most (a team may hold 100)

function parseQuery(q) {
  const out = {};
  for (const [k, v] of new URLSearchParams(q || "")) out[k] = v;
  return out;
}

function jobLink(id) {
  return h("a", { href: "#/jobs/" + encodeURIComponent(id) }, h("code", {}, id));
}

// Follow one job's event stream, calling update(job, stage) for each event.
function watchJob(id, update, signal) {
  api
    .events("/jobs/" + encodeURIComponent(id) + "/events", (ev) => ev.job && update(ev.job, ev.stage), signal)
    .catch(() => {});
}

async function jobsPage(query) {
  const signal = pageAbort();
  const q = parseQuery(query);
  const tokens = (q.pages || "").split(",").filter(Boolean); // the tokens of the pages before
  const form = h("form", { class: "filters", id: "job-filters", role: "search" });
  const status = h("select", { id: "f-status", name: "status" }, h("option", { value: "" }, "any"),
    STATUSES.map((s) => h("option", { value: s, selected: q.status === s }, s)));
  const template = h("select", { id: "f-template", name: "template" }, h("option", { value: "" }, "any"));
  const batch = h("input", { id: "f-batch", name: "batch", type: "text", value: q.batch || "", spellcheck: "false" });
  const from = h("input", { id: "f-from", name: "from", type: "date", value: q.from || "" });
  const to = h("input", { id: "f-to", name: "to", type: "date", value: q.to || "" });
  form.append(
    h("div", { class: "field" }, h("label", { for: "f-status" }, "Status"), status),
    h("div", { class: "field" }, h("label", { for: "f-template" }, "Template"), template),
    h("div", { class: "field" }, h("label", { for: "f-batch" }, "Batch id"), batch),
    h("div", { class: "field" }, h("label", { for: "f-from" }, "Created from"), from),
    h("div", { class: "field" }, h("label", { for: "f-to" }, "Created until"), to),
    h("button", { type: "submit" }, "Filter")
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    for (const [k, el] of Object.entries({ status, template, batch, from, to })) if (el.value) p.set(k, el.value);
    location.hash = "#/jobs?" + p.toString();
  });
  const list = h("div", {}, h("p", {}, "Loading jobs…"));
  show("Jobs", form, list);

  // Template names for the filter and the rows; the list works without them.
  const names = {};
  const named = api.get("/templates?limit=200", { signal }).then((ts) => {
    for (const t of ts) {
      names[t.id] = t.displayName || t.id;
      template.append(h("option", { value: t.id, selected: q.template === t.id }, names[t.id]));
    }
  }).catch(() => {});

  const p = new URLSearchParams();
  p.set("limit", /^\d+$/.test(q.limit || "") ? q.limit : "25");
  if (q.status) p.set("status", q.status);
  if (q.template) p.set("templateId", q.template);
  if (q.batch) p.set("batchId", q.batch);
  if (q.from) p.set("createdAfter", new Date(q.from + "T00:00:00").toISOString());
  if (q.to) p.set("createdBefore", new Date(q.to + "T23:59:59.999").toISOString());
  if (q.cursor) p.set("cursor", q.cursor);
  let page;
  try {
    page = await api.call("/jobs?" + p.toString(), { signal });
  } catch (err) {
    if (err.name !== "AbortError") list.replaceChildren(errorBox(err));
    return;
  }
  const jobs = page.data;
  await named;
  const rows = jobs.map((j) => {
    const bar = progressBar("Progress of job " + j.id, j.progress);
    const badge = h("td", { class: "status" }, statusBadge(j.status));
    const row = h("tr", { "data-id": j.id }, h("td", {}, jobLink(j.id)), badge, h("td", {}, bar),
      h("td", {}, j.templateId ? h("a", { href: "#/templates/" + encodeURIComponent(j.templateId), title: j.templateId },
        names[j.templateId] || h("code", {}, j.templateId)) : ""),
      h("td", {}, j.batchId ? h("a", { href: "#/batches/" + encodeURIComponent(j.batchId) }, h("code", {}, j.batchId)) : ""),
      h("td", {}, when(j.stats && j.stats.createdAt)));
    return { job: j, row, bar, badge };
  });
  let live = 0;
  for (const r of rows) {
    if (api.FINAL.includes(r.job.status) || live >= MAX_LIVE_ROWS) continue;
    live++;
    watchJob(r.job.id, (job) => {
      setProgress(r.bar, job.progress);
      r.badge.replaceChildren(statusBadge(job.status));
    }, signal);
  }
  const here = new URLSearchParams(query || "");
  const nav = h("nav", { class: "pager", "aria-label": "Pages of jobs" });
  if (q.cursor !== undefined || tokens.length) {
    const back = new URLSearchParams(here);
    const prev = tokens.slice(0, -1);
    const prevCursor = tokens.length ? tokens[tokens.length - 1] : "";
    if (prevCursor && prevCursor !== "-") back.set("cursor", prevCursor);
    else back.delete("cursor");
    if (prev.length) back.set("pages", prev.join(","));
    else back.delete("pages");
    nav.append(h("a", { href: "#/jobs?" + back.toString(), rel: "prev" }, "← Newer"));
  }
  if (page.next) {
    const fwd = new URLSearchParams(here);
    fwd.set("pages", tokens.concat([q.cursor || "-"]).join(","));
    fwd.set("cursor", page.next);
    nav.append(h("a", { href: "#/jobs?" + fwd.toString(), rel: "next", id: "next-page" }, "Older →"));
  }
  list.replaceChildren(
    jobs.length
      ? table("Jobs", ["Job", "Status", "Progress", "Template", "Batch", "Created"], rows.map((r) => r.row), { class: "jobs" })
      : h("p", { id: "no-jobs" }, "No jobs match."),
    nav
  );
}

function outputElement(job) {
  const url = job.outputUrl;
  if (!url || !/^https?:\/\//i.test(url)) return null; // a signed http(s) URL, nothing else
  const path = url.split("?")[0].toLowerCase();
  const link = h("p", {}, h("a", { href: url, id: "output-link", rel: "noopener" }, "Download the output"));
  if (/\.(mp4|webm|m4v)$/.test(path)) {
    const v = h("video", { id: "output", controls: true, loop: true, muted: true, playsinline: true, preload: "auto",
      crossorigin: "anonymous", "aria-label": "The job's output" });
    // Where the storage answers no CORS headers the video still plays, just
    // without crossorigin (then its pixels cannot be read by scripts).
    v.addEventListener("error", () => {
      if (v.hasAttribute("crossorigin")) {
        v.removeAttribute("crossorigin");
        v.src = url;
      }
    }, { once: true });
    v.src = url;
    return h("div", { class: "output" }, v, link);
  }
  if (/\.(png|jpe?g|gif|webp)$/.test(path))
    return h("div", { class: "output" }, h("img", { id: "output", src: url, alt: "The job's output" }), link);
  return h("div", { class: "output" }, link);
}

async function jobPage(id) {
  const signal = pageAbort();
  show("Job", h("p", {}, "Loading…"));
  let job;
  try {
    job = await api.get("/jobs/" + encodeURIComponent(id), { signal });
  } catch (err) {
    if (err.name !== "AbortError") show("Job", errorBox(err, "job " + id));
    return;
  }
  const bar = progressBar("Progress", job.progress);
  bar.id = "job-progress";
  bar.dataset.events = "0";
  const badge = h("span", { id: "job-status" }, statusBadge(job.status));
  const stage = h("span", { id: "job-stage", class: "help" });
  const actions = h("div", { class: "actions" });
  const actionMessage = h("div", { id: "action-message" });
  const errorPlace = h("div", { id: "job-error" });
  const outputPlace = h("div", { id: "output-place" });
  const statsPlace = h("div");
  const hooksPlace = h("div", { id: "webhooks" });
  const jsonPlace = h("pre", { id: "job-json", tabindex: "0" });
  const cancel = h("button", { type: "button", id: "cancel-job", class: "danger" }, "Cancel");
  const again = h("button", { type: "button", id: "render-again" }, "Render again");
  actions.append(cancel, again);

  const draw = (j) => {
    // An event sent before the job ended can come after the cancel's answer:
    // an ended job does not go back.
    if (api.FINAL.includes(job.status) && !api.FINAL.includes(j.status)) return;
    job = j;
    setProgress(bar, j.progress);
    badge.replaceChildren(statusBadge(j.status));
    cancel.hidden = api.FINAL.includes(j.status);
    jsonPlace.textContent = JSON.stringify(j, null, 2);
    const errText = (j.stats && j.stats.error) || "";
    errorPlace.replaceChildren();
    if (errText) {
      const e = splitError(errText);
      errorPlace.append(h("div", { class: "error", role: "alert" }, h("h2", {}, "Why it failed"),
        e.field ? h("p", {}, "Field: ", h("code", { class: "field", id: "error-field" }, e.field)) : null,
        h("p", { id: "error-message" }, e.message)));
    }
    const s = j.stats || {};
    statsPlace.replaceChildren(
      h("dl", { class: "facts" },
        h("dt", {}, "Template"), h("dd", {}, j.templateId ? h("a", { href: "#/templates/" + encodeURIComponent(j.templateId) }, h("code", {}, j.templateId)) : "a file (template.src)"),
        h("dt", {}, "Template version"), h("dd", {}, j.templateVersion || ""),
        h("dt", {}, "Created"), h("dd", {}, when(s.createdAt)),
        h("dt", {}, "Started"), h("dd", {}, when(s.startedAt)),
        h("dt", {}, "Finished"), h("dd", {}, when(s.finishedAt || s.errorAt)),
        h("dt", {}, "Render time"), h("dd", {}, seconds(s.renderDuration)),
        h("dt", {}, "Assets"), h("dd", {}, s.totalAssets || 0),
        h("dt", {}, "Parent"), h("dd", {}, j.parentId ? jobLink(j.parentId) : "none"),
        h("dt", {}, "Children"), h("dd", { id: "children" }, (j.children || []).length ? (j.children || []).map((c) => [jobLink(c), " "]) : "none"),
        h("dt", {}, "Batch"), h("dd", {}, j.batchId ? h("a", { href: "#/batches/" + encodeURIComponent(j.batchId) }, h("code", {}, j.batchId)) : "none"),
        h("dt", {}, "Missing fonts"), h("dd", {}, (j.missingFonts || []).join(", ") || "none"),
        h("dt", {}, "Font substitutes"), h("dd", {}, (j.fontSubstitutes || []).map((f) => f.font + " → " + f.family + " " + f.style).join("; ") || "none"))
    );
    if (j.status === "finished" && !outputPlace.firstChild) {
      const out = outputElement(j);
      if (out) outputPlace.append(h("h2", {}, "Output"), out);
    }
  };

  const loadHooks = async () => {
    try {
      const w = await api.get("/jobs/" + encodeURIComponent(id) + "/webhooks", { signal });
      const list = (w && w.deliveries) || [];
      hooksPlace.replaceChildren(
        h("h2", {}, "Webhook deliveries"),
        list.length
          ? table("Webhook deliveries", ["Event", "Status", "Attempts", "Last answer", "Last error"],
              list.map((d) => {
                const last = (d.attempts || [])[(d.attempts || []).length - 1] || {};
                return h("tr", {}, h("td", {}, d.event), h("td", {}, d.status), h("td", {}, (d.attempts || []).length),
                  h("td", {}, last.httpStatus ? "HTTP " + last.httpStatus : ""), h("td", {}, d.lastError || ""));
              }))
          : h("p", {}, "No webhook calls (the job has no webhook, or it has not ended).")
      );
    } catch (err) {
      if (err.name !== "AbortError") hooksPlace.replaceChildren(errorBox(err));
    }
  };

  cancel.addEventListener("click", async () => {
    actionMessage.replaceChildren();
    try {
      draw(await api.get("/jobs/" + encodeURIComponent(id) + "/cancel", { method: "PATCH" }));
      announce("Job cancelled");
    } catch (err) {
      actionMessage.replaceChildren(errorBox(err));
    }
  });
  again.addEventListener("click", async () => {
    actionMessage.replaceChildren();
    try {
      const input = await api.get("/jobs/" + encodeURIComponent(id) + "/request");
      const made = await api.get(input.kind === "join" ? "/jobs/join" : "/jobs", { method: "POST", body: input.request });
      announce("Job " + made.id + " created");
      location.hash = "#/jobs/" + encodeURIComponent(made.id);
    } catch (err) {
      actionMessage.replaceChildren(errorBox(err));
    }
  });

  show("Job " + job.id,
    h("div", { class: "job-head" }, badge, bar, stage),
    actions, actionMessage, errorPlace, outputPlace,
    h("h2", {}, "Stats"), statsPlace, hooksPlace,
    h("details", { class: "json" }, h("summary", {}, "The job as JSON"), jsonPlace));
  draw(job);
  loadHooks();
  if (!api.FINAL.includes(job.status)) {
    let events = 0;
    api
      .events("/jobs/" + encodeURIComponent(id) + "/events", (ev) => {
        if (!ev.job) return;
        bar.dataset.events = String(++events);
        stage.textContent = ev.stage && !api.FINAL.includes(ev.job.status) ? "stage: " + ev.stage : "";
        draw(ev.job);
      }, signal)
      .then(async () => {
        // The stream ends with the job: read it once more for its whole record.
        try {
          draw(await api.get("/jobs/" + encodeURIComponent(id), { signal }));
          loadHooks();
          announce("Job " + job.status);
        } catch (e) {
          /* left the page */
        }
      })
      .catch(() => {});
  }
}

// ---- batches -------------------------------------------------------------------------------------

// CreateBatch's answer is the only place the refused indexes are given; the
// page keeps it for this tab so a batch's page can show them again.
function rememberBatch(created) {
  const seen = JSON.parse(sessionStorage.getItem("framewright.batches") || "{}");
  seen[created.batchId] = { errors: created.errors || [], total: created.total, at: Date.now() };
  sessionStorage.setItem("framewright.batches", JSON.stringify(seen));
}

function refusedTable(errors) {
  return table("Refused jobs", ["Index", "Field", "Reason"],
    errors.map((e) => {
      const d = (e.details || [])[0] || {};
      return h("tr", { "data-index": e.index }, h("td", {}, e.index), h("td", {}, d.field ? h("code", {}, d.field) : ""), h("td", {}, d.message || e.error));
    }), { class: "refused" });
}

async function batchesPage() {
  const signal = pageAbort();
  const open = h("form", { class: "filters", id: "open-batch" },
    h("div", { class: "field" }, h("label", { for: "batch-id" }, "Batch id"), h("input", { id: "batch-id", type: "text", spellcheck: "false", required: true })),
    h("button", { type: "submit" }, "Open"));
  open.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = document.getElementById("batch-id").value.trim();
    if (v) location.hash = "#/batches/" + encodeURIComponent(v);
  });
  const text = h("textarea", { id: "batch-json", rows: 8, spellcheck: "false", "aria-describedby": "batch-help" });
  const message = h("div", { id: "batch-message" });
  const create = h("form", { class: "card", id: "create-batch" },
    h("label", { for: "batch-json" }, "Jobs (a JSON array of job requests, or {\"jobs\": [...]})"),
    text,
    h("p", { class: "help", id: "batch-help" }, "Each job is checked on its own: the ones refused are listed with the reason."),
    message,
    h("button", { type: "submit" }, "Create the batch"));
  create.addEventListener("submit", async (e) => {
    e.preventDefault();
    message.replaceChildren();
    let body;
    try {
      const v = JSON.parse(text.value);
      body = Array.isArray(v) ? { jobs: v } : v;
    } catch (err) {
      message.append(h("p", { class: "error", role: "alert" }, "Not JSON: " + err.message));
      return;
    }
    try {
      const created = await api.get("/batches", { method: "POST", body });
      rememberBatch(created);
      location.hash = "#/batches/" + encodeURIComponent(created.batchId);
    } catch (err) {
      message.replaceChildren(errorBox(err));
    }
  });
  const recent = h("div", {}, h("p", {}, "Looking for batches…"));
  show("Batches", open, h("h2", {}, "Recent batches"), recent, h("h2", {}, "New batch"), create);
  try {
    const jobs = await api.get("/jobs?limit=200", { signal });
    const ids = [...new Set(jobs.map((j) => j.batchId).filter(Boolean))];
    recent.replaceChildren(
      ids.length
        ? h("ul", { id: "recent-batches" }, ids.map((b) => h("li", {}, h("a", { href: "#/batches/" + encodeURIComponent(b) }, h("code", {}, b)))))
        : h("p", {}, "No batch among the latest 200 jobs.")
    );
  } catch (err) {
    if (err.name !== "AbortError") recent.replaceChildren(errorBox(err));
  }
}

async function batchPage(id) {
  const signal = pageAbort();
  show("Batch", h("p", {}, "Loading…"));
  let batch;
  try {
    batch = await api.get("/batches/" + encodeURIComponent(id), { signal });
  } catch (err) {
    if (err.name !== "AbortError") show("Batch", errorBox(err, "batch " + id));
    return;
  }
  const status = h("span", { id: "batch-status" });
  const bar = progressBar("Jobs ended", 0);
  bar.id = "batch-progress";
  const counts = h("div", { id: "batch-counts" });
  const jobs = h("div");
  const cancel = h("button", { type: "button", class: "danger", id: "cancel-batch" }, "Cancel the batch");
  const message = h("div");
  cancel.addEventListener("click", async () => {
    try {
      const r = await api.get("/batches/" + encodeURIComponent(id) + "/cancel", { method: "PATCH" });
      message.replaceChildren(h("p", { role: "status" }, r.cancelled + " cancelled, " + r.notCancelled + " had ended"));
    } catch (err) {
      message.replaceChildren(errorBox(err));
    }
  });
  const draw = (b) => {
    status.replaceChildren(statusBadge(b.status));
    const c = b.counts || {};
    const ended = (c.finished || 0) + (c.error || 0) + (c.manually_cancelled || 0);
    setProgress(bar, b.total ? (100 * ended) / b.total : 0);
    counts.replaceChildren(table("Jobs by status", ["Status", "Jobs"],
      Object.keys(c).sort().map((s) => h("tr", { "data-status": s }, h("td", {}, statusBadge(s)), h("td", {}, c[s]))).concat(
        [h("tr", {}, h("th", { scope: "row" }, "total"), h("td", {}, b.total))])));
    if (b.jobs && b.jobs.length)
      jobs.replaceChildren(table("Jobs of the batch", ["Job", "Status", "Progress"],
        b.jobs.map((j) => h("tr", {}, h("td", {}, jobLink(j.id)), h("td", {}, statusBadge(j.status)), h("td", {}, progressBar("Progress of job " + j.id, j.progress))))));
    cancel.hidden = ["finished", "error", "cancelled", "partial"].includes(b.status) && ended === b.total;
  };
  const kept = JSON.parse(sessionStorage.getItem("framewright.batches") || "{}")[id];
  const refused = kept && kept.errors.length
    ? [h("h2", {}, "Refused at creation"), refusedTable(kept.errors)]
    : [h("p", { class: "help" }, kept ? "Every job of the batch was accepted." : "Jobs refused when the batch was created are shown on this page right after creating it (the API gives them only then).")];
  show("Batch " + id, h("div", { class: "job-head" }, status, bar), h("p", {}, cancel), message,
    h("h2", {}, "Counts"), counts, ...refused, h("h2", {}, "Jobs"), jobs,
    h("p", {}, h("a", { href: "#/jobs?batch=" + encodeURIComponent(id) }, "These jobs in the jobs list")));
  draw(batch);
  api.events("/batches/" + encodeURIComponent(id) + "/events", draw, signal).catch(() => {});
}

// ---- routing -------------------------------------------------------------------------------------

function route() {
  leave();
  const hash = location.hash || "#/jobs";
  const [path, query] = hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const signedIn = !!api.key();
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("sign-out").hidden = !signedIn;
  for (const a of document.querySelectorAll("#nav a"))
    if (a.getAttribute("href") === "#/" + parts[0]) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  if (!signedIn && parts[0] !== "sign-in") {
    sessionStorage.setItem("framewright.next", hash);
    location.replace("#/sign-in");
    return;
  }
  main.focus({ preventScroll: true });
  if (parts[0] === "sign-in") return signInPage();
  if (parts[0] === "templates" && parts[1] && parts[2] === "job") return jobFormPage(parts[1]);
  if (parts[0] === "templates" && parts[1]) return templatePage(parts[1]);
  if (parts[0] === "templates") return templatesPage();
  if (parts[0] === "jobs" && parts[1]) return jobPage(parts[1]);
  if (parts[0] === "batches" && parts[1]) return batchPage(parts[1]);
  if (parts[0] === "batches") return batchesPage();
  return jobsPage(query);
}

api.onUnauthorized(() => {
  api.setKey("");
  sessionStorage.setItem("framewright.next", location.hash);
  location.hash = "#/sign-in";
});

document.getElementById("sign-out").addEventListener("click", () => {
  api.setKey("");
  location.hash = "#/sign-in";
});

window.addEventListener("hashchange", route);
route();
