"""fwjobs.py - what the batch, nested-job and join tests share on top of
tests/e2e/fwe2e.py: the BatchService stubs, the stores to run on (SQLite,
and PostgreSQL in a fresh database when FW_TEST_PG_URL is set), small
templates made here, a local HTTP server for clips and templates, and
reading pixels and frame counts with FFmpeg's tools."""

import http.server
import json
import os
import random
import string
import struct
import subprocess
import sys
import threading
import urllib.parse
import zlib

# fwe2e.py (tests/e2e's harness) from the runfiles, the stubs through it.
for _base in (os.environ.get("RUNFILES_DIR"), os.environ.get("TEST_SRCDIR")):
    if _base:
        sys.path.insert(0, os.path.join(_base, "framewright", "tests", "e2e"))

import fwe2e  # noqa: E402

fwe2e.stubs_on_path()
from proto import batch_pb2, batch_pb2_grpc, job_pb2, job_pb2_grpc, template_pb2, template_pb2_grpc  # noqa: E402


def batch_stubs():
    return batch_pb2, batch_pb2_grpc


# ---- stores -------------------------------------------------------------------------------------

def psql(url, sql):
    r = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-t", "-A", "-c", sql], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("psql %s: %s" % (sql, r.stderr))
    return r.stdout.strip()


def stores():
    """(label, database URL or None) for each store to test: SQLite always,
    PostgreSQL (a new database, dropped at the end) when FW_TEST_PG_URL is set."""
    yield "sqlite", None
    admin = os.environ.get("FW_TEST_PG_URL")
    if not admin:
        print("skip postgres: FW_TEST_PG_URL is not set", flush=True)
        return
    name = "fwjobs_" + "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(10))
    psql(admin, "CREATE DATABASE %s" % name)
    u = urllib.parse.urlsplit(admin)
    try:
        yield "postgres", urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))
    finally:
        try:
            psql(admin, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        except RuntimeError as e:
            print(e)


def start(database, workers, name):
    """A serve and a client with a key of its own team."""
    srv = fwe2e.Server(workers=workers, database=database, name=name)
    key = srv.key or srv.new_key("team-" + name)
    return srv, fwe2e.Client(srv.grpc, key)


def sql_count(srv, sql):
    """One number from the server's store, read beside the service."""
    if srv.database:
        return int(psql(srv.database, sql))
    import sqlite3

    db = sqlite3.connect(os.path.join(srv.data, "framewright.db"), timeout=30)
    try:
        return int(db.execute(sql).fetchone()[0])
    finally:
        db.close()


# ---- templates ----------------------------------------------------------------------------------

def png(width, height, rgb):
    """A solid PNG, written by hand (no imaging library needed)."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _ks(x, y, ax, ay):
    return {"o": {"a": 0, "k": 100}, "r": {"a": 0, "k": 0}, "p": {"a": 0, "k": [x, y, 0]},
            "a": {"a": 0, "k": [ax, ay, 0]}, "s": {"a": 0, "k": [100, 100, 100]}}


def solid_template(width, height, colour_hex, frames=25):
    """One solid layer 'fill' covering the composition."""
    return json.dumps({
        "v": "5.7.4", "fr": 25, "ip": 0, "op": frames, "w": width, "h": height, "nm": "solid", "ddd": 0,
        "assets": [],
        "layers": [{"ddd": 0, "ind": 1, "ty": 1, "nm": "fill", "sr": 1, "ks": _ks(width / 2, height / 2, width / 2,
                                                                               height / 2),
                    "ao": 0, "sw": width, "sh": height, "sc": colour_hex, "ip": 0, "op": frames, "st": 0,
                    "bm": 0}],
    }).encode()


def photo_card_template():
    """600x400 white paper with an image layer 'photo': a 200x200 box at
    (200, 100)-(400, 300), holding a grey placeholder until replaced."""
    import base64

    placeholder = "data:image/png;base64," + base64.b64encode(png(200, 200, (128, 128, 128))).decode()
    return json.dumps({
        "v": "5.7.4", "fr": 25, "ip": 0, "op": 25, "w": 600, "h": 400, "nm": "photo card", "ddd": 0,
        "assets": [{"id": "image_0", "w": 200, "h": 200, "u": "", "p": placeholder, "e": 1}],
        "layers": [
            {"ddd": 0, "ind": 1, "ty": 2, "nm": "photo", "refId": "image_0", "sr": 1, "ks": _ks(300, 200, 100, 100),
             "ao": 0, "ip": 0, "op": 25, "st": 0, "bm": 0},
            {"ddd": 0, "ind": 2, "ty": 1, "nm": "paper", "sr": 1, "ks": _ks(300, 200, 300, 200), "ao": 0,
             "sw": 600, "sh": 400, "sc": "#ffffff", "ip": 0, "op": 25, "st": 0, "bm": 0},
        ],
    }).encode()


# ---- a local HTTP server ------------------------------------------------------------------------

class Files:
    """Serves a dict of path -> bytes on 127.0.0.1 (404 for anything else)."""

    def __init__(self, files):
        self.files = files
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the stdlib's name
                body = outer.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.httpd.server_address[1], path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- media --------------------------------------------------------------------------------------

def pixel(data, x, y, suffix=".png"):
    """(r, g, b) at x, y of an image (or a video's first frame), by ffmpeg."""
    d = fwe2e.tmpdir("fw-px-")
    path = os.path.join(d, "in" + suffix)
    with open(path, "wb") as f:
        f.write(data)
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-frames:v", "1", "-vf", "crop=1:1:%d:%d" % (x, y),
                        "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, timeout=60)
    if r.returncode != 0 or len(r.stdout) < 3:
        raise RuntimeError("ffmpeg: %s" % r.stderr.decode("utf-8", "replace"))
    return tuple(r.stdout[:3])


def test_clip(frames, width=320, height=240, fps=25):
    """An H.264 MP4 of frames test-pattern frames, made by ffmpeg."""
    d = fwe2e.tmpdir("fw-clip-")
    path = os.path.join(d, "clip.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=%dx%d:rate=%d" % (width, height, fps),
                    "-frames:v", str(frames), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-y", path],
                   check=True, timeout=120)
    with open(path, "rb") as f:
        return f.read()
