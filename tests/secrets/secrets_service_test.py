"""secrets_service_test.py - SecretService through `framewright serve` and
Python's grpcio, the check CreateJob makes of ${secret.NAME} placeholders,
and an upload to the team's own bucket that S3 refuses: the secret values
never appear in an answer, an error or the server's log. (A successful upload
to a real S3-compatible server is tests/proofs/secrets_s3_e2e.py.)"""

import http.server
import json
import threading

import grpc

import teamio

fwe2e = teamio.setup()
T = fwe2e.Checks()
RENDER_TIMEOUT = 300
KEY_ID = "AKIAFRAMEWRIGHTTEST1"
KEY_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"


def secrets_api(c):
    spb, secrets, _, _ = teamio.services(c)
    s = secrets.PutSecret(spb.PutSecretRequest(name="AWS_KEY_ID", value=KEY_ID), metadata=c.md(), timeout=30)
    T.check("PutSecret answers name and id", s.name == "AWS_KEY_ID" and len(s.id) == 26, s)
    T.check("PutSecret answers no value", KEY_ID not in str(s), s)
    secrets.PutSecret(spb.PutSecretRequest(name="AWS_KEY_SECRET", value=KEY_SECRET), metadata=c.md(), timeout=30)
    try:
        secrets.PutSecret(spb.PutSecretRequest(name="AWS_KEY_ID", value="x"), metadata=c.md(), timeout=30)
        T.check("a second PutSecret of a name is refused", False)
    except grpc.RpcError as e:
        T.check("a second PutSecret of a name is ALREADY_EXISTS", e.code() == grpc.StatusCode.ALREADY_EXISTS, e)
    for bad in ("1abc", "a-b", "", "x" * 129):
        try:
            secrets.PutSecret(spb.PutSecretRequest(name=bad, value="v"), metadata=c.md(), timeout=30)
            T.check("name %r refused" % bad, False)
        except grpc.RpcError as e:
            T.check("name %r is INVALID_ARGUMENT on name" % bad[:10],
                    e.code() == grpc.StatusCode.INVALID_ARGUMENT and e.details().startswith("name:"), e.details())
    lst = secrets.ListSecrets(spb.ListSecretsRequest(), metadata=c.md(), timeout=30)
    names = [x.name for x in lst.secrets]
    T.check("ListSecrets lists both names", names == ["AWS_KEY_ID", "AWS_KEY_SECRET"], names)
    T.check("ListSecrets has created times", all(x.created_at.seconds > 0 for x in lst.secrets))
    T.check("ListSecrets shows no value", KEY_ID not in str(lst) and KEY_SECRET not in str(lst))
    secrets.PutSecret(spb.PutSecretRequest(name="TEMP", value="temporary"), metadata=c.md(), timeout=30)
    secrets.DeleteSecret(spb.DeleteSecretRequest(id="TEMP"), metadata=c.md(), timeout=30)
    tid = secrets.PutSecret(spb.PutSecretRequest(name="TEMP2", value="t"), metadata=c.md(), timeout=30).id
    secrets.DeleteSecret(spb.DeleteSecretRequest(id=tid), metadata=c.md(), timeout=30)
    names = [x.name for x in secrets.ListSecrets(spb.ListSecretsRequest(), metadata=c.md(), timeout=30).secrets]
    T.check("DeleteSecret by name and by id", names == ["AWS_KEY_ID", "AWS_KEY_SECRET"], names)
    try:
        secrets.DeleteSecret(spb.DeleteSecretRequest(id="TEMP"), metadata=c.md(), timeout=30)
        T.check("deleting a missing secret is refused", False)
    except grpc.RpcError as e:
        T.check("deleting a missing secret is NOT_FOUND", e.code() == grpc.StatusCode.NOT_FOUND, e)


def upload_block(endpoint, id_ref="${secrets.AWS_KEY_ID}", secret_ref="${secret.AWS_KEY_SECRET}", bucket="outputs"):
    return {"provider": "s3", "prefix": "campaign/", "params": {
        "endpoint": endpoint, "region": "us-east-1", "bucket": bucket, "acl": "public-read",
        "accessKeyId": id_ref, "accessKeySecret": secret_ref}}


