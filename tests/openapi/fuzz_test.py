"""fuzz_test.py - requests generated from Nexrender's OpenAPI (beside this
file), sent to a real `framewright serve --api` on loopback: for every
operation, values that follow the schemas (random and boundary), then
mutations of them (wrong types, missing required fields, nulls, huge
strings, unknown fields, bad JSON, odd ids and query values, broken
multipart). Bounded by FW_OAPI_FUZZ_REQUESTS (default 3000) and
FW_OAPI_FUZZ_SECONDS (default 240), with a fixed seed (FW_OAPI_FUZZ_SEED).

Checks: no answer is 5xx, every error body is {error} or {error,
details[{field, message}]}, the server still answers afterwards, and it
exits 0 on SIGTERM with no sanitizer report."""

import json
import os
import random
import time
import traceback
import urllib.parse

import oapi

import fwe2e  # noqa: E402 - after oapi, which finds it

T = fwe2e.Checks()
DOC = oapi.load()
V = oapi.Validator(DOC)
COUNT = int(os.environ.get("FW_OAPI_FUZZ_REQUESTS", "3000"))
SECONDS = float(os.environ.get("FW_OAPI_FUZZ_SECONDS", "240"))
TRACE = os.environ.get("FW_OAPI_FUZZ_TRACE") == "1"
RNG = random.Random(int(os.environ.get("FW_OAPI_FUZZ_SEED", "20250505")))

STRINGS = ["", "a", " ", "main", "title", "0" * 26, "01J0000000000000000000000Z", "é中文🎬", "\u0000", "../../etc/passwd",
           "%00", "${secrets.NOPE}", "${secret.X}", "null", "true", "-1", "1e309", "<script>", "a" * 300,
           "2024-02-30T25:61:61Z", "2024-01-01T00:00:00Z", "http://127.0.0.1:1/x.mp4", "file:///etc/passwd",
           "data:image/png;base64,AAAA"]
INTS = [0, 1, -1, 2, 255, 1000, 1001, 2 ** 31 - 1, 2 ** 31, -2 ** 31 - 1, 2 ** 53, 2 ** 63, -2 ** 63 - 1, 10 ** 30]
NUMBERS = [0.0, -0.0, 0.5, -1.5, 1e308, -1e308, 1e-320, 100.0]


def huge():
    return RNG.choice(["x", "é", "🎬", "\\", "\""]) * RNG.choice([4096, 65536, 1 << 20])


