"""webhooks_e2e.py - the issue's webhook proof on a real `framewright serve`
with a real worker and a real HTTP receiver (http.server on loopback, in a
thread) that checks every call's Standard Webhooks signature with its own
HMAC-SHA256, keyed with the team secret read through `framewright keys
webhook-secret`, and answers 500 twice before 200:
  - a job with a webhook (url, custom headers, data) finishes: the receiver
    gets exactly one verified delivery, after two failed calls, whose body is
    the job (id, status, outputUrl, ...) with the event and the data;
  - `custom: true`: the body is the data alone;
  - the server is stopped (SIGTERM) after the first failed call and started
    again on the same data folder and database: the delivery still arrives,
    once, and ListWebhookDeliveries shows the three attempts.
Retries are made quick with FRAMEWRIGHT_WEBHOOK_RETRY_BASE_MS. On SQLite,
and on PostgreSQL when FW_TEST_PG_URL is set."""

import base64
import hashlib
import hmac
import http.server
import json
import os
import threading
import time

import proofs  # first: it finds fwe2e
import fwe2e

T = fwe2e.Checks()
RENDER_TIMEOUT = 300


class Receiver:
    """A webhook receiver on 127.0.0.1 answering the statuses of `script`
    in turn (then 200), recording every call and whether its signature
    checks out with `secret`."""

    def __init__(self, script, secret=None):
        self.script = list(script)
        self.secret = secret
        self.calls = []
        self.cond = threading.Condition()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer.cond:
                    status = outer.script.pop(0) if outer.script else 200
                    outer.calls.append({"method": self.command, "path": self.path,
                                        "headers": {k.lower(): v for k, v in self.headers.items()},
                                        "body": body, "status": status, "at": time.monotonic(),
                                        "verified": outer.verify(self.headers, body)})
                    outer.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_PUT = do_GET = do_DELETE = handle_any

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d/hooks/framewright" % self.httpd.server_address[1]

    def verify(self, headers, body):
        """Standard Webhooks: v1,base64(HMAC-SHA256(key, id.timestamp.body))
        with key the base64-decoded part of whsec_..., against any of the
        space-separated signatures; and a timestamp within five minutes."""
        if not self.secret:
            return False
        wid, ts, sigs = headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature")
        if not (wid and ts and sigs) or abs(time.time() - int(ts)) > 300:
            return False
        key = base64.b64decode(self.secret[len("whsec_"):])
        want = base64.b64encode(hmac.new(key, b"%s.%s.%s" % (wid.encode(), ts.encode(), body),
                                         hashlib.sha256).digest()).decode()
        return any(s.startswith("v1,") and hmac.compare_digest(s[3:], want) for s in sigs.split())

    def wait_calls(self, n, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.calls) < n and time.monotonic() < deadline:
                self.cond.wait(deadline - time.monotonic())
            return list(self.calls)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def delivered(calls):
    return [x for x in calls if x["status"] == 200]


def deliveries(c, job_id):
    return c.jobs.ListWebhookDeliveries(c.job_pb2.GetJobRequest(id=job_id), metadata=c.md(), timeout=30).deliveries


DATA = {"campaign": "spring-2025", "recipient": {"name": "Ada", "tier": 3}, "tags": ["a", "b"]}
HEADERS = {"x-proof-token": "tok-123", "x-campaign": "spring"}


