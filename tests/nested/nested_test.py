"""nested_test.py - nested jobs (assets of type "job") on a real
`framewright serve`: the parent waits in pending while its child renders,
the child's image lands in the parent's image layer (checked by pixel),
a failing child fails the parent naming the child and the layer, a child
rendering a video plays in the parent's layer, cancelling a parent cancels its
child, and bad children are refused at creation naming the field. On
SQLite, and on PostgreSQL when FW_TEST_PG_URL is set."""

import os
import sys

import grpc

sys.path.insert(0, os.path.join(os.environ.get("RUNFILES_DIR") or os.environ.get("TEST_SRCDIR") or "",
                                "framewright", "tests", "batches"))
sys.path.insert(1, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "batches"))
import fwjobs  # noqa: E402 - first: it finds fwe2e
import fwe2e  # noqa: E402

T = fwe2e.Checks()
TIMEOUT = 300
GREEN = (0x20, 0xC0, 0x40)


def near(a, b, tol=6):
    return a is not None and all(abs(x - y) <= tol for x, y in zip(a, b))


def child_asset(template_id, **settings):
    s = {"type": "image", "codec": "image_png", "frames": 0}
    s.update(settings)
    return {"type": "job", "layerName": "photo", "template": {"id": template_id}, "settings": s}


def parent_job(card, assets):
    return {"template": {"id": card}, "assets": assets,
            "settings": {"type": "image", "codec": "image_png", "frames": 0}}


def image_child(label, c, card, solid):
    job = c.create_job(parent_job(card, [child_asset(solid)]))
    T.check(label + ": the parent starts pending", job.status == "pending", job.status)
    T.check(label + ": the answer lists one child", len(job.children) == 1, list(job.children))
    child = c.get_job(job.children[0])
    T.check(label + ": the child is its own queued job with parent_id set",
            child.status in ("queued", "render:dorender", "finished") and child.parent_id == job.id, child)
    T.check(label + ": GetJob of the parent lists the child", list(c.get_job(job.id).children) == list(job.children))
    statuses = [e.job.status for e in c.watch(job.id, TIMEOUT)]
    print("parent statuses:", statuses)
    # A watcher may miss a state that lasted less than a look of the hub,
    # so the order is checked by the times too.
    # (the child can finish before the watch begins: then it starts queued).
    T.check(label + ": the parent goes from pending (or queued) to finished",
            statuses and statuses[0] in ("pending", "queued") and statuses[-1] == "finished", statuses)
    child = c.get_job(child.id)
    parent = c.get_job(job.id)
    T.check(label + ": the child finished before the parent started",
            child.status == "finished" and parent.stats.started_at.ToMilliseconds() >=
            child.stats.finished_at.ToMilliseconds() > 0, (child.stats, parent.stats))
    code, body = fwe2e.fetch(c.get_job(job.id).output_url.value)
    inside = fwjobs.pixel(body, 300, 200)
    corner = fwjobs.pixel(body, 210, 110)
    outside = fwjobs.pixel(body, 50, 50)
    print("pixels: inside", inside, "corner", corner, "outside", outside)
    T.check(label + ": the layer's box has the child's colour", code == 200 and near(inside, GREEN), inside)
    T.check(label + ": ... to its corner", near(corner, GREEN), corner)
    T.check(label + ": outside the box is the white paper", near(outside, (255, 255, 255)), outside)


def failing_child(label, c, card, files):
    bad = {"type": "job", "layerName": "photo", "template": {"src": files.url("/broken.json")},
           "settings": {"type": "image", "codec": "image_png", "frames": 0}}
    job = c.create_job(parent_job(card, [bad]))
    end = c.wait_status(job.id, ("error",), TIMEOUT)
    child = c.get_job(job.children[0])
    print("parent error:", end.stats.error.value)
    T.check(label + ": the child failed", child.status == "error", (child.status, child.stats.error.value))
    T.check(label + ": the parent failed", end.status == "error", end.status)
    T.check(label + ": the parent's error names the child and the layer",
            child.id in end.stats.error.value and "layer 'photo'" in end.stats.error.value, end.stats.error.value)
    T.check(label + ": ... and says why the child failed", "template" in end.stats.error.value, end.stats.error.value)


