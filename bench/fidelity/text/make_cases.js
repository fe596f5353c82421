#!/usr/bin/env node
/*
 * make_cases.js - writes the fidelity benchmark's own text cases, one small
 * Lottie file per layout feature, into this folder:
 *
 *   node bench/fidelity/text/make_cases.js
 *
 * Each file is 600x300, one frame, a white solid under one or two text
 * layers set in a font Debian's fonts-dejavu-core, fonts-liberation2 and
 * fonts-noto-core install. There is no "chars" list, so lottie-web draws
 * them with the real fonts (SVG text) rather than with embedded outlines.
 * The text document keys are the ones lottie-web 5.13 reads: s (size),
 * f (font name), t (text, "\r" between lines), j (justification), tr
 * (tracking, 1/1000 em), lh (line height, px), ls (baseline shift, px),
 * fc (fill colour), sz and ps (a paragraph's box size and top-left corner),
 * ca (1: all caps).
 *
 * The files are committed; run this again after changing a case.
 */
'use strict';

const fs = require('fs');
const path = require('path');

const WIDTH = 600;
const HEIGHT = 300;

/* ascent: what Bodymovin exports as a font's ascent, the capital height in
 * 1/100 em; lottie-web and our engines put a paragraph's first baseline
 * that far below the top of its box. */
const FONTS = {
  sans: { fName: 'DejaVuSans', fFamily: 'DejaVu Sans', fStyle: 'Book', ascent: 72.9 },
  serif: { fName: 'LiberationSerif', fFamily: 'Liberation Serif', fStyle: 'Regular', ascent: 65.5 },
  arabic: { fName: 'NotoSansArabic-Regular', fFamily: 'Noto Sans Arabic', fStyle: 'Regular', ascent: 71.4 },
  devanagari: {
    fName: 'NotoSansDevanagari-Regular', fFamily: 'Noto Sans Devanagari', fStyle: 'Regular', ascent: 62.2,
  },
};

const BLACK = [0, 0, 0];
const BLUE = [0.1, 0.2, 0.6];
const RED = [0.75, 0.1, 0.1];

const PARAGRAPH =
  'Framewright renders Lottie templates to video. Each job names a template, the texts and ' +
  'images to put in it and the frames to draw; the worker lays the text out and hands every ' +
  'frame to the encoder.';

const JUSTIFICATIONS = [
  'left', 'right', 'centre', 'justify_last_left', 'justify_last_right', 'justify_last_centre', 'justify_all',
];

function still(value) {
  return { a: 0, k: value };
}

function transform(x, y) {
  return { o: still(100), r: still(0), p: still([x, y, 0]), a: still([0, 0, 0]), s: still([100, 100, 100]) };
}

function background(index) {
  return {
    ddd: 0, ind: index, ty: 1, nm: 'white', sr: 1,
    ks: { o: still(100), r: still(0), p: still([WIDTH / 2, HEIGHT / 2, 0]), a: still([WIDTH / 2, HEIGHT / 2, 0]),
      s: still([100, 100, 100]) },
    ao: 0, sw: WIDTH, sh: HEIGHT, sc: '#ffffff', ip: 0, op: 1, st: 0, bm: 0,
  };
}

/* A text layer at (x, y) with one text document: doc holds the keys that
 * differ from the defaults below. */
function textLayer(index, name, x, y, font, doc) {
  const s = { s: 24, f: font.fName, t: '', j: 0, tr: 0, lh: 28.8, ls: 0, fc: BLACK, ...doc };
  return {
    ddd: 0, ind: index, ty: 5, nm: name, sr: 1, ks: transform(x, y), ao: 0, ip: 0, op: 1, st: 0, bm: 0,
    t: { d: { k: [{ t: 0, s }] }, p: {}, m: { g: 1, a: still([0, 0]) }, a: [] },
  };
}

