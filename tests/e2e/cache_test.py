"""cache_test.py - the render cache of one `framewright serve` (SQLite, a
local folder, two workers), through grpcio:

- the same job twice: the second is answered from the cache
  (`stats.cached`), its output byte for byte the first's; another team's
  same job is rendered (entries are per team); `"cache": false` renders it
  again;
- variants of that 20 s template, whose title shows only from frame 540:
  each takes the 4 chunks before frame 480 from the cache (kept there by
  the first job, `stats.chunksCached`) and renders only the last; every output has all its frames, and its last frame shows its
  own title (the outputs' last frames differ, their first frames match);
- a cache bounded to 1 MB drops the least recently used outputs once they
  are no longer protected (two leases after their use), and what it
  dropped is gone from storage."""

import json
import os
import sqlite3
import time

import fwe2e

T = fwe2e.Checks()
W, H, FRAMES, TITLE_FROM = 640, 360, 600, 540
WAIT = 600


def late_title_template():
    doc = json.loads(fwe2e.long_template(W, H, FRAMES))
    for layer in doc["layers"]:
        if layer.get("nm") == "title":
            layer["ip"] = TITLE_FROM
            layer["ks"]["p"]["k"] = [W // 2, H * 2 // 3, 0]  # within the smaller picture
    return json.dumps(doc).encode()


def job(tid, title, **extra):
    body = {"template": {"id": tid}, "assets": [{"type": "text", "layerName": "title", "value": title}],
            "settings": {"type": "video", "codec": "video_h264_vbr_1mbps"}}
    body.update(extra)
    return body


def run_job(c, body, key=None):
    j = c.create_job(body, key=key)
    done = None
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        done = c.get_job(j.id, key=key)
        if done.status in ("finished", "error", "manually_cancelled"):
            break
        time.sleep(0.1)
    return done


def cache_rows(srv):
    db = sqlite3.connect(os.path.join(srv.data, "framewright.db"), timeout=30)
    try:
        return db.execute("SELECT team_id, kind, storage_key, size FROM render_cache").fetchall()
    finally:
        db.close()


def stored(srv, key):
    return any(os.path.join(d, f).endswith(key) for d, _, fs in os.walk(srv.data) for f in fs)


def case_same_job(srv, c, tid):
    first = run_job(c, job(tid, "Once"))
    second = run_job(c, job(tid, "Once"))
    T.check("(a) both finished", (first.status, second.status) == ("finished", "finished"),
            (first.status, second.status, second.stats.error.value))
    T.check("(a) the first was rendered (no chunk from the cache), the second came from the cache",
            (first.stats.cached, first.stats.chunks_cached, second.stats.cached) == (False, 0, True),
            (first.stats.cached, first.stats.chunks_cached, second.stats.cached))
    _, a = fwe2e.fetch(first.output_url.value)
    _, b = fwe2e.fetch(second.output_url.value)
    T.check("(a) the cached output is byte for byte the first's", a == b and len(a) > 0, (len(a), len(b)))
    print("(a) render %.2f s, from the cache %.2f s" % (first.stats.render_duration.value,
                                                        second.stats.render_duration.value))
    other = fwe2e.Client(srv.grpc, srv.new_key("another-team"))
    otid = other.upload_template(late_title_template(), name="late").id
    theirs = run_job(other, job(otid, "Once"))
    T.check("(a) another team's same job is rendered, not taken from this team's cache",
            theirs.status == "finished" and not theirs.stats.cached, (theirs.status, theirs.stats.cached))
    other.close()
    again = run_job(c, job(tid, "Once", cache=False))
    T.check("(a) \"cache\": false renders it again", again.status == "finished" and not again.stats.cached,
            (again.status, again.stats.cached))


def case_variants(srv, c, tid):
    outs = []
    for i in range(3):
        j = run_job(c, job(tid, "Variant %d" % i))
        outs.append(j)
        T.check("(b) variant %d finished in 5 chunks" % i, j.status == "finished" and j.stats.chunks == 5,
                (j.status, j.stats.chunks, j.stats.error.value))
    T.check("(b) each variant took the 4 chunks before the title from the cache (kept there by (a))",
            [o.stats.chunks_cached for o in outs] == [4, 4, 4], [o.stats.chunks_cached for o in outs])
    frames = []
    for o in outs:
        _, data = fwe2e.fetch(o.output_url.value)
        info = fwe2e.ffprobe(data)
        T.check("(b) %s: %d frames" % (o.id, FRAMES), info.get("frames") == FRAMES, info)
        frames.append(fwe2e.grey_frames(data))
    size = 160 * 90
    if all(len(f) == size * FRAMES for f in frames):
        last = [f[(FRAMES - 1) * size:] for f in frames]
        first = [f[:size] for f in frames]
        T.check("(b) the variants' last frames differ (each shows its own title)",
                last[0] != last[1] and last[1] != last[2] and last[0] != last[2])
        T.check("(b) their first frames are the same", first[0] == first[1] == first[2])
        worst = min(fwe2e.psnr(frames[0][n * size:(n + 1) * size], frames[1][n * size:(n + 1) * size])
                    for n in range(470, 490))
        T.check("(b) around the last boundary the cached chunk meets the rendered one cleanly (frames 470-489 of "
                "two variants match: %.1f dB)" % worst, worst >= 35, worst)


def case_bounded(c_factory):
    """Outputs of about 1.9 MB (3 s at a constant 5 Mb/s) in a cache of 1 MB
    whose entries are protected for two leases (6 s here) after their use."""
    srv = fwe2e.Server(workers=1, lease_seconds=3, env={"FRAMEWRIGHT_CACHE_MB": "1"})
    c = c_factory(srv)
    try:
        tid = c.upload_template(fwe2e.long_template(320, 180, 90), name="short").id
        for i in range(4):
            if i == 3:
                time.sleep(7)  # the first three are no longer protected
            j = run_job(c, job(tid, "Bounded %d" % i, settings={"type": "video", "codec": "video_h264_cbr_5mbps"}))
            T.check("(c) job %d finished" % i, j.status == "finished", (j.status, j.stats.error.value))
        rows = cache_rows(srv)
        total = sum(r[3] for r in rows)
        T.check("(c) the cache keeps only the last output, the others beyond its bound dropped",
                len(rows) == 1 and total > 1 << 20, (len(rows), total))
        T.check("(c) what it keeps is in storage", all(stored(srv, r[2]) for r in rows), rows)
        kept = {r[2] for r in rows}
        left = [os.path.join(d, f) for d, _, fs in os.walk(srv.data) for f in fs if "/cache/" in os.path.join(d, f)]
        T.check("(c) what it dropped is gone from storage", all(any(p.endswith(k) for k in kept) for p in left),
                (left, kept))
        print("(c) cache: %d entries, %d bytes" % (len(rows), total))
    finally:
        c.close()
        T.check("(c) serve stops cleanly", srv.stop() == 0)


def main():
    srv = fwe2e.Server(workers=2, env={"FRAMEWRIGHT_CACHE_MB": "256"})
    c = fwe2e.Client(srv.grpc, srv.key)
    try:
        tid = c.upload_template(late_title_template(), name="late title").id
        T.case("(a) the same job twice", case_same_job, srv, c, tid)
        T.case("(b) variants that differ after frame 480", case_variants, srv, c, tid)
        reports = srv.proc.log_has(r"ERROR: AddressSanitizer|runtime error:|LeakSanitizer")
        T.check("no sanitizer report", not reports, reports[:3])
    finally:
        c.close()
        T.check("serve stops cleanly", srv.stop() == 0)
    T.case("(c) a bounded cache", case_bounded, lambda s: fwe2e.Client(s.grpc, s.key))
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