def video_child(label, c, card, solid):
    job = c.create_job(parent_job(card, [child_asset(solid, type="video", codec="video_h264_vbr_1mbps",
                                                     frames=[0, 4])]))
    end = c.wait_status(job.id, ("error", "finished"), TIMEOUT)
    T.check(label + ": a parent with a video child finishes", end.status == "finished",
            (end.status, end.stats.error.value))
    if end.status != "finished":
        return
    code, body = fwe2e.fetch(end.output_url.value)
    inside = fwjobs.pixel(body, 300, 200)
    outside = fwjobs.pixel(body, 50, 50)
    print("video child pixels: inside", inside, "outside", outside)
    T.check(label + ": the video child's picture fills the layer", code == 200 and near(inside, GREEN, 10), inside)
    T.check(label + ": ... and only the layer", near(outside, (255, 255, 255)), outside)


def refused(label, c, card, solid):
    def code_of(body):
        try:
            c.create_job(body)
        except grpc.RpcError as e:
            return e.code(), e.details()
        return None, None

    code, msg = code_of(parent_job(card, [dict(child_asset(solid), layerName="nope")]))
    T.check(label + ": a missing parent layer is refused", code == grpc.StatusCode.INVALID_ARGUMENT and
            msg.startswith("assets[0].layerName: no layer 'nope'"), (code, msg))
    a = child_asset(solid)
    a["template"] = {"id": "01J00000000000000000000000"}
    code, msg = code_of(parent_job(card, [a]))
    T.check(label + ": a child's missing template is refused naming it", code == grpc.StatusCode.NOT_FOUND and
            msg.startswith("assets[0].template.id"), (code, msg))
    a = child_asset(solid)
    a["assets"] = [{"type": "text", "layerName": "titel", "value": "x"}]
    code, msg = code_of(parent_job(card, [a]))
    T.check(label + ": a child's missing layer is refused naming it", code == grpc.StatusCode.INVALID_ARGUMENT and
            msg.startswith("assets[0].assets[0].layerName"), (code, msg))
    code, msg = code_of(parent_job(card, [child_asset(solid, type="aep")]))
    T.check(label + ": an aep child is refused", code == grpc.StatusCode.INVALID_ARGUMENT and
            msg.startswith("assets[0].settings.type"), (code, msg))


def cancel_parent(label, c, card, solid):
    job = c.create_job(parent_job(card, [child_asset(solid), dict(child_asset(solid), layerName="photo")]))
    T.check(label + ": two children", len(job.children) == 2, list(job.children))
    got = c.jobs.CancelJob(c.job_pb2.CancelJobRequest(id=job.id), metadata=c.md(), timeout=30)
    T.check(label + ": the parent is cancelled", got.status == "manually_cancelled", got.status)
    T.check(label + ": its children are cancelled with it",
            all(c.get_job(k).status == "manually_cancelled" for k in job.children),
            [c.get_job(k).status for k in job.children])

    job = c.create_job(parent_job(card, [child_asset(solid)]))
    c.jobs.CancelJob(c.job_pb2.CancelJobRequest(id=job.children[0]), metadata=c.md(), timeout=30)
    p = c.get_job(job.id)
    T.check(label + ": cancelling the child fails the parent naming it",
            p.status == "error" and job.children[0] in p.stats.error.value and "was cancelled" in p.stats.error.value,
            (p.status, p.stats.error.value))


def run_store(label, database):
    files = fwjobs.Files({"/broken.json": b"this is not a Lottie file"})
    srv, c = fwjobs.start(database, 2, "serve-" + label)
    try:
        card = c.upload_template(fwjobs.photo_card_template(), name="card").id
        solid = c.upload_template(fwjobs.solid_template(200, 200, "#20c040"), name="solid").id
        T.case(label + ": image child", image_child, label, c, card, solid)
        T.case(label + ": failing child", failing_child, label, c, card, files)
        T.case(label + ": video child", video_child, label, c, card, solid)
        T.case(label + ": refused at creation", refused, label, c, card, solid)
    finally:
        c.close()
        T.check(label + ": serve stops cleanly", srv.stop() == 0)
    srv, c = fwjobs.start(database, 0, "idle-" + label)
    try:
        card = c.upload_template(fwjobs.photo_card_template(), name="card").id
        solid = c.upload_template(fwjobs.solid_template(200, 200, "#20c040"), name="solid").id
        T.case(label + ": cancel", cancel_parent, label, c, card, solid)
    finally:
        c.close()
        T.check(label + ": idle serve stops cleanly", srv.stop() == 0)
        files.close()


def main():
    for label, database in fwjobs.stores():
        T.case(label, run_store, label, database)
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
