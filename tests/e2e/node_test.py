"""node_test.py - framewright serve through Node's @grpc/grpc-js with
@grpc/proto-loader reading proto/*.proto directly (node/client.js): upload,
submit, watch to the end, fetch the output; then the output is checked here.

The npm packages are the exact versions of node/package-lock.json. When
FW_NODE_MODULES names a node_modules folder it is used as it is; otherwise
`npm ci` installs them once into a cache folder keyed by the lock file's
hash (FW_NODE_CACHE, default /tmp/framewright-e2e-node), reused by later runs.
"""

import json
import os
import subprocess

import fwe2e

T = fwe2e.Checks()


def node_modules():
    return fwe2e.npm_modules("tests/e2e/node", "@grpc/grpc-js", "/tmp/framewright-e2e-node")


def main():
    try:
        modules = node_modules()
    except Exception as e:  # noqa: BLE001
        print(e)
        T.check("the npm packages are installed", False, "see above")
        return
    T.check("the npm packages are installed", os.path.isdir(os.path.join(modules, "@grpc", "proto-loader")),
            modules)

    try:
        srv = fwe2e.Server(workers=1, name="serve")
    except RuntimeError as e:
        print(e)
        T.check("serve starts", False, "see above")
        return
    try:
        out = os.path.join(fwe2e.tmpdir("fw-node-"), "output.mp4")
        client = fwe2e.runfile("tests/e2e/node/client.js")
        root = os.path.dirname(os.path.dirname(fwe2e.runfile("proto/job.proto")))
        env = dict(os.environ, NODE_PATH=modules, FW_GRPC=srv.grpc, FW_KEY=srv.key or "", FW_ROOT=root,
                   FW_TEMPLATE=fwe2e.runfile("tests/examples/hello/template.json"),
                   FW_JOB=fwe2e.runfile("tests/examples/hello/job.json"), FW_OUT=out)
        r = subprocess.run(["node", client], env=env, capture_output=True, text=True, timeout=600)
        print(r.stdout)
        print(r.stderr)
        T.check("node client exits 0", r.returncode == 0, r.returncode)
        lines = [x for x in r.stdout.splitlines() if x.startswith("{")]
        res = json.loads(lines[-1]) if lines else {}
        T.check("node client reports no error", "error" not in res, res.get("error"))
        if "error" in res or not res:
            return
        size = os.path.getsize(fwe2e.runfile("tests/examples/hello/template.json"))
        T.check("node: template uploaded", res["templateStatus"] == "uploaded", res["templateStatus"])
        T.check("node: template size", res["templateSize"] == size, res["templateSize"])
        T.check("node: job queued", res["submittedStatus"] == "queued", res["submittedStatus"])
        st = [e["status"] for e in res["events"]]
        T.check("node: WatchJob ends with finished, once", st and st[-1] == "finished" and st.count("finished") == 1,
                st)
        T.check("node: GetJob finished at 100", res["finalStatus"] == "finished" and res["progress"] == 100,
                (res["finalStatus"], res["progress"]))
        T.check("node: output fetched (200)", res["httpStatus"] == 200, res["httpStatus"])
        T.check("node: an unknown job is NOT_FOUND", res["unknownJob"] == "NOT_FOUND", res["unknownJob"])
        with open(out, "rb") as f:
            info = fwe2e.ffprobe(f.read())
        print("ffprobe:", info)
        T.check("node: output is H.264 1280x720 with 90 frames",
                (info.get("codec"), info.get("width"), info.get("height"), info.get("frames")) == ("h264", 1280, 720, 90),
                info)
    finally:
        rc = srv.stop()
        T.check("serve stops cleanly on SIGTERM", rc == 0, rc)


if __name__ == "__main__":
    main()
    raise SystemExit(T.end())
