// browser.js - the web dashboard in Debian's Chromium, driven by
// puppeteer-core, against a real `framewright serve --api` that
// dashboard_test.py started. Each check prints "ok   NAME" or
// "FAIL NAME: why"; dashboard_test.py counts them.
//
// Environment: FW_BASE (the gateway, http://127.0.0.1:PORT), FW_KEY_A and
// FW_KEY_B (keys of two teams), FW_TEMPLATE (the example template),
// FW_LONG_TEMPLATE (a long one, for a job still rendering when cancelled),
// FW_OUT (screenshots), FW_CHROMIUM, NODE_PATH (puppeteer-core).
"use strict";

const fs = require("fs");
const path = require("path");
const puppeteer = require("puppeteer-core");

const BASE = process.env.FW_BASE;
const KEY_A = process.env.FW_KEY_A;
const KEY_B = process.env.FW_KEY_B;
const OUT = process.env.FW_OUT;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 1 };

let failures = 0;
function check(name, ok, detail) {
  if (ok) console.log("ok   " + name);
  else {
    failures++;
    console.log("FAIL " + name + (detail !== undefined ? ": " + detail : ""));
  }
  return !!ok;
}

async function rest(method, p, key, body, raw) {
  const headers = { Authorization: "Bearer " + key };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(BASE + "/api/v2" + p, {
    method,
    headers,
    body: raw !== undefined ? raw : body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch (e) {
    json = null;
  }
  return { status: r.status, json, text };
}

async function uploadRest(key, file, name, text) {
  const t = await rest("POST", "/templates", key, { type: "json", displayName: name });
  const up = await rest("PUT", "/templates/" + t.json.id + "/upload", key, undefined, text || fs.readFileSync(file));
  if (up.status !== 200) throw new Error("upload: " + up.text);
  return up.json;
}

async function shot(page, name) {
  const file = path.join(OUT, name + ".png");
  await page.screenshot({ path: file, fullPage: true });
  console.log("screenshot " + file);
}

async function go(page, hash) {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
}

async function waitText(page, selector, pattern, timeout) {
  try {
    await page.waitForFunction(
      (sel, src) => {
        const el = document.querySelector(sel);
        return el && new RegExp(src).test(el.textContent);
      },
      { timeout: timeout || 20000 },
      selector,
      pattern.source
    );
    return true;
  } catch (e) {
    return false;
  }
}

// Every form control of the page has a label a screen reader announces.
async function unlabelled(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea")]
      .filter((el) => el.type !== "hidden" && !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
      .map((el) => el.id || el.name || el.outerHTML.slice(0, 60))
  );
}

async function noSideScroll(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: process.env.FW_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required"],
  });
  const page = await browser.newPage();
  await page.setViewport(DESKTOP);
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) problems.push("console: " + m.text());
  });
  const requests = [];
  page.on("request", (r) => requests.push({ url: r.url(), method: r.method(), headers: r.headers() }));

  // ---- the files themselves -------------------------------------------------------------------
  const root = await fetch(BASE + "/");
  const csp = root.headers.get("content-security-policy") || "";
  check("/ is the dashboard's HTML", root.status === 200 && /text\/html/.test(root.headers.get("content-type")));
  check("a strict Content-Security-Policy", /script-src 'self'/.test(csp) && /default-src 'none'/.test(csp) &&
    !/unsafe-inline|unsafe-eval/.test(csp) && /frame-ancestors 'none'/.test(csp), csp);
  check("nosniff on the static files", root.headers.get("x-content-type-options") === "nosniff");
  const js = await fetch(BASE + "/app.js");
  check("app.js served as JavaScript with the same headers",
    js.status === 200 && /javascript/.test(js.headers.get("content-type")) && js.headers.get("x-content-type-options") === "nosniff");

  // ---- sign in ----------------------------------------------------------------------------------
  await page.goto(BASE + "/#/jobs", { waitUntil: "networkidle0" });
  check("without a key the jobs page asks to sign in", page.url().endsWith("#/sign-in") && (await page.$("#sign-in")) !== null, page.url());
  check("without a key no list is shown", (await page.$("table")) === null);
  await shot(page, "01-sign-in");
  await page.type("#key", "fw_this_is_not_a_key_of_anyone_000000000");
  await page.click("#sign-in button[type=submit]");
  check("a wrong key says so", await waitText(page, "#sign-in-error", /not accepted/));
  check("a wrong key shows no data and no navigation", (await page.$("table")) === null && (await page.$eval("#nav", (n) => n.hidden)));
  check("a wrong key is not kept", (await page.evaluate(() => sessionStorage.getItem("framewright.key"))) === null);
  await shot(page, "02-sign-in-wrong-key");
  await page.$eval("#key", (el) => (el.value = ""));
  await page.type("#key", KEY_A);
  await page.click("#sign-in button[type=submit]");
  await page.waitForFunction(() => location.hash.startsWith("#/jobs"), { timeout: 10000 }).catch(() => {});
  check("signing in goes on to the jobs page", page.url().includes("#/jobs"), page.url());
  check("the key is in session storage", (await page.evaluate(() => sessionStorage.getItem("framewright.key"))) === KEY_A);
  check("the sign-in page's controls are labelled", (await unlabelled(page)).length === 0);

  // ---- upload by the drop zone ------------------------------------------------------------------
  await go(page, "#/templates");
  await page.waitForSelector("#drop-zone");
  const doc = fs.readFileSync(process.env.FW_TEMPLATE, "utf8");
  await page.evaluate((text) => {
    const zone = document.getElementById("drop-zone");
    const dt = new DataTransfer();
    dt.items.add(new File([text], "hello-dashboard.json", { type: "application/json" }));
    for (const type of ["dragenter", "dragover", "drop"])
      zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
  }, doc);
  await page.waitForFunction(() => /^#\/templates\/[^/]+$/.test(location.hash), { timeout: 30000 }).catch(() => {});
  const templateId = decodeURIComponent(page.url().split("#/templates/")[1] || "");
  check("a template dropped on the zone is uploaded and its page opens", /^[0-9A-Z]{20,}$/.test(templateId), page.url());
  const putSeen = requests.some((r) => r.method === "PUT" && r.url.endsWith("/api/v2/templates/" + templateId + "/upload"));
  const postSeen = requests.some((r) => r.method === "POST" && r.url.endsWith("/api/v2/templates"));
  check("the upload is the REST clients' create + PUT", postSeen && putSeen);

  // ---- the template's page ----------------------------------------------------------------------
  await page.waitForFunction(() => {
    const p = document.getElementById("poster");
    const v = document.getElementById("preview");
    return p && p.dataset.loaded && p.complete && p.naturalWidth > 0 && v && v.dataset.frames;
  }, { timeout: 60000 }).catch(() => {});
  const poster = await page.evaluate(() => {
    const img = document.getElementById("poster");
    if (!img || !img.naturalWidth) return null;
    const c = document.createElement("canvas");
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const g = c.getContext("2d");
    g.drawImage(img, 0, 0);
    const at = (x, y) => Array.from(g.getImageData(x, y, 1, 1).data);
    return { w: c.width, h: c.height, square: at(320, 125), corner: at(5, 5), src: img.src.slice(0, 5) };
  });
  check("the poster frame is drawn by the server at the size asked", poster && poster.w === 640 && poster.h === 360, JSON.stringify(poster));
  check("the poster shows the orange square where the layer is",
    poster && poster.square[0] > 200 && poster.square[1] > 70 && poster.square[1] < 140 && poster.square[2] < 60, JSON.stringify(poster));
  check("the poster's background is the template's navy", poster && Math.abs(poster.corner[0] - 0x1d) < 12 && Math.abs(poster.corner[2] - 0x53) < 12, JSON.stringify(poster));
  check("the poster came through fetch with the key (a blob: URL, no key in a URL)",
    poster && poster.src === "blob:" && requests.filter((r) => r.url.includes("/frames/")).every((r) => !/fw_/.test(r.url) && r.headers.authorization === "Bearer " + KEY_A));
  check("the preview loops over twelve frames", (await page.$eval("#preview", (v) => v.dataset.frames).catch(() => "")) === "12");
  const compText = await page.$eval("table.compositions", (t) => t.textContent).catch(() => "");
  check("compositions with size, frame rate and duration", /1280×720/.test(compText) && /30 fps/.test(compText) && /3\.00 s/.test(compText), compText);
  const layersText = await page.$eval("table.layers", (t) => t.textContent).catch(() => "");
  check("layers with their type and what can be replaced", /title.*text/.test(layersText) && /logo.*shape.*colours/.test(layersText) && /bg.*solid/.test(layersText), layersText);
  check("fonts, and whether any is missing", /DejaVu/.test(await page.$eval("main", (m) => m.textContent)) && (await page.$("#missing-fonts")) !== null);
  check("the template page's controls are labelled", (await unlabelled(page)).length === 0);
  await shot(page, "03-template");

  // ---- the job form -----------------------------------------------------------------------------
  await page.click("#new-job");
  await page.waitForSelector("#job-form");
  check("the job form has a field per replaceable layer",
    (await page.$("input[type=text][data-layer=title]")) !== null && (await page.$("input[type=color][data-layer=logo]")) !== null);
  check("preview is on by default", await page.$eval("#preview-on", (c) => c.checked));
  check("the job form's controls are labelled", (await unlabelled(page)).length === 0);
  await page.type("input[type=text][data-layer=title]", "Hello from the dashboard");
  await page.$eval("input[type=color][data-layer=logo]", (el) => {
    el.value = "#22aa44";
    el.dispatchEvent(new Event("input", { bubbles: true }));
  });
  await shot(page, "04-job-form");
  const before = requests.length;
  await page.click("#submit-job");
  await page.waitForFunction(() => /^#\/jobs\/[^/]+$/.test(location.hash), { timeout: 20000 }).catch(() => {});
  const jobId = decodeURIComponent(page.url().split("#/jobs/")[1] || "");
  check("submitting the form creates a job and opens it", /^[0-9A-Z]{20,}$/.test(jobId), page.url());
  const posted = requests.slice(before).find((r) => r.method === "POST" && r.url.endsWith("/api/v2/jobs"));
  check("the job was posted to the REST API", !!posted);

  // ---- the progress bar follows the event stream ------------------------------------------------
  const reached = await page.waitForFunction(() => {
    const b = document.getElementById("job-progress");
    const s = document.querySelector("#job-status .badge");
    return b && b.getAttribute("aria-valuenow") === "100" && s && s.dataset.status === "finished";
  }, { timeout: 120000 }).then(() => true).catch(() => false);
  check("the progress bar reaches 100 % and the job is finished", reached);
  const events = Number(await page.$eval("#job-progress", (b) => b.dataset.events).catch(() => "0"));
  check("the progress came from the job's event stream", events >= 1, "events: " + events);
  const jobUrl = "/api/v2/jobs/" + jobId;
  const streamed = requests.filter((r) => r.url.endsWith(jobUrl + "/events"));
  const polled = requests.filter((r) => r.url.endsWith(jobUrl) && r.method === "GET");
  check("the stream was read with fetch and the bearer header, not polled",
    streamed.length >= 1 && streamed.every((r) => r.headers.authorization === "Bearer " + KEY_A) && polled.length <= 2,
    "streams " + streamed.length + ", GETs " + polled.length);

  // ---- the output plays ---------------------------------------------------------------------------
  const played = await page.waitForFunction(() => {
    const v = document.getElementById("output");
    if (!v || v.tagName !== "VIDEO") return false;
    if (v.paused) v.play().catch(() => {});
    return v.readyState >= 2 && v.videoWidth > 0;
  }, { timeout: 60000 }).then(() => true).catch(() => false);
  const video = await page.evaluate(() => {
    const v = document.getElementById("output");
    if (!v) return null;
    const out = { readyState: v.readyState, w: v.videoWidth, h: v.videoHeight, src: v.currentSrc };
    try {
      const c = document.createElement("canvas");
      c.width = v.videoWidth;
      c.height = v.videoHeight;
      const g = c.getContext("2d");
      g.drawImage(v, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      let lit = 0;
      const seen = new Set();
      for (let i = 0; i < d.length; i += 4 * 97) {
        if (d[i] + d[i + 1] + d[i + 2] > 30) lit++;
        seen.add((d[i] >> 4) + "," + (d[i + 1] >> 4) + "," + (d[i + 2] >> 4));
      }
      out.lit = lit;
      out.colours = seen.size;
    } catch (e) {
      out.canvasError = e.message;
    }
    return out;
  });
  check("the output plays in <video> (readyState ≥ 2)", played && video && video.readyState >= 2, JSON.stringify(video));
  check("a frame of it drawn to a canvas is not blank", video && video.lit > 100 && video.colours >= 2, JSON.stringify(video));
  check("the output is the preview size (at most 640 a side)", video && video.w === 640 && video.h === 360, JSON.stringify(video));
  const jsonText = await page.$eval("#job-json", (p) => p.textContent).catch(() => "");
  check("the job page shows its JSON", jsonText.includes('"id": "' + jobId + '"') && jsonText.includes('"status": "finished"'));
  check("the job page shows stats and webhook deliveries",
    /Render time/.test(await page.$eval("main", (m) => m.textContent)) && (await page.$("#webhooks h2")) !== null);
  await shot(page, "05-job-finished");

  // ---- render again ---------------------------------------------------------------------------------
  await page.click("#render-again");
  await page.waitForFunction((old) => /^#\/jobs\/[^/]+$/.test(location.hash) && !location.hash.endsWith(old), { timeout: 20000 }, jobId).catch(() => {});
  const againId = decodeURIComponent(page.url().split("#/jobs/")[1] || "");
  check("render again creates another job", againId && againId !== jobId, page.url());
  if (againId && againId !== jobId) {
    const a = await rest("GET", "/jobs/" + againId + "/request", KEY_A);
    check("with the same request (its text asset and colour)",
      a.status === 200 && JSON.stringify(a.json.request.assets).includes("Hello from the dashboard") && JSON.stringify(a.json.request.assets).includes("#22aa44"), a.text);
    await page.waitForFunction(() => {
      const s = document.querySelector("#job-status .badge");
      return s && s.dataset.status === "finished";
    }, { timeout: 120000 }).catch(() => {});
  }

  // ---- the form puts a refused field's message beside its input ----------------------------------
  const withImage = JSON.parse(doc);
  withImage.assets = [{ id: "img_0", w: 8, h: 8, u: "", e: 1,
    p: "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAYAAADED76LAAAAEklEQVR4nGP4z8DwHx9mGBkKAMLXf4EvceABAAAAAElFTkSuQmCC" }];
  withImage.layers.unshift({ ddd: 0, ind: 9, ty: 2, nm: "photo", refId: "img_0", sr: 1, ao: 0, ip: 0, op: 90, st: 0, bm: 0,
    ks: { o: { a: 0, k: 100 }, r: { a: 0, k: 0 }, p: { a: 0, k: [100, 100, 0] }, a: { a: 0, k: [4, 4, 0] }, s: { a: 0, k: [100, 100, 100] } } });
  const imageTemplate = await uploadRest(KEY_A, null, "with a photo", JSON.stringify(withImage));
  await go(page, "#/templates/" + imageTemplate.id + "/job");
  const photo = "input[type=url][data-layer=photo]";
  await page.waitForSelector(photo, { timeout: 20000 }).catch(() => {});
  check("an image layer gets an image URL field", (await page.$(photo)) !== null);
  if (await page.$(photo)) {
    await page.type(photo, "http://127.0.0.1:9/missing.png"); // nothing listens on port 9
    await page.click("#submit-job");
    const beside = await page.waitForFunction((sel) => {
      const input = document.querySelector(sel);
      const p = input && document.getElementById(input.id + "-error");
      return p && !p.hidden && p.textContent.length > 0 && input.getAttribute("aria-invalid") === "true" &&
        input.getAttribute("aria-describedby") === p.id;
    }, { timeout: 30000 }, photo).then(() => true).catch(() => false);
    check("a job refused at submission: its message is beside the input that made the asset", beside);
    check("and the form's message names the field",
      /assets\[0\]\.src/.test(await page.$eval("#job-form-message", (m) => m.textContent).catch(() => "")));
    check("and the form stays on the page", /\/job$/.test(page.url()));
    await shot(page, "06-job-form-refused");
  }

  // ---- a failed job's field error ---------------------------------------------------------------
  const bad = await rest("POST", "/jobs", KEY_A, {
    template: { id: templateId },
    preview: true,
    assets: [{ type: "script", value: "var n = 1;\nthrow new Error('no badge layer to drop');" }],
  });
  check("a job whose script throws is accepted (it fails while rendering)", bad.status === 201, bad.text);
  if (bad.status === 201) {
    await go(page, "#/jobs/" + bad.json.id);
    const failed = await waitText(page, "#error-field", /^assets\[0\]\.value$/, 60000);
    check("a failed job's page names the field of its error", failed);
    check("and says why", await waitText(page, "#error-message", /no badge layer to drop/));
    check("and its status is error", (await page.$eval("#job-status .badge", (b) => b.dataset.status).catch(() => "")) === "error");
    await shot(page, "06-job-failed");
  }

  // ---- cancel a running job -----------------------------------------------------------------------
  const long = await uploadRest(KEY_A, process.env.FW_LONG_TEMPLATE, "long");
  const running = await rest("POST", "/jobs", KEY_A, { template: { id: long.id }, settings: { type: "video", codec: "video_h264_vbr_5mbps" } });
  check("a long job is created", running.status === 201, running.text);
  if (running.status === 201) {
    await go(page, "#/jobs/" + running.json.id);
    const rendering = await page.waitForFunction(() => {
      const s = document.querySelector("#job-status .badge");
      const b = document.getElementById("job-progress");
      return s && s.dataset.status === "render:dorender" && b && Number(b.getAttribute("aria-valuenow")) > 10;
    }, { timeout: 60000 }).then(() => true).catch(() => false);
    check("the long job is seen rendering, its progress moving", rendering);
    await shot(page, "07-job-rendering");
    // The list follows it too, from the job's event stream.
    await go(page, "#/jobs");
    const listed = await page.waitForFunction((id) => {
      const bar = document.querySelector('tr[data-id="' + id + '"] [role=progressbar]');
      return bar && Number(bar.getAttribute("aria-valuenow")) > 12;
    }, { timeout: 30000 }, running.json.id).then(() => true).catch(() => false);
    check("the jobs list shows the running job's progress moving", listed);
    await new Promise((r) => setTimeout(r, 400)); // the bar's transition
    await shot(page, "08-jobs-live");
    await go(page, "#/jobs/" + running.json.id);
    await page.waitForSelector("#cancel-job:not([hidden])", { timeout: 20000 }).catch(() => {});
    await page.click("#cancel-job");
    const cancelled = await page.waitForFunction(() => {
      const s = document.querySelector("#job-status .badge");
      return s && s.dataset.status === "manually_cancelled";
    }, { timeout: 30000 }).then(() => true).catch(() => false);
    check("the cancel button cancels the running job", cancelled);
    const after = await rest("GET", "/jobs/" + running.json.id, KEY_A);
    check("the server says it is cancelled", after.json && after.json.status === "manually_cancelled", after.text);
    check("the cancel button is gone once it has ended", await page.$eval("#cancel-job", (b) => b.hidden).catch(() => false));
  }

  // ---- the jobs list: filters and paging ----------------------------------------------------------
  await go(page, "#/jobs");
  await page.waitForSelector("table.jobs tbody tr", { timeout: 20000 }).catch(() => {});
  const rows = await page.$$eval("table.jobs tbody tr", (trs) => trs.map((t) => t.dataset.id));
  check("the jobs list shows the team's jobs", rows.includes(jobId) && rows.includes(againId) && rows.length >= 4, rows.join(" "));
  check("each row has a progress bar", (await page.$$("table.jobs [role=progressbar]")).length === rows.length);
  check("the jobs page's controls are labelled", (await unlabelled(page)).length === 0);
  await shot(page, "09-jobs");
  await page.select("#f-status", "error");
  await page.click("#job-filters button[type=submit]");
  await page.waitForFunction(() => location.hash.includes("status=error"), { timeout: 5000 }).catch(() => {});
  await page.waitForSelector("table.jobs tbody tr", { timeout: 20000 }).catch(() => {});
  const errorRows = await page.$$eval("table.jobs tbody tr .badge", (bs) => bs.map((b) => b.dataset.status));
  check("the status filter keeps only failed jobs", errorRows.length === 1 && errorRows[0] === "error", errorRows.join(" "));
  await go(page, "#/jobs?template=" + encodeURIComponent(long.id));
  await page.waitForSelector("table.jobs tbody tr", { timeout: 20000 }).catch(() => {});
  const longRows = await page.$$eval("table.jobs tbody tr", (trs) => trs.map((t) => t.dataset.id));
  check("the template filter keeps that template's jobs", longRows.length === 1 && running.json && longRows[0] === running.json.id, longRows.join(" "));
  await go(page, "#/jobs?from=2000-01-01&to=2000-01-02");
  await page.waitForSelector("#no-jobs", { timeout: 20000 }).catch(() => {});
  check("the date filter keeps jobs of those days only (none)", (await page.$("#no-jobs")) !== null);
  await go(page, "#/jobs?limit=2");
  await page.waitForSelector("#next-page", { timeout: 20000 }).catch(() => {});
  const page1 = await page.$$eval("table.jobs tbody tr", (trs) => trs.map((t) => t.dataset.id));
  await page.click("#next-page").catch(() => {});
  await page.waitForFunction(() => location.hash.includes("cursor="), { timeout: 5000 }).catch(() => {});
  await page.waitForFunction((first) => {
    const ids = [...document.querySelectorAll("table.jobs tbody tr")].map((t) => t.dataset.id);
    return ids.length && ids[0] !== first;
  }, { timeout: 20000 }, page1[0]).catch(() => {});
  const page2 = await page.$$eval("table.jobs tbody tr", (trs) => trs.map((t) => t.dataset.id));
  check("paging: the next page holds other jobs", page1.length === 2 && page2.length >= 1 && !page2.some((id) => page1.includes(id)), page1 + " | " + page2);
  await page.click("a[rel=prev]").catch(() => {});
  await page.waitForFunction((first) => {
    const ids = [...document.querySelectorAll("table.jobs tbody tr")].map((t) => t.dataset.id);
    return ids[0] === first;
  }, { timeout: 20000 }, page1[0]).then(() => check("paging back shows the first page again", true))
    .catch(() => check("paging back shows the first page again", false));

  // ---- batches ------------------------------------------------------------------------------------
  await go(page, "#/batches");
  await page.waitForSelector("#batch-json");
  const batch = [
    { template: { id: templateId }, preview: true, settings: { type: "image", codec: "image_png" } },
    { template: { id: templateId }, assets: [{ type: "text", layerName: "titel", value: "x" }] },
    { template: { id: templateId }, preview: true, settings: { type: "image", codec: "image_png" } },
  ];
  await page.$eval("#batch-json", (t, v) => (t.value = v), JSON.stringify(batch));
  await page.click("#create-batch button[type=submit]");
  await page.waitForFunction(() => /^#\/batches\/[^/]+$/.test(location.hash), { timeout: 20000 }).catch(() => {});
  const batchId = decodeURIComponent(page.url().split("#/batches/")[1] || "");
  check("a batch is created from the form and its page opens", batchId.length > 10, page.url());
  await page.waitForSelector("table.refused", { timeout: 20000 }).catch(() => {});
  const refused = await page.$$eval("table.refused tbody tr", (trs) => trs.map((t) => t.textContent)).catch(() => []);
  check("the refused index is listed with its field and reason",
    refused.length === 1 && /^1/.test(refused[0]) && /assets\[0\]\.layerName/.test(refused[0]) && /titel/.test(refused[0]), refused.join(" | "));
  const counted = await page.waitForFunction(() => {
    const r = document.querySelector('#batch-counts tr[data-status="finished"] td:last-child');
    return r && r.textContent === "2";
  }, { timeout: 60000 }).then(() => true).catch(() => false);
  check("the batch's counts by status follow its event stream to 2 finished", counted);
  await shot(page, "10-batch");

  // ---- a phone-width window -------------------------------------------------------------------------
  await page.setViewport(PHONE);
  for (const [hash, name] of [["#/jobs", "11-jobs-phone"], ["#/templates/" + templateId, "12-template-phone"], ["#/jobs/" + jobId, "13-job-phone"]]) {
    await go(page, hash);
    await page.waitForSelector("main table, main dl", { timeout: 20000 }).catch(() => {});
    await new Promise((r) => setTimeout(r, 500));
    check("readable at phone width, no sideways scrolling: " + hash, await noSideScroll(page));
    await shot(page, name);
  }
  await page.setViewport(DESKTOP);
  check("readable at 1280×800 without sideways scrolling", await (async () => {
    await go(page, "#/jobs");
    await page.waitForSelector("table.jobs", { timeout: 20000 }).catch(() => {});
    return noSideScroll(page);
  })());

  // ---- the keyboard -------------------------------------------------------------------------------
  // A page puts the focus on its content; Tab goes on into it, Shift+Tab
  // back through the navigation to the skip link.
  await page.goto(BASE + "/#/templates", { waitUntil: "networkidle0" });
  const focused = () => page.evaluate(() => {
    const a = document.activeElement;
    return a.id || (a.className === "skip" ? "skip" : a.textContent.trim());
  });
  await page.keyboard.press("Tab");
  check("Tab from the page's start reaches the file chooser", (await focused()) === "template-file", await focused());
  const back = [];
  for (let i = 0; i < 6; i++) {
    await page.keyboard.down("Shift");
    await page.keyboard.press("Tab");
    await page.keyboard.up("Shift");
    back.push(await focused());
  }
  check("Shift+Tab goes back through the navigation to the skip link",
    ["sign-out", "Batches", "Jobs", "Templates", "skip"].every((x) => back.includes(x)), back.join(" | "));
  for (let i = 0; i < 3; i++) await page.keyboard.press("Tab"); // brand, Templates, Jobs
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => location.hash.startsWith("#/jobs"), { timeout: 5000 }).catch(() => {});
  check("Enter on a navigation link opens its page", page.url().includes("#/jobs"), page.url());

  // ---- another team's key sees none of it -----------------------------------------------------------
  await page.click("#sign-out");
  await page.waitForSelector("#sign-in");
  check("signing out forgets the key", (await page.evaluate(() => sessionStorage.getItem("framewright.key"))) === null);
  await page.type("#key", KEY_B);
  await page.click("#sign-in button[type=submit]");
  await page.waitForFunction(() => location.hash.startsWith("#/jobs"), { timeout: 10000 }).catch(() => {});
  await page.waitForSelector("#no-jobs, table.jobs", { timeout: 20000 }).catch(() => {});
  const bText = await page.$eval("main", (m) => m.textContent);
  check("team B's jobs list has none of team A's jobs", (await page.$("#no-jobs")) !== null && !bText.includes(jobId), bText.slice(0, 200));
  await go(page, "#/templates");
  await page.waitForSelector("#no-templates, table", { timeout: 20000 }).catch(() => {});
  check("team B's templates list has none of team A's", !(await page.$eval("main", (m) => m.textContent)).includes(templateId) && (await page.$("#no-templates")) !== null);
  for (const [hash, what] of [["#/jobs/" + jobId, "job"], ["#/templates/" + templateId, "template"], ["#/batches/" + batchId, "batch"], ["#/templates/" + templateId + "/job", "template"]]) {
    await go(page, hash);
    const nf = await waitText(page, "main .error", /Not found/, 20000);
    const text = await page.$eval("main", (m) => m.textContent);
    check("team B opening team A's " + what + " (" + hash.split("/")[1] + ") sees only 'not found'", nf && !text.includes("Hello from the dashboard") && !text.includes("1280×720") && (await page.$("#poster")) === null, text.slice(0, 200));
  }
  await shot(page, "14-other-team");
  const frameB = await rest("GET", "/templates/" + templateId + "/frames/0?width=64", KEY_B);
  check("team B's key draws no frame of team A's template", frameB.status === 404);
  await page.evaluate(() => sessionStorage.setItem("framewright.key", "fw_revoked_or_wrong_0000000000000000"));
  await go(page, "#/jobs/" + jobId);
  await page.waitForFunction(() => location.hash === "#/sign-in", { timeout: 20000 }).catch(() => {});
  check("a key that stops working sends the page back to sign in, showing nothing",
    page.url().endsWith("#/sign-in") && !(await page.$eval("main", (m) => m.textContent)).includes(jobId));

  check("no script error and no Content-Security-Policy violation", problems.length === 0, problems.join("; "));
  await browser.close();
  console.log("browser: " + failures + " failed");
}

main().catch((e) => {
  console.log("FAIL the browser run ended early: " + (e && e.stack ? e.stack : e));
  process.exit(1);
});