class Gen:
    """Values for a schema: valid ones, then mutated ones."""

    def __init__(self, validator, known):
        self.v = validator
        self.known = known  # ids that exist, by kind

    def resolve(self, s):
        while "$ref" in s:
            s = self.v.resolve(s["$ref"])
        return s

    def valid(self, s, depth=0, name=""):
        s = self.resolve(s)
        if "oneOf" in s:
            return self.valid(RNG.choice(s["oneOf"]), depth, name)
        if "enum" in s:
            return RNG.choice(s["enum"])
        t = s.get("type", RNG.choice(["string", "object"]))
        if t == "object":
            out = {}
            props = s.get("properties", {})
            for k, sub in props.items():
                if k in s.get("required", []) or RNG.random() < 0.6:
                    out[k] = self.valid(sub, depth + 1, k)
            return out
        if t == "array":
            n = RNG.choice([0, 1, 2, 3]) if depth < 4 else 0
            if "minItems" in s:
                n = max(n, s["minItems"])
            if "maxItems" in s:
                n = min(n, s["maxItems"])
            return [self.valid(s.get("items", {}), depth + 1, name) for _ in range(n)]
        if t == "integer":
            lo, hi = s.get("minimum", 0), s.get("maximum", 10 ** 6)
            return RNG.choice([lo, hi, RNG.randint(lo, min(hi, lo + 1000))])
        if t == "number":
            return RNG.choice([0, 1, 0.5, 99.9])
        if t == "boolean":
            return RNG.random() < 0.5
        if s.get("format") == "date-time":
            return RNG.choice(["2024-01-01T00:00:00Z", "2099-12-31T23:59:59.999Z", "1970-01-01T00:00:00+00:00"])
        if name == "id" and self.known.get("template"):
            return RNG.choice([self.known["template"], "0" * 26])
        if name == "layerName":
            return RNG.choice(["title", "logo", "bg", "nope"])
        if name == "composition":
            return RNG.choice(["main", "nope", ""])
        return RNG.choice(STRINGS[:12])

    def wrong_type(self, s):
        s = self.resolve(s)
        t = s.get("type")
        choices = [1, -1, 1.5, True, None, "x", [], {}, [1, "a"], {"a": {"b": []}}]
        return RNG.choice([c for c in choices if not oapi._is_type(t, c)] if t else choices)

    def mutate(self, s, value, depth=0):
        """value (made by valid(s)) changed in one random place."""
        s = self.resolve(s)
        if isinstance(value, dict) and value and RNG.random() < 0.7 and depth < 6:
            k = RNG.choice(list(value))
            sub = s.get("properties", {}).get(k, {})
            value = dict(value)
            r = RNG.random()
            if r < 0.2:
                del value[k]  # a missing field (perhaps a required one)
            else:
                value[k] = self.mutate(sub, value[k], depth + 1)
            return value
        if isinstance(value, list) and value and RNG.random() < 0.7 and depth < 6:
            i = RNG.randrange(len(value))
            value = list(value)
            value[i] = self.mutate(s.get("items", {}), value[i], depth + 1)
            return value
        r = RNG.random()
        if r < 0.35:
            return self.wrong_type(s)
        if r < 0.5:
            return huge()
        if r < 0.6:
            return None
        if r < 0.75:
            return RNG.choice(INTS + NUMBERS)
        if r < 0.85:
            extra = dict(value) if isinstance(value, dict) else {}
            extra[RNG.choice(["unknownField", "__proto__", "", "a" * 200, "assets"])] = RNG.choice(
                [1, "x", None, {"nested": [1, 2]}])
            return extra
        return RNG.choice(STRINGS)


def deep(n):
    return "[" * n + "]" * n


def bad_json(valid_text):
    r = RNG.random()
    if r < 0.25 and len(valid_text) > 2:
        return valid_text[:RNG.randrange(1, len(valid_text))]
    if r < 0.4:
        return RNG.choice(["", "{", "}", "null", "[]", "\"x\"", "1", "{'a': 1}", "{\"a\":}", "NaN", "{\"a\": 1,}",
                           "\ufeff{}", "{\"a\": \"\\ud800\"}", "{\"template\": {\"id\": 1e999}}"])
    if r < 0.5:
        return deep(RNG.choice([64, 1000, 100000]))
    if r < 0.6:
        return valid_text.replace("\"", "'", 1)
    if r < 0.7:
        return valid_text + RNG.choice([",", "}", " x", "\x00"])
    if r < 0.8:
        b = bytearray(valid_text.encode())
        for _ in range(RNG.randint(1, 4)):
            if b:
                b[RNG.randrange(len(b))] = RNG.randrange(256)
        return bytes(b)
    return "{\"" + "k" * RNG.choice([10, 70000]) + "\": " + "1" * RNG.choice([5, 400]) + "}"


def odd_id(known):
    return RNG.choice([known or "x", "0" * 26, "a", "a" * 127, "a" * 128, "a" * 5000, "%2F", "%00", "..", "%2e%2e",
                       "%ZZ", "id%20with%20space", urllib.parse.quote("é中文"), "-1", "null", "%25", "a;b", "{id}"])


