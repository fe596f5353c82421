"""oapi.py - what the OpenAPI tests share: a validator for the subset of
OpenAPI 3.0 that Nexrender's published description uses, the operations of
that file, a plain HTTP client for the gateway (the standard library only),
and starting `framewright serve --api` through tests/e2e/fwe2e.py.

The validator knows $ref, type, nullable, properties, required,
additionalProperties (true, false or a schema), items, enum, oneOf, pattern,
minimum, maximum, minItems, maxItems and format date-time. A keyword it does
not know makes validation fail loudly, so a newer OpenAPI file cannot pass by
being ignored. Errors are paths into the document: "$.stats.createdAt: ...".
"""

import datetime
import http.client
import json
import os
import re
import sys
import urllib.parse

for _base in (os.environ.get("RUNFILES_DIR"), os.environ.get("TEST_SRCDIR")):
    if _base:
        sys.path.insert(0, os.path.join(_base, "framewright", "tests", "e2e"))
        sys.path.insert(0, os.path.join(_base, "framewright", "tests", "batches"))
_here = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(1, os.path.join(_here, "..", "e2e"))
sys.path.insert(1, os.path.join(_here, "..", "batches"))

import fwe2e  # noqa: E402

METHODS = ("get", "put", "post", "patch", "delete")

# Keywords that describe but do not constrain.
_ANNOTATIONS = {"description", "default", "example", "examples", "title", "deprecated", "readOnly", "writeOnly",
                "externalDocs", "xml"}
_KNOWN = _ANNOTATIONS | {"$ref", "type", "nullable", "properties", "required", "additionalProperties", "items",
                         "enum", "oneOf", "pattern", "minimum", "maximum", "minItems", "maxItems", "format"}

# RFC 3339 date-time, as OpenAPI's format date-time means.
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def load(path=None):
    """The OpenAPI document kept beside this file."""
    if path is None:
        path = fwe2e.runfile("tests/openapi/nexrender-cloud-openapi.json")
    with open(path) as f:
        return json.load(f)


class Validator:
    def __init__(self, doc):
        self.doc = doc

    def resolve(self, ref):
        if not ref.startswith("#/"):
            raise ValueError("only local $ref: " + ref)
        node = self.doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def errors(self, schema, value, path="$"):
        """Every way value breaks schema, as "path: reason" strings."""
        out = []
        self._check(schema, value, path, out)
        return out

    def _check(self, s, v, path, out):
        unknown = set(s) - _KNOWN
        unknown = {k for k in unknown if not k.startswith("x-")}
        if unknown:
            out.append("%s: the schema uses keywords this validator does not know: %s" % (path, sorted(unknown)))
            return
        if "$ref" in s:
            self._check(self.resolve(s["$ref"]), v, path, out)
            return
        if v is None:
            if not s.get("nullable", False) and ("type" in s or "$ref" in s or "oneOf" in s):
                out.append("%s: null, but the schema is not nullable" % path)
            return
        if "oneOf" in s:
            matched = [i for i, alt in enumerate(s["oneOf"]) if not self.errors(alt, v, path)]
            if len(matched) != 1:
                detail = "; ".join(e for alt in s["oneOf"] for e in self.errors(alt, v, path)[:2])
                out.append("%s: matches %d of the oneOf alternatives, not exactly one (%s)" % (path, len(matched),
                                                                                             detail))
        t = s.get("type")
        if t is not None and not _is_type(t, v):
            out.append("%s: %s is not of type %s" % (path, _short(v), t))
            return
        if "enum" in s and v not in s["enum"]:
            out.append("%s: %s is not one of %s" % (path, _short(v), s["enum"]))
        if isinstance(v, str):
            if s.get("format") == "date-time" and not _is_date_time(v):
                out.append("%s: %s is not an RFC 3339 date-time" % (path, _short(v)))
            if "pattern" in s and not re.search(s["pattern"], v):
                out.append("%s: %s does not match %s" % (path, _short(v), s["pattern"]))
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if "minimum" in s and v < s["minimum"]:
                out.append("%s: %s is below the minimum %s" % (path, v, s["minimum"]))
            if "maximum" in s and v > s["maximum"]:
                out.append("%s: %s is above the maximum %s" % (path, v, s["maximum"]))
        if isinstance(v, list):
            if "minItems" in s and len(v) < s["minItems"]:
                out.append("%s: %d items, fewer than %d" % (path, len(v), s["minItems"]))
            if "maxItems" in s and len(v) > s["maxItems"]:
                out.append("%s: %d items, more than %d" % (path, len(v), s["maxItems"]))
            if "items" in s:
                for i, x in enumerate(v):
                    self._check(s["items"], x, "%s[%d]" % (path, i), out)
        if isinstance(v, dict):
            props = s.get("properties", {})
            for name in s.get("required", []):
                if name not in v:
                    out.append("%s: the required property '%s' is missing" % (path, name))
            extra = s.get("additionalProperties", True)
            for name, x in v.items():
                if name in props:
                    self._check(props[name], x, "%s.%s" % (path, name), out)
                elif extra is False:
                    out.append("%s: the property '%s' is not allowed" % (path, name))
                elif isinstance(extra, dict):
                    self._check(extra, x, "%s.%s" % (path, name), out)


