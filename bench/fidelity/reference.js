#!/usr/bin/env node
/*
 * reference.js - reference frames for the render fidelity benchmark.
 *
 * Draws three frames of every Lottie JSON file in a folder with lottie-web,
 * the Bodymovin reference player, in headless Chromium, and writes each as a
 * PNG with a transparent background: OUT/<file-stem>.<frame>.png. The frames
 * are 0, floor(n/3) and floor(2n/3) with n = op - ip, numbered from the in
 * point as the engines number them (fw_engine_render's `frame`).
 *
 *   node reference.js --corpus DIR --out DIR [--renderer svg|canvas]
 *                     [--only NAME] [--chromium PATH] [--force]
 *
 * Nothing is fetched from the network: the page, the player and the files
 * are answered from disk by request interception, and every other request is
 * refused. A file's images ("u" + "p" of its assets) load when they are on
 * disk next to it; data: URIs work as they are. PNGs already in OUT are kept
 * (pass --force to draw them again), so a second run only draws what is new.
 *
 * For a file with text layers it also writes OUT/<file-stem>.fonts.json:
 * for every font of the file's font list (by fName, the name its text
 * documents use), the family lottie-web asked Chromium for and the platform
 * fonts Chromium drew the text nodes with (DevTools' CSS.getPlatformFontsForNode:
 * family, PostScript name, glyph count), so that a comparison can tell a
 * layout difference from a font the machine lacks. A line is printed for
 * every font drawn with another family than the one asked for.
 *
 * The svg renderer is the default: it is lottie-web's default and its most
 * complete (it draws the blur, drop shadow, tint, fill and tritone effects
 * that the canvas renderer skips).
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');

const ORIGIN = 'http://fidelity.invalid';
const FILE_TIMEOUT_MS = 60000;

function usage(message) {
  if (message) process.stderr.write(`reference.js: ${message}\n`);
  process.stderr.write(
    'usage: node reference.js --corpus DIR --out DIR [--renderer svg|canvas] [--only NAME]\n' +
      '                         [--chromium PATH] [--force]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { renderer: 'svg', chromium: '/usr/bin/chromium', only: null, force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--corpus') opts.corpus = value();
    else if (a === '--out') opts.out = value();
    else if (a === '--renderer') opts.renderer = value();
    else if (a === '--only') opts.only = value();
    else if (a === '--chromium') opts.chromium = value();
    else if (a === '--force') opts.force = true;
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!opts.corpus || !opts.out) usage('--corpus and --out are required');
  if (opts.renderer !== 'svg' && opts.renderer !== 'canvas') usage('--renderer is svg or canvas');
  return opts;
}

/* The frames to draw, as the C side (fidelity.c) computes them. */
function framesOf(doc) {
  const n = Number(doc.op) - Number(doc.ip);
  if (!(n > 0)) return [];
  return [...new Set([0, Math.floor(n / 3), Math.floor((2 * n) / 3)])];
}