def query_value(p):
    s = p.get("schema", {})
    r = RNG.random()
    if r < 0.4:
        if "enum" in s:
            return RNG.choice(s["enum"])
        if s.get("type") == "integer":
            return str(RNG.choice([s.get("minimum", 0), s.get("maximum", 100), 10, 1]))
        if s.get("format") == "date-time":
            return RNG.choice(["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.123+02:00"])
        return RNG.choice(["finished", "queued", "a,b", "error"])
    return RNG.choice(["", "-1", "0", "abc", "1.5", str(2 ** 63), "9" * 40, "%00", "é", "a" * 3000, "2024-13-45",
                       "true", "finished,queued", "%FF", "+", "&", "=", "x" * 9000])


def multipart(rng_font):
    boundary = "b" + str(RNG.randrange(10 ** 9))
    parts = []
    if RNG.random() < 0.7:
        parts.append("--%s\r\nContent-Disposition: form-data; name=\"familyName\"\r\n\r\n%s\r\n" %
                     (boundary, RNG.choice(STRINGS[:12])))
    if RNG.random() < 0.8:
        data = rng_font()
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                      "Content-Type: font/ttf\r\n\r\n" % (boundary, RNG.choice(["font", "file", "x"]),
                                                          RNG.choice(["a.ttf", "", "../x.ttf", "é.otf"]))
                      ).encode("utf-8", "surrogatepass") + data + b"\r\n")
    parts = [p.encode() if isinstance(p, str) else p for p in parts]
    body = b"".join(parts) + ("--%s--\r\n" % boundary).encode()
    r = RNG.random()
    if r < 0.15:
        body = body[:RNG.randrange(1, len(body))]
    ctype = "multipart/form-data; boundary=" + boundary
    if r > 0.9:
        ctype = RNG.choice(["application/json", "multipart/form-data", "text/plain",
                            "multipart/form-data; boundary="])
    return body, ctype


def font_bytes():
    path = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    real = open(path, "rb").read() if os.path.exists(path) else b""
    r = RNG.random()
    if r < 0.2 and real:
        return real
    if r < 0.5 and real:
        b = bytearray(real[:RNG.choice([12, 100, 4096, len(real)])])
        for _ in range(RNG.randint(1, 20)):
            b[RNG.randrange(len(b))] = RNG.randrange(256)
        return bytes(b)
    return bytes(RNG.randrange(256) for _ in range(RNG.choice([0, 1, 64, 2048])))


class Fuzzer:
    def __init__(self, h, known):
        self.h = h
        self.known = known
        self.gen = Gen(V, known)
        self.sent = 0
        self.by_status = {}
        self.bad_status = []
        self.bad_bodies = []

    def send(self, op_key, method, path, body=None, headers=None, key=None):
        if TRACE:
            shown = body if not isinstance(body, (bytes, str)) else body[:200]
            print("-> %s %s %r %r" % (method, path[:200], shown if not isinstance(shown, dict) else
                                      json.dumps(shown)[:300], headers), flush=True)
        try:
            # An answer slower than this is a hang: named as a failure.
            r = self.h.request(method, path, body, headers, key=key, timeout=20)
        except Exception as e:  # noqa: BLE001 - the server dropped us: a failure worth naming
            self.bad_status.append((op_key, method, path[:120], "no answer: %r" % e))
            return None
        self.sent += 1
        self.by_status[r.status] = self.by_status.get(r.status, 0) + 1
        if r.status >= 500:
            self.bad_status.append((op_key, method, path[:120], repr(r)[:300], (body or b"")[:300]))
        elif r.status >= 400:
            why = oapi.error_shape(r.body)
            if why:
                self.bad_bodies.append((op_key, method, path[:120], r.status, why))
        return r

    def one(self, op):
        path_id = None
        if "{id}" in op.path:
            kind = op.path.split("/")[1][:-1]  # templates -> template
            known = self.known.get(kind)
            path_id = known if (known and RNG.random() < 0.4) else odd_id(known)
        path = op.path.replace("{id}", path_id) if path_id else op.path
        query = []
        for p in op.params:
            if p.get("in") == "query" and RNG.random() < 0.5:
                query.append((p["name"], query_value(p)))
        if query:
            path += "?" + "&".join("%s=%s" % (k, v if v.isascii() and RNG.random() < 0.3 else urllib.parse.quote(v, safe=""))
                                   for k, v in query)
        body, headers = None, {}
        if op.body_type == "application/json":
            value = self.gen.valid(op.body_schema)
            r = RNG.random()
            if r < 0.25:
                body = json.dumps(value)
            elif r < 0.75:
                body = json.dumps(self.gen.mutate(op.body_schema, value))
            else:
                body = bad_json(json.dumps(value))
            headers["Content-Type"] = "application/json"
        elif op.body_type == "multipart/form-data":
            body, headers["Content-Type"] = multipart(font_bytes)
        elif op.method == "PUT":  # the upload: template bytes, or not
            body = RNG.choice([b"", fwe2e.hello_template(), b"{}", b"PK\x03\x04" + os.urandom(64), os.urandom(512),
                               b"{\"v\": \"5.7\", \"layers\": 1}"])
            headers["Content-Type"] = "application/octet-stream"
        key = None
        if RNG.random() < 0.05:
            key = RNG.choice([False, "fw_wrong", "x" * 5000, "é"])
        self.send(op.key, op.method, path, body, headers, key)