def _is_type(t, v):
    if t == "object":
        return isinstance(v, dict)
    if t == "array":
        return isinstance(v, list)
    if t == "string":
        return isinstance(v, str)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "integer":
        return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    raise ValueError("unknown type " + str(t))


def _is_date_time(s):
    if not _DATE_TIME.match(s):
        return False
    try:
        datetime.datetime.strptime(s[:19].upper(), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return False
    return True


def _short(v):
    text = json.dumps(v)
    return text if len(text) <= 80 else text[:77] + "..."


# ---- the operations ------------------------------------------------------------------------------

class Operation:
    def __init__(self, method, path, op):
        self.method = method.upper()
        self.path = path
        self.op = op
        self.params = op.get("parameters", [])
        body = op.get("requestBody", {}).get("content", {})
        self.body_type = next(iter(body), None)
        self.body_schema = body[self.body_type]["schema"] if self.body_type else None
        self.responses = op.get("responses", {})

    @property
    def key(self):
        return "%s %s" % (self.method, self.path)

    def response_schema(self, status):
        """(declared, schema or None) for an answer's status."""
        r = self.responses.get(str(status))
        if r is None:
            return False, None
        content = r.get("content", {})
        if not content:
            return True, None
        return True, next(iter(content.values())).get("schema")


def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield Operation(method, path, op)


# ---- HTTP ---------------------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "%d %s" % (self.status, self.body[:300])


class Http:
    """One keep-alive connection to the gateway (reopened when it closes)."""

    def __init__(self, base, key):
        u = urllib.parse.urlsplit(base)
        self.host, self.port, self.prefix = u.hostname, u.port, u.path.rstrip("/")
        self.key = key
        self.conn = None

    def request(self, method, path, body=None, headers=None, key=None, timeout=60, raw_path=False):
        """path is below the base ("/jobs/ID"); body: dict/list (sent as
        JSON), bytes or str (sent as they are) or None."""
        h = {}
        if key is not False:
            h["Authorization"] = "Bearer " + (key or self.key)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        elif isinstance(body, str):
            body = body.encode("utf-8", "surrogatepass")
        h.update(headers or {})
        target = path if raw_path else self.prefix + path
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            try:
                self.conn.request(method, target, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return Response(r.status, dict(r.getheaders()), data)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt:
                    raise
            except Exception:
                self.close()  # a connection left mid-request cannot be used again
                raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def put_url(url, data):
    """PUT bytes to an upload URL (a template's uploadInfo.url); the HTTP status."""
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": "application/octet-stream"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def start_server(workers=1, name="serve"):
    """`framewright serve --api 127.0.0.1:0` and the REST base URL."""
    srv = fwe2e.Server(workers=workers, name=name, extra=("--api", "127.0.0.1:0"))
    _, m = srv.proc.wait_line(r"REST API \(/api/v2\) on (\S+)", 30)
    if m is None:
        srv.stop(5)
        raise RuntimeError("no REST API line from framewright serve")
    return srv, m.group(1)


def error_shape(body):
    """Why an error body is not {error} or {error, details[{field, message}]},
    or None when it is."""
    try:
        j = json.loads(body)
    except ValueError:
        return "not JSON: %r" % body[:200]
    if not isinstance(j, dict) or not isinstance(j.get("error"), str) or not j["error"]:
        return "no 'error' text: %r" % body[:200]
    extra = set(j) - {"error", "details"}
    if extra:
        return "unexpected keys %s" % sorted(extra)
    if "details" in j:
        d = j["details"]
        if not isinstance(d, list) or not d:
            return "details is not a non-empty list"
        for x in d:
            if not isinstance(x, dict) or set(x) != {"field", "message"} or not all(
                    isinstance(x[k], str) for k in x):
                return "a detail is not {field, message}: %r" % (x,)
    return None


def sanitizer_report(lines):
    """The lines of a sanitizer's report in a process's output."""
    return [line for line in lines if "ERROR: AddressSanitizer" in line or "ERROR: LeakSanitizer" in line or
            "runtime error:" in line]