def retried(label, srv, c, t, secret):
    rx = Receiver([500, 500], secret)
    try:
        job = c.create_job(proofs.tiny_job(t, webhook={"url": rx.url, "headers": HEADERS, "data": DATA}))
        done = c.wait_status(job.id, ("finished",), RENDER_TIMEOUT)
        T.check(label + ": the job finishes", done.status == "finished", done.status)
        calls = rx.wait_calls(3, 60)
        time.sleep(3)  # several backoffs more: nothing else may come
        calls = list(rx.calls)
        T.check(label + ": three calls: 500, 500, 200", [x["status"] for x in calls] == [500, 500, 200],
                [x["status"] for x in calls])
        T.check(label + ": exactly one delivery answered 200", len(delivered(calls)) == 1, len(delivered(calls)))
        T.check(label + ": every call's signature verifies with the team secret", all(x["verified"] for x in calls),
                [x["headers"].get("webhook-signature") for x in calls])
        T.check(label + ": the same webhook-id on every call",
                len({x["headers"].get("webhook-id") for x in calls}) == 1, [x["headers"].get("webhook-id")
                                                                           for x in calls])
        gaps = [calls[i + 1]["at"] - calls[i]["at"] for i in range(len(calls) - 1)]
        T.check(label + ": retries back off: 0.7 s then 1.4 s, less up to a quarter",
                len(gaps) == 2 and gaps[0] >= 0.5 and gaps[1] >= 1.0 and gaps[1] > gaps[0] * 1.2,
                [round(g, 2) for g in gaps])
        ok = delivered(calls)[0] if delivered(calls) else None
        body = json.loads(ok["body"]) if ok else {}
        print("delivered body:", body, flush=True)
        T.check(label + ": POST to the webhook's url", ok and ok["method"] == "POST" and ok["path"] == "/hooks/framewright",
                ok and (ok["method"], ok["path"]))
        T.check(label + ": the custom headers and JSON content type",
                ok and all(ok["headers"].get(k) == v for k, v in HEADERS.items()) and
                ok["headers"].get("content-type", "").startswith("application/json"), ok and ok["headers"])
        T.check(label + ": the body is the job: id, status, outputUrl, template",
                body.get("id") == job.id and body.get("status") == "finished" and
                body.get("outputUrl") == done.output_url.value and body.get("templateId") == t, body)
        T.check(label + ": ... with event job.finished and the data", body.get("event") == "job.finished" and
                body.get("data") == DATA, (body.get("event"), body.get("data")))
        d = deliveries(c, job.id)
        T.check(label + ": ListWebhookDeliveries: one job.finished delivery, delivered",
                len(d) == 1 and (d[0].event, d[0].status) == ("job.finished", "delivered"),
                [(x.event, x.status) for x in d])
        T.check(label + ": ... with attempts 1, 2, 3 answered 500, 500, 200",
                len(d) == 1 and [(a.attempt, a.http_status) for a in d[0].attempts] == [(1, 500), (2, 500), (3, 200)],
                d and [(a.attempt, a.http_status) for a in d[0].attempts])
        T.check(label + ": ... whose id is the webhook-id header",
                len(d) == 1 and ok and d[0].id == ok["headers"].get("webhook-id"), d and d[0].id)
    finally:
        rx.close()


def custom(label, srv, c, t, secret):
    rx = Receiver([], secret)
    try:
        job = c.create_job(proofs.tiny_job(t, webhook={"url": rx.url, "data": DATA, "custom": True,
                                                       "method": "PUT"}))
        done = c.wait_status(job.id, ("finished",), RENDER_TIMEOUT)
        T.check(label + ": custom: the job finishes", done.status == "finished", done.status)
        calls = rx.wait_calls(1, 60)
        time.sleep(1)
        calls = list(rx.calls)
        T.check(label + ": custom: one call, verified, PUT", len(calls) == 1 and calls[0]["verified"] and
                calls[0]["method"] == "PUT", [(x["method"], x["verified"]) for x in calls])
        body = json.loads(calls[0]["body"]) if calls else None
        T.check(label + ": custom: the body is the data alone", body == DATA, body)
    finally:
        rx.close()