def setup(h):
    """A template with its bundle, a job and a secret for the valid ids."""
    known = {}
    t = h.request("POST", "/templates", {"type": "json", "displayName": "fuzz"}).json()
    h.request("PUT", "/templates/%s/upload" % t["id"], fwe2e.hello_template(),
              {"Content-Type": "application/octet-stream"})
    known["template"] = t["id"]
    j = h.request("POST", "/jobs", {"template": {"id": t["id"], "composition": "main"}})
    if j.status == 201:
        known["job"] = j.json()["id"]
    h.request("PUT", "/secrets", {"name": "FUZZ", "value": "v"})
    lst = h.request("GET", "/secrets").json()
    if lst:
        known["secret"] = lst[0]["id"]
    return known


def main():
    srv, base = oapi.start_server(workers=0, name="serve-fuzz")
    h = oapi.Http(base, srv.key)
    try:
        known = setup(h)
        T.check("setup: a template and a job exist", "template" in known and "job" in known, known)
        fz = Fuzzer(h, known)
        ops = list(oapi.operations(DOC))
        started = time.monotonic()
        tries = 0
        while tries < COUNT and time.monotonic() - started < SECONDS:
            tries += 1
            fz.one(RNG.choice(ops))
            if fz.sent % 500 == 0:
                print("sent %d (%s)" % (fz.sent, sorted(fz.by_status.items())), flush=True)
        took = time.monotonic() - started
        print("sent %d requests in %.1f s; statuses: %s" % (fz.sent, took, sorted(fz.by_status.items())))
        T.check("at least 1000 requests were sent", fz.sent >= min(COUNT, 1000), fz.sent)
        T.check("no 5xx and no dropped connection", not fz.bad_status, fz.bad_status[:5])
        T.check("every error body is {error} or {error, details[{field, message}]}", not fz.bad_bodies,
                fz.bad_bodies[:5])
        T.check("both sides of the contract were reached: 2xx and 4xx answers",
                any(200 <= s < 300 for s in fz.by_status) and any(400 <= s < 500 for s in fz.by_status),
                fz.by_status)
        h.close()
        r = h.request("GET", "/jobs/" + known["job"])
        T.check("the server still answers afterwards", r.status == 200, r)
        errs = V.errors({"$ref": "#/components/schemas/Job"}, r.json()) if r.status == 200 else ["-"]
        T.check("... with a valid Job", not errs, errs[:5])
    except Exception:  # noqa: BLE001 - a failed setup is a failed test
        traceback.print_exc()
        T.check("the test ran to the end", False, "exception")
    finally:
        h.close()
        code = srv.stop()
        T.check("the server exits 0 on SIGTERM", code == 0, code)
        T.check("no sanitizer report in the server's output", not oapi.sanitizer_report(srv.proc.lines),
                oapi.sanitizer_report(srv.proc.lines)[:5])
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
