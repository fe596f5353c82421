// client.js - a Framewright client written with Node's @grpc/grpc-js and
// @grpc/proto-loader, which read proto/*.proto at run time (no generated
// code): it uploads a template, submits a job, watches it to its end and
// downloads the output. node_test.py starts the server and checks what this
// prints (one JSON object on the last line) and the file it saves.
//
//   FW_GRPC      host:port of framewright serve
//   FW_KEY       an API key
//   FW_ROOT      the folder that holds proto/ (the workspace root)
//   FW_TEMPLATE  the Lottie JSON to upload
//   FW_JOB       a job JSON whose assets are used
//   FW_OUT       where to save the output
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(name + ' is not set');
  return v;
};

const root = env('FW_ROOT');
const files = fs.readdirSync(path.join(root, 'proto')).filter((f) => f.endsWith('.proto')).map((f) => 'proto/' + f);
const definition = protoLoader.loadSync(files, {
  includeDirs: [root, '/usr/include'],
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const v1 = grpc.loadPackageDefinition(definition).framewright.v1;
const creds = grpc.credentials.createInsecure();
const templates = new v1.TemplateService(env('FW_GRPC'), creds);
const jobs = new v1.JobService(env('FW_GRPC'), creds);

function md() {
  const m = new grpc.Metadata();
  m.set('authorization', 'Bearer ' + env('FW_KEY'));
  return m;
}

function deadline(seconds) {
  return { deadline: Date.now() + seconds * 1000 };
}

// JSON -> google.protobuf.Value as proto-loader's objects spell it.
function toValue(x) {
  if (x === null) return { nullValue: 'NULL_VALUE' };
  if (Array.isArray(x)) return { listValue: { values: x.map(toValue) } };
  switch (typeof x) {
    case 'number': return { numberValue: x };
    case 'string': return { stringValue: x };
    case 'boolean': return { boolValue: x };
    default: {
      const fields = {};
      for (const [k, v] of Object.entries(x)) fields[k] = toValue(v);
      return { structValue: { fields } };
    }
  }
}

function unary(client, method, req, seconds = 60) {
  return new Promise((resolve, reject) => {
    client[method](req, md(), deadline(seconds), (err, res) => (err ? reject(err) : resolve(res)));
  });
}

function upload(id, data) {
  return new Promise((resolve, reject) => {
    const call = templates.UploadTemplate(md(), deadline(120), (err, res) => (err ? reject(err) : resolve(res)));
    call.write({ id });
    for (let off = 0; off < data.length; off += 16384) call.write({ data: data.subarray(off, off + 16384) });
    call.end();
  });
}

function watch(id, seconds) {
  return new Promise((resolve, reject) => {
    const events = [];
    const call = jobs.WatchJob({ id }, md(), deadline(seconds));
    call.on('data', (ev) => events.push({ status: ev.job.status, progress: ev.job.progress, stage: ev.stage }));
    call.on('error', reject);
    call.on('end', () => resolve(events));
  });
}

function download(url, file) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      const out = fs.createWriteStream(file);
      res.pipe(out);
      out.on('finish', () => out.close(() => resolve(res.statusCode)));
      out.on('error', reject);
    }).on('error', reject);
  });
}

async function main() {
  const data = fs.readFileSync(env('FW_TEMPLATE'));
  const created = await unary(templates, 'CreateTemplate', { type: 'json', displayName: 'node e2e' });
  const tpl = await upload(created.id, data);
  const job = JSON.parse(fs.readFileSync(env('FW_JOB'), 'utf8'));
  const assets = job.assets.map((a) => ({ ...a, value: a.value === undefined ? undefined : toValue(a.value) }));
  const submitted = await unary(jobs, 'CreateJob', {
    template: { id: tpl.id },
    assets,
    settings: { type: 'video', codec: 'video_h264_vbr_5mbps' },
  });
  const events = await watch(submitted.id, 300);
  const done = await unary(jobs, 'GetJob', { id: submitted.id });
  const url = done.outputUrl ? done.outputUrl.value : '';
  const httpStatus = url ? await download(url, env('FW_OUT')) : 0;
  let notFound = '';
  try {
    await unary(jobs, 'GetJob', { id: '01J00000000000000000000000' });
  } catch (e) {
    notFound = grpc.status[e.code];
  }
  console.log(JSON.stringify({
    templateStatus: tpl.status,
    templateSize: Number(tpl.size),
    jobId: submitted.id,
    submittedStatus: submitted.status,
    events,
    finalStatus: done.status,
    progress: done.progress,
    outputUrl: url,
    httpStatus,
    unknownJob: notFound,
  }));
}

main().then(
  () => {
    templates.close();
    jobs.close();
  },
  (err) => {
    console.log(JSON.stringify({ error: String(err && err.stack ? err.stack : err), code: err && err.code }));
    process.exit(1);
  },
);