def restarted(label, database):
    # Retries 4 s apart at first (3 s at the least, with jitter): time for a
    # stop and a start between the first and the second call.
    srv = proofs.Serve(workers=1, database=database, env={"FRAMEWRIGHT_WEBHOOK_RETRY_BASE_MS": "4000"},
                       name="restart-" + label)
    c = fwe2e.Client(srv.grpc, srv.key)
    rx = Receiver([500, 500], srv.webhook_secret("default"))
    c2 = None
    try:
        t = c.upload_template(proofs.tiny_template(), name="tiny").id
        job = c.create_job(proofs.tiny_job(t, webhook={"url": rx.url, "data": DATA}))
        first = rx.wait_calls(1, RENDER_TIMEOUT)
        T.check(label + ": restart: the first call came (and got 500)", len(first) == 1 and first[0]["status"] == 500,
                [x["status"] for x in first])
        c.close()
        t_stop = time.monotonic()
        rc = srv.stop()
        T.check(label + ": restart: serve stops on SIGTERM", rc == 0, rc)
        stopped_calls = len(rx.calls)
        srv.start()
        t_start = time.monotonic()
        print("%s: restart: stopped and started in %.1f s" % (label, t_start - t_stop), flush=True)
        c2 = fwe2e.Client(srv.grpc, srv.key)
        calls = rx.wait_calls(3, 120)
        time.sleep(5)
        calls = list(rx.calls)
        T.check(label + ": restart: no call while stopped", stopped_calls == 1, stopped_calls)
        T.check(label + ": restart: calls 500, 500, 200", [x["status"] for x in calls] == [500, 500, 200],
                [x["status"] for x in calls])
        T.check(label + ": restart: the later calls came from the new server",
                len(calls) == 3 and all(x["at"] > t_start for x in calls[1:]),
                [round(x["at"] - t_start, 2) for x in calls])
        T.check(label + ": restart: delivered once, verified, same webhook-id",
                len(delivered(calls)) == 1 and all(x["verified"] for x in calls) and
                len({x["headers"].get("webhook-id") for x in calls}) == 1, calls)
        body = json.loads(delivered(calls)[0]["body"]) if delivered(calls) else {}
        T.check(label + ": restart: the body is the finished job with the data",
                body.get("id") == job.id and body.get("status") == "finished" and body.get("data") == DATA, body)
        d = deliveries(c2, job.id)
        T.check(label + ": restart: ListWebhookDeliveries shows 3 attempts, delivered",
                len(d) == 1 and d[0].status == "delivered" and
                [(a.attempt, a.http_status) for a in d[0].attempts] == [(1, 500), (2, 500), (3, 200)],
                [(x.status, [(a.attempt, a.http_status) for a in x.attempts]) for x in d])
    finally:
        rx.close()
        if c2:
            c2.close()
        rc = srv.stop()
        T.check(label + ": restart: serve stops cleanly at the end", rc == 0, rc)


def run_store(label, database):
    srv = proofs.Serve(workers=1, database=database, env={"FRAMEWRIGHT_WEBHOOK_RETRY_BASE_MS": "700"},
                       name="serve-" + label)
    c = fwe2e.Client(srv.grpc, srv.key)
    try:
        secret = srv.webhook_secret("default")
        T.check(label + ": keys webhook-secret prints a whsec_ secret",
                secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24, secret[:8])
        T.check(label + ": ... the same one each time", srv.webhook_secret("default") == secret)
        t = c.upload_template(proofs.tiny_template(), name="tiny").id
        T.case(label + ": retried delivery", retried, label, srv, c, t, secret)
        T.case(label + ": custom body", custom, label, srv, c, t, secret)
    finally:
        c.close()
        rc = srv.stop()
        T.check(label + ": serve stops cleanly", rc == 0, rc)


def main():
    for label, database in proofs.stores():
        T.case(label, run_store, label, database)
    # The restart on a store of its own: SQLite in a new data folder, and a
    # new PostgreSQL database.
    T.case("sqlite: restart between attempts", restarted, "sqlite", None)
    admin = os.environ.get("FW_TEST_PG_URL")
    if admin:
        db = fwe2e.FreshDatabase(admin, prefix="fwproof_")
        try:
            T.case("postgres: restart between attempts", restarted, "postgres", db.url)
        finally:
            db.close()
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