def job_body(t, upload=None):
    body = {"template": {"id": t.id}, "assets": fwe2e.hello_assets(),
            "settings": {"type": "image", "frames": 10, "codec": "image_png"}}
    if upload:
        body["upload"] = upload
    return body


def unknown_placeholder(c, t):
    try:
        c.create_job(job_body(t, upload_block("http://127.0.0.1:9", secret_ref="${secret.AWS_KEY}")))
        T.check("a job naming an unknown secret is refused", False)
    except grpc.RpcError as e:
        T.check("unknown secret: INVALID_ARGUMENT", e.code() == grpc.StatusCode.INVALID_ARGUMENT, e)
        T.check("unknown secret: names the field and the secret",
                e.details() == "upload.params.accessKeySecret: no secret 'AWS_KEY'", e.details())
    body = job_body(t)
    body["assets"].append({"type": "image", "layerName": "logo", "src": "https://example.com/${secrets.NOPE}.png"})
    try:
        c.create_job(body)
        T.check("an asset src naming an unknown secret is refused", False)
    except grpc.RpcError as e:
        T.check("unknown secret in an asset src names it",
                e.code() == grpc.StatusCode.INVALID_ARGUMENT and "src: no secret 'NOPE'" in e.details(), e.details())


class FakeS3Refusal(http.server.BaseHTTPRequestHandler):
    """Answers every request the way S3 answers an unknown access key: 403,
    with the key id quoted back in the message."""
    seen = []

    def do_PUT(self):
        FakeS3Refusal.seen.append((self.path, dict(self.headers)))
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        body = ("<?xml version=\"1.0\"?><Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id "
                "you provided does not exist in our records: %s (secret %s)</Message></Error>"
                % (KEY_ID, KEY_SECRET)).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT

    def log_message(self, *args):
        pass


def failed_upload_hides_secrets(srv, c, t):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeS3Refusal)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        endpoint = "http://127.0.0.1:%d" % httpd.server_address[1]
        job = c.create_job(job_body(t, upload_block(endpoint)))
        T.check("upload job: outputUrl is the bucket's object URL",
                job.output_url.value == "%s/outputs/campaign/%s.png" % (endpoint, job.id), job.output_url.value)
        got = c.wait_status(job.id, ("error", "finished"), RENDER_TIMEOUT)
        err = got.stats.error.value
        print("upload error:", err)
        T.check("refused upload: the job ends in error", got.status == "error", got.status)
        T.check("refused upload: the error has S3's text", "InvalidAccessKeyId" in err and "403" in err, err)
        T.check("refused upload: no secret in the error", KEY_ID not in err and KEY_SECRET not in err, err)
        T.check("refused upload: the secrets were sent to S3 (substituted)",
                any(KEY_ID in h.get("Authorization", "") for _, h in FakeS3Refusal.seen), FakeS3Refusal.seen[:1])
        T.check("refused upload: x-amz-acl sent and signed",
                any(h.get("x-amz-acl") == "public-read" and "x-amz-acl" in h.get("Authorization", "")
                    for _, h in FakeS3Refusal.seen), FakeS3Refusal.seen[:1])
        T.check("refused upload: the object key is prefix + id + ext",
                any(p == "/outputs/campaign/%s.png" % job.id for p, _ in FakeS3Refusal.seen),
                [p for p, _ in FakeS3Refusal.seen])
        stored = c.get_job(job.id)
        T.check("GetJob shows no secret", KEY_ID not in str(stored) and KEY_SECRET not in str(stored))
    finally:
        httpd.shutdown()
        httpd.server_close()


def main():
    srv = fwe2e.Server(workers=1)
    c = None
    try:
        c = fwe2e.Client(srv.grpc, srv.key)
        t = c.upload_template(fwe2e.hello_template())
        T.case("secrets API", secrets_api, c)
        T.case("unknown placeholder", unknown_placeholder, c, t)
        T.case("failed upload hides secrets", failed_upload_hides_secrets, srv, c, t)
    finally:
        if c:
            c.close()
        rc = srv.stop()
        T.check("serve stops cleanly", rc == 0, rc)
        log = "\n".join(srv.proc.lines)
        T.check("the server's log has no secret", KEY_ID not in log and KEY_SECRET not in log,
                [l for l in srv.proc.lines if KEY_ID in l or KEY_SECRET in l][:3])
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