/* Whether name matches --only: the file name with or without .json. */
function selected(file, only) {
  return !only || file === only || path.basename(file, '.json') === only;
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8">
<style>html,body{margin:0;padding:0;background:transparent;overflow:hidden}
#stage{position:absolute;left:0;top:0}</style>
<script src="${ORIGIN}/lottie.min.js"></script>
</head><body><div id="stage"></div></body></html>`;

const TYPES = {
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif',
  '.webp': 'image/webp', '.svg': 'image/svg+xml', '.json': 'application/json',
};

/* Answers the page's requests from disk: the page itself, the player, and
 * files under the corpus folder (images next to the Lottie file). */
async function serveFromDisk(page, corpusDir, playerPath) {
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    const url = req.url();
    if (url.startsWith('data:')) return req.continue();
    if (!url.startsWith(ORIGIN + '/')) return req.abort('blockedbyclient');
    const rel = decodeURIComponent(new URL(url).pathname);
    if (rel === '/index.html') return req.respond({ status: 200, contentType: 'text/html', body: PAGE });
    if (rel === '/lottie.min.js')
      return req.respond({ status: 200, contentType: 'text/javascript', body: fs.readFileSync(playerPath) });
    if (rel.startsWith('/files/')) {
      const root = path.resolve(corpusDir);
      const file = path.resolve(root, '.' + rel.slice('/files'.length));
      if (file.startsWith(root + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile()) {
        const type = TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream';
        return req.respond({ status: 200, contentType: type, body: fs.readFileSync(file) });
      }
    }
    return req.respond({ status: 404, contentType: 'text/plain', body: 'not found' });
  });
}

/* In the page: load the animation and wait until it (and its images) are
 * ready. Runs in the browser. */
async function loadInPage(data, renderer, width, height) {
  const stage = document.getElementById('stage');
  stage.style.width = width + 'px';
  stage.style.height = height + 'px';
  const anim = window.lottie.loadAnimation({
    container: stage,
    renderer,
    loop: false,
    autoplay: false,
    animationData: data,
    rendererSettings: { preserveAspectRatio: 'xMidYMid meet', clearCanvas: true },
  });
  window.fidelityAnim = anim;
  await new Promise((resolve, reject) => {
    if (anim.isLoaded) return resolve();
    anim.addEventListener('DOMLoaded', resolve);
    anim.addEventListener('data_failed', () => reject(new Error('lottie-web could not read the data')));
  });
  /* The svg renderer does not wait for images before DOMLoaded. */
  const pre = anim.imagePreloader;
  for (let i = 0; i < 600 && pre && !pre.loadedImages(); i++) await new Promise((r) => setTimeout(r, 50));
  /* Fonts: lottie-web gives up on fonts it cannot load after a while. */
  const fm = anim.renderer && anim.renderer.globalData && anim.renderer.globalData.fontManager;
  for (let i = 0; i < 600 && fm && !fm.isLoaded; i++) await new Promise((r) => setTimeout(r, 50));
}

/* In the page: marks every SVG text node of each text layer with the name
 * of the font (fName) its text document uses, and returns, per name, what
 * lottie-web asked the browser for. Runs in the browser. */
function markTextNodes() {
  const asked = {};
  const visit = (elements) => {
    for (const element of elements || []) {
      if (!element) continue;
      const data = element.textProperty && element.textProperty.currentData;
      if (data && element.layerElement) {
        const layer = element.layerElement;
        for (const node of layer.querySelectorAll('text, tspan')) node.setAttribute('data-fidelity-font', data.f);
        asked[data.f] = {
          family: layer.getAttribute('font-family'),
          weight: layer.getAttribute('font-weight'),
          style: layer.getAttribute('font-style'),
        };
      }
      visit(element.elements);
    }
  };
  visit(window.fidelityAnim.renderer.elements);
  return asked;
}

async function showFrame(frame) {
  window.fidelityAnim.goToAndStop(frame, true);
  /* Two animation frames: the DOM/canvas update is on screen. */
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: timed out`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

function hasTextLayers(data) {
  const layers = [data.layers || [], ...(data.assets || []).map((a) => a.layers || [])];
  return layers.some((list) => list.some((layer) => layer && layer.ty === 5));
}

/* The platform fonts Chromium drew the marked text nodes of the page with:
 * { fName: Map(family + PostScript name -> {familyName, postScriptName,
 * isCustomFont, glyphCount}) }, glyphs summed over the nodes. */
async function platformFonts(cdp) {
  const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
  const { nodeIds } = await cdp.send('DOM.querySelectorAll', { nodeId: root.nodeId, selector: 'text, tspan' });
  const used = {};
  for (const nodeId of nodeIds) {
    const { attributes } = await cdp.send('DOM.getAttributes', { nodeId });
    const at = attributes.indexOf('data-fidelity-font');
    if (at < 0 || at % 2) continue; /* not a text layer's: lottie-web's measuring node */
    const name = attributes[at + 1];
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
    const byFace = used[name] || (used[name] = new Map());
    for (const f of fonts) {
      const key = `${f.familyName}\n${f.postScriptName || ''}`;
      const seen = byFace.get(key);
      if (seen) seen.glyphCount += f.glyphCount;
      else byFace.set(key, { familyName: f.familyName, postScriptName: f.postScriptName || '',
        isCustomFont: !!f.isCustomFont, glyphCount: f.glyphCount });
    }
  }
  return used;
}

function sameFamily(a, b) {
  const key = (s) => String(s || '').replace(/["']/g, '').trim().toLowerCase();
  return key(a) === key(b);
}

/* OUT/<stem>.fonts.json from what the frames drew: per font of the font list,
 * what was asked and the platform fonts used (for a face, the most glyphs any
 * one frame drew with it). "fallback" is set when the face that drew the most
 * glyphs is of another family than the one asked for. Returns the lines to
 * print about fonts drawn with another family. */
function writeFonts(opts, file, data, asked, frames) {
  const stem = path.basename(file, '.json');
  const fonts = {};
  const notes = [];
  for (const entry of (data.fonts && data.fonts.list) || []) {
    if (!entry || typeof entry.fName !== 'string') continue;
    const wanted = asked[entry.fName] || {};
    const faces = new Map();
    for (const frame of frames) {
      for (const [key, face] of (frame[entry.fName] || new Map())) {
        const seen = faces.get(key);
        if (!seen || seen.glyphCount < face.glyphCount) faces.set(key, { ...face });
      }
    }
    const platform = [...faces.values()].sort((a, b) => b.glyphCount - a.glyphCount);
    const family = wanted.family || entry.fFamily || '';
    fonts[entry.fName] = {
      fFamily: entry.fFamily || '',
      fStyle: entry.fStyle || '',
      family,
      weight: wanted.weight || '',
      style: wanted.style || '',
      glyphs: Array.isArray(data.chars) && data.chars.length > 0,
      platformFonts: platform,
      fallback: platform.length > 0 && !sameFamily(platform[0].familyName, family),
    };
    for (const face of platform)
      if (!sameFamily(face.familyName, family))
        notes.push(`  ${file}: font "${entry.fName}" asks for ${family}; Chromium drew ${face.glyphCount} glyph(s) ` +
          `with ${face.familyName}${face.postScriptName ? ` (${face.postScriptName})` : ''}`);
  }
  const target = path.join(opts.out, `${stem}.fonts.json`);
  fs.writeFileSync(`${target}.part`, JSON.stringify({ file, renderer: opts.renderer, fonts }, null, 1) + '\n');
  fs.renameSync(`${target}.part`, target);
  return notes;
}

/* Writes the missing frames of one file (and, for a file with text, its
 * fonts); returns how many frames it wrote. */
async function drawFile(browser, opts, playerPath, file) {
  const stem = path.basename(file, '.json');
  const data = JSON.parse(fs.readFileSync(path.join(opts.corpus, file), 'utf8'));
  const width = Math.round(Number(data.w));
  const height = Math.round(Number(data.h));
  if (!(width > 0 && height > 0)) throw new Error('the composition has no size');
  /* Images that are files resolve next to the Lottie file, which the page
   * sees under files/; data: URIs and embedded images stay as they are. */
  for (const asset of data.assets || []) {
    if (typeof asset.p === 'string' && !asset.e && !asset.p.startsWith('data:'))
      asset.u = 'files/' + (typeof asset.u === 'string' ? asset.u : '');
  }
  const frames = framesOf(data);
  const todo = frames.filter((f) => opts.force || !fs.existsSync(path.join(opts.out, `${stem}.${f}.png`)));
  /* Fonts are recorded whenever frames are drawn, and for a file drawn
   * before fonts were recorded. */
  const wantFonts = hasTextLayers(data) &&
    (todo.length > 0 || !fs.existsSync(path.join(opts.out, `${stem}.fonts.json`)));
  if (todo.length === 0 && !wantFonts) return 0;

  const page = await browser.newPage();
  try {
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e.message || e)));
    await serveFromDisk(page, opts.corpus, playerPath);
    await page.setViewport({ width, height, deviceScaleFactor: 1 });
    await page.goto(`${ORIGIN}/index.html`, { waitUntil: 'load' });
    await page.evaluate(loadInPage, data, opts.renderer, width, height);
    const cdp = wantFonts ? await page.target().createCDPSession() : null;
    if (cdp) {
      await cdp.send('DOM.enable');
      await cdp.send('CSS.enable');
    }
    const asked = {};
    const used = [];
    for (const frame of frames) {
      if (!todo.includes(frame) && !cdp) continue;
      await page.evaluate(showFrame, frame);
      if (todo.includes(frame)) {
        const target = path.join(opts.out, `${stem}.${frame}.png`);
        const partial = `${target}.part.png`;
        await page.screenshot({ path: partial, clip: { x: 0, y: 0, width, height }, omitBackground: true });
        fs.renameSync(partial, target);
      }
      /* Marked after the screenshot: the marks draw nothing, but the picture
       * stays that of lottie-web's page as it made it. */
      if (cdp) {
        Object.assign(asked, await page.evaluate(markTextNodes));
        used.push(await platformFonts(cdp));
      }
    }
    if (cdp) {
      for (const line of writeFonts(opts, file, data, asked, used)) process.stdout.write(`${line}\n`);
      await cdp.detach();
    }
    if (errors.length) process.stderr.write(`  ${file}: page errors: ${errors.slice(0, 3).join(' | ')}\n`);
    return todo.length;
  } finally {
    await page.close();
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const playerPath = require.resolve('lottie-web/build/player/lottie.min.js');
  const files = fs.readdirSync(opts.corpus).filter((f) => f.endsWith('.json') && selected(f, opts.only)).sort();
  if (files.length === 0) usage(`no .json files${opts.only ? ` called ${opts.only}` : ''} in ${opts.corpus}`);
  if (!fs.existsSync(opts.chromium)) usage(`no Chromium at ${opts.chromium} (apt-get install -y chromium)`);
  fs.mkdirSync(opts.out, { recursive: true });

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'fidelity-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: opts.chromium,
    headless: true,
    userDataDir: profile,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--hide-scrollbars',
      '--force-color-profile=srgb',
    ],
  });
  const started = Date.now();
  let written = 0;
  const failed = [];
  try {
    for (const file of files) {
      try {
        const n = await withTimeout(drawFile(browser, opts, playerPath, file), FILE_TIMEOUT_MS, file);
        written += n;
        if (n) process.stdout.write(`${file}: ${n} frame${n === 1 ? '' : 's'}\n`);
      } catch (e) {
        failed.push(file);
        process.stderr.write(`${file}: FAILED: ${e.message}\n`);
      }
    }
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(
    `reference: ${written} frames written (${opts.renderer}) in ${seconds.toFixed(1)} s; ` +
      `${failed.length} file(s) failed${failed.length ? ': ' + failed.join(', ') : ''}\n`);
  process.exit(failed.length ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`reference.js: ${e.stack || e}\n`);
  process.exit(1);
});