function animation(name, fonts, textLayers) {
  const layers = textLayers.map((make, i) => make(i + 1));
  layers.push(background(layers.length + 1));
  return {
    v: '5.7.4', fr: 30, ip: 0, op: 1, w: WIDTH, h: HEIGHT, nm: name, ddd: 0, assets: [],
    fonts: { list: fonts.map((f) => ({ ...f, origin: 0 })) }, layers,
  };
}

/* A paragraph in a 540x260 box whose top-left corner is 30, 20. */
function paragraph(font, doc) {
  return (i) => textLayer(i, 'paragraph', WIDTH / 2, HEIGHT / 2, font,
    { s: 22, lh: 30, sz: [540, 260], ps: [-270, -130], ...doc });
}

const cases = {};

JUSTIFICATIONS.forEach((name, j) => {
  cases[`box_${j}_${name}`] = animation(`box ${name}`, [FONTS.sans], [paragraph(FONTS.sans, { t: PARAGRAPH, j })]);
});

const POINT_LINES = 'Point text, line one\rsecond line, longer than it\rthird';
cases.point_left_tracking = animation('point left', [FONTS.serif], [
  (i) => textLayer(i, 'point', 40, 80, FONTS.serif, { s: 34, t: POINT_LINES, j: 0, tr: 60, lh: 60, fc: BLUE }),
]);
cases.point_centre_tracking = animation('point centre', [FONTS.serif], [
  (i) => textLayer(i, 'point', 300, 80, FONTS.serif, { s: 34, t: POINT_LINES, j: 2, tr: -30, lh: 44 }),
]);
cases.point_right_tracking = animation('point right', [FONTS.sans], [
  (i) => textLayer(i, 'point', 560, 80, FONTS.sans, { s: 30, t: POINT_LINES, j: 1, tr: 120, lh: 70, fc: RED }),
]);

cases.arabic_line = animation('arabic line', [FONTS.arabic], [
  (i) => textLayer(i, 'arabic', 300, 170, FONTS.arabic, { s: 38, t: 'مرحبا بالعالم من فريم رايت', j: 2 }),
]);
/* DejaVu Sans has Arabic and Latin letters, so neither side needs another
 * font: the case measures bidirectional order and line breaking only. */
cases.arabic_english_paragraph = animation('arabic and english', [FONTS.sans], [
  paragraph(FONTS.sans, {
    s: 26, lh: 38, j: 1,
    t: 'يصنع Framewright الفيديو من قوالب Lottie. The template says مرحبا بكم and the job puts ' +
      'اسم العميل in its place, ثم يرسم العامل كل إطار.',
  }),
]);

cases.devanagari_line = animation('devanagari line', [FONTS.devanagari], [
  /* Conjuncts: क्ष, त्र, द्य, न्द, स्त, र्म (a reph). */
  (i) => textLayer(i, 'hindi', 300, 170, FONTS.devanagari, { s: 34, t: 'क्षत्रिय विद्यार्थी हिन्दी में नमस्ते धर्म', j: 2 }),
]);

cases.all_caps = animation('all caps', [FONTS.sans], [
  (i) => textLayer(i, 'caps', 40, 130, FONTS.sans, { s: 36, t: 'All caps: Quick brown fox', ca: 1, fc: BLUE }),
  (i) => textLayer(i, 'plain', 40, 210, FONTS.sans, { s: 36, t: 'Not caps: Quick brown fox' }),
]);

cases.baseline_shift = animation('baseline shift', [FONTS.sans], [
  (i) => textLayer(i, 'raised', 320, 170, FONTS.sans, { s: 40, t: 'raised 18', ls: 18, fc: RED }),
  (i) => textLayer(i, 'lowered', 40, 170, FONTS.sans, { s: 40, t: 'lowered 12', ls: -12 }),
]);

for (const [name, doc] of Object.entries(cases))
  fs.writeFileSync(path.join(__dirname, `${name}.json`), JSON.stringify(doc, null, 1) + '\n');
process.stdout.write(`make_cases.js: ${Object.keys(cases).length} cases written\n`);
