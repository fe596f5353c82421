"""url_policy_test.py - the server and the URLs its callers choose.

 (a) with the default policy (FRAMEWRIGHT_URL_ALLOW unset) every internal address a job names, in
     any spelling, is INVALID_ARGUMENT over gRPC and 400 over REST, with the field; a refused URL
     is never fetched (the asset server on loopback sees no request); the server keeps serving;
 (b) FRAMEWRIGHT_URL_ALLOW=127.0.0.1/32: an asset on 127.0.0.1 that redirects to 127.0.0.2 is
     refused at submission (the probe follows it) and, with the probe off, fails the job at the
     worker with an error naming the asset;
 (c) a bad FRAMEWRIGHT_URL_ALLOW stops the server at start, naming the entry."""

import http.client
import http.server
import json
import subprocess
import threading
import urllib.parse

import grpc

import fwe2e

T = fwe2e.Checks()


class Assets:
    """HTTP on one loopback address: /ok is a file, /to/<url> redirects to <url>; every request is
    kept in .seen."""

    def __init__(self, host):
        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.path)
                if self.path.startswith("/to/"):
                    self.send_response(302)
                    self.send_header("Location", self.path[4:])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b"static file\n"
                self.send_response(200 if self.path == "/ok" else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = "http://%s:%d" % (host, self.port)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def refused_grpc(c, name, body, field, why):
    try:
        j = c.create_job(body)
        T.check(name, False, "created job %s (%s)" % (j.id, j.status))
    except grpc.RpcError as e:
        d = e.details() or ""
        T.check(name, e.code() == grpc.StatusCode.INVALID_ARGUMENT and field in d and why in d,
                "%s %s" % (e.code(), d))


def rest(base, key, method, path, body):
    u = urllib.parse.urlsplit(base if "://" in base else "http://" + base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request(method, "/api/v2" + path, body=json.dumps(body).encode(),
                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data.decode("utf-8", "replace")


def default_policy(assets):
    srv = fwe2e.Server(workers=1, env={"FRAMEWRIGHT_URL_ALLOW": None}, extra=("--api", "127.0.0.1:0"))
    api = srv.api or ""
    c = fwe2e.Client(srv.grpc, srv.key)
    try:
        t = c.upload_template(fwe2e.hello_template())
        tid = {"id": t.id}
        port = assets.port

        def static(src):
            return {"template": tid, "assets": [{"type": "static", "src": src}]}

        cases = [
            ("loopback", "http://127.0.0.1:%d/ok" % port, "127.0.0.1 is a loopback"),
            ("decimal", "http://2130706433:%d/ok" % port, "127.0.0.1 is a loopback"),
            ("octal", "http://0177.0.0.1:%d/ok" % port, "127.0.0.1 is a loopback"),
            ("short", "http://127.1:%d/ok" % port, "127.0.0.1 is a loopback"),
            ("IPv4-mapped IPv6", "http://[::ffff:127.0.0.1]:%d/ok" % port, "carries 127.0.0.1"),
            ("IPv6 loopback", "http://[::1]:%d/ok" % port, "::1 is a loopback"),
            ("localhost", "http://localhost:%d/ok" % port, "loopback"),
            ("cloud metadata", "http://169.254.169.254/latest/meta-data/", "link-local"),
            ("private", "http://10.0.0.8/a.png", "private"),
            ("unique-local", "http://[fd12::1]/a.png", "unique-local"),
            ("this network", "http://0.0.0.0:%d/ok" % port, "'this network'"),
            ("file://", "file:///etc/passwd", "only http and https"),
            ("gopher", "gopher://127.0.0.1:%d/" % port, "only http and https"),
        ]
        for kind, url, why in cases:
            refused_grpc(c, "default policy: %s asset refused (%s)" % (kind, url), static(url), "assets[0].src", why)
        refused_grpc(c, "default policy: template.src on cloud metadata refused",
                     {"template": {"src": "http://169.254.169.254/t.json", "composition": "main"}},
                     "template.src", "link-local")
        refused_grpc(c, "default policy: webhook.url on a private address refused",
                     {"template": tid, "webhook": {"url": "http://192.168.1.20/hook"}}, "webhook.url", "private")
        refused_grpc(c, "default policy: an upload bucket on a private endpoint refused",
                     {"template": tid, "upload": {"provider": "s3", "params": {
                         "endpoint": "http://172.20.0.5:9000", "bucket": "b", "region": "us-east-1",
                         "access_key_id": "k", "access_key_secret": "s"}}},
                     "upload.params.endpoint", "private")
        T.check("no refused URL reached the asset server", assets.seen == [], assets.seen)

        status, body = rest(api, srv.key, "POST", "/jobs",
                            {"template": tid, "assets": [{"type": "static", "src": "http://127.0.0.1:%d/ok" % port}]})
        T.check("REST: a loopback asset is 400 naming the field and the reason",
                status == 400 and "assets[0].src" in body and "loopback" in body, "%d %s" % (status, body))
        status, body = rest(api, srv.key, "POST", "/jobs",
                            {"template": tid, "webhook": {"url": "http://[::ffff:a9fe:a9fe]/latest"}})
        T.check("REST: a webhook to metadata through IPv4-mapped IPv6 is 400",
                status == 400 and "webhook.url" in body and "169.254.169.254" in body, "%d %s" % (status, body))

        j = c.create_job({"template": tid, "assets": fwe2e.hello_assets()[:1]})
        done = c.wait_status(j.id, ("finished",), 600)
        T.check("the server still renders a job without URLs", done is not None and done.status == "finished",
                done.status if done else None)
    finally:
        c.close()
        srv.stop()


def allowed_then_redirected(assets, other):
    via = "%s/to/%s/ok" % (assets.base, other.base)
    env = {"FRAMEWRIGHT_URL_ALLOW": "127.0.0.1/32"}
    srv = fwe2e.Server(workers=1, env=env)
    c = fwe2e.Client(srv.grpc, srv.key)
    try:
        t = c.upload_template(fwe2e.hello_template())
        tid = {"id": t.id}
        j = c.create_job({"template": tid, "assets": [{"type": "static", "src": assets.base + "/ok"}]})
        done = c.wait_status(j.id, ("finished",), 600)
        T.check("127.0.0.1/32 allowed: an asset on 127.0.0.1 is fetched and the job finishes",
                done is not None and done.status == "finished", done.status if done else None)
        refused_grpc(c, "127.0.0.1/32 allowed: a redirect to 127.0.0.2 is refused at submission",
                     {"template": tid, "assets": [{"type": "static", "src": via}]}, "assets[0].src",
                     "127.0.0.2 is a loopback address")
        refused_grpc(c, "127.0.0.1/32 allowed: 127.0.0.2 named directly is refused",
                     {"template": tid, "assets": [{"type": "static", "src": other.base + "/ok"}]}, "assets[0].src",
                     "127.0.0.2 is a loopback address")
    finally:
        c.close()
        srv.stop()
    T.check("127.0.0.2 was never asked for anything", other.seen == [], other.seen)

    srv = fwe2e.Server(workers=1, env=dict(env, FRAMEWRIGHT_PROBE_MS="0"))
    c = fwe2e.Client(srv.grpc, srv.key)
    try:
        t = c.upload_template(fwe2e.hello_template())
        j = c.create_job({"template": {"id": t.id}, "assets": [{"type": "static", "src": via}]})
        done = c.wait_status(j.id, ("error",), 600)
        err = done.stats.error.value if done is not None and done.stats.HasField("error") else ""
        T.check("probe off: the worker refuses the redirect and the job's error names the asset",
                done is not None and done.status == "error" and "assets[0].src" in err and "127.0.0.2" in err,
                "%s %s" % (done.status if done else None, err))
    finally:
        c.close()
        srv.stop()
    T.check("127.0.0.2 was still never asked for anything", other.seen == [], other.seen)


def bad_setting():
    r = subprocess.run([fwe2e.framewright_bin(), "serve", "--data", fwe2e.tmpdir("fw-bad-"), "--grpc", "127.0.0.1:0",
                        "--http", "127.0.0.1:0"], capture_output=True, text=True, timeout=60,
                       env=dict(fwe2e.os.environ, FRAMEWRIGHT_URL_ALLOW="127.0.0.0/8,10.0.0.0/99"))
    out = r.stdout + r.stderr
    T.check("a bad FRAMEWRIGHT_URL_ALLOW stops serve, naming the entry",
            r.returncode != 0 and "FRAMEWRIGHT_URL_ALLOW" in out and "10.0.0.0/99" in out,
            "%d %s" % (r.returncode, out.strip()))


def main():
    assets = Assets("127.0.0.1")
    other = Assets("127.0.0.2")
    try:
        T.case("default policy", default_policy, assets)
        T.case("allowed, then redirected", allowed_then_redirected, assets, other)
        T.case("bad setting", bad_setting)
    finally:
        assets.close()
        other.close()
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
