// server.js - an S3-compatible server on loopback for Framewright's tests.
//
// Runs s3rver (the @20minutes fork, which checks AWS Signature Version 4 for
// both Authorization headers and presigned URLs) with one key pair given on
// the command line; the library's built-in S3RVER/S3RVER pair is revoked so
// only the test's credentials are accepted. Objects live in a scratch folder.
//
//   node server.js PORT ACCESS_KEY_ID SECRET_ACCESS_KEY DATA_DIR [REQUEST_LOG]
//
// REQUEST_LOG, when given, gets one line per answered request, "METHOD
// /path?query STATUS", so a test can see what a client actually sent (that
// a big file went up as a multipart upload, for instance).
//
// Listens on 127.0.0.1, or on the address FW_S3_ADDRESS names (a test's
// private bridge, say). Prints "ready http://ADDRESS:PORT" once listening
// (PORT 0: any free one); exits on SIGTERM/SIGINT, and once process
// FW_S3_OWNER_PID (when set) is gone.
'use strict';

const fs = require('fs');
const S3rver = require('@20minutes/s3rver');
const AWSAccount = require('@20minutes/s3rver/lib/models/account');

const [port, accessKeyId, secretAccessKey, directory, requestLog] = process.argv.slice(2);
if (!port || !accessKeyId || !secretAccessKey || !directory) {
  console.error('usage: node server.js PORT ACCESS_KEY_ID SECRET_ACCESS_KEY DATA_DIR');
  process.exit(2);
}

AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);

fs.mkdirSync(directory, { recursive: true });
const server = new S3rver({
  address: process.env.FW_S3_ADDRESS || '127.0.0.1',
  port: Number(port),
  directory,
  silent: true,
  vhostBuckets: false, // path-style only: loopback has no bucket host names
  allowMismatchedSignatures: false,
});

server.run().then(
  ({ address, port: bound }) => {
    if (requestLog) {
      const log = fs.createWriteStream(requestLog, { flags: 'a' });
      server.httpServer.on('request', (req, res) => {
        res.on('finish', () => log.write(`${req.method} ${req.url} ${res.statusCode}\n`));
      });
    }
    console.log(`ready http://${address}:${bound}`);
  },
  (err) => {
    console.error(`s3 test server: ${err.message}`);
    process.exit(1);
  },
);

const stop = () => {
  setTimeout(() => process.exit(0), 2000).unref();
  server.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

const owner = Number(process.env.FW_S3_OWNER_PID || 0);
if (owner > 0) {
  setInterval(() => {
    try {
      process.kill(owner, 0);
    } catch (err) {
      if (err.code === 'ESRCH') stop();
    }
  }, 1000).unref();
}
