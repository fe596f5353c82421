"""dashboard_test.py - the web dashboard in a real browser: Debian's Chromium
driven by puppeteer-core (browser.js) against `framewright serve --api` with
one worker, a key of team A and a key of team B.

browser.js signs in (a missing key, a wrong one, then A's), uploads the
example template by the drop zone, checks the template's page (the poster
drawn by the server, the preview, compositions, layers, fonts), fills the job
form and follows the progress bar to 100 % from the event stream, plays the
output and reads a frame of it from a canvas, renders it again, sees a failed
job's field error, cancels a running job, filters and pages the jobs list,
makes a batch with a refused job, looks at phone width, moves by keyboard,
and finally signs in as team B and finds none of A's templates, jobs,
batches or frames. Screenshots of every page go to the test's output folder
($TEST_UNDECLARED_OUTPUTS_DIR; bazel-testlogs/.../test.outputs/).

The npm packages are the exact versions of package-lock.json, installed with
`npm ci --ignore-scripts` once into a cache folder keyed by the lock file's
hash (FW_NODE_CACHE, default /tmp/framewright-dashboard-node), or taken from
FW_NODE_MODULES. Chromium is FW_CHROMIUM, default /usr/bin/chromium.
"""

import os
import subprocess
import sys

# The harness: in Bazel's runfiles, or beside this folder in the checkout.
for _base in (os.environ.get("RUNFILES_DIR"), os.environ.get("TEST_SRCDIR")):
    if _base:
        sys.path.insert(0, os.path.join(_base, "framewright", "tests", "e2e"))
sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

import fwe2e  # noqa: E402

T = fwe2e.Checks()


def node_modules():
    return fwe2e.npm_modules("tests/dashboard", "puppeteer-core/package.json", "/tmp/framewright-dashboard-node", ignore_scripts=True)


def main():
    chromium = os.environ.get("FW_CHROMIUM") or "/usr/bin/chromium"
    if not T.check("Chromium is installed (%s)" % chromium, os.access(chromium, os.X_OK),
                   "apt-get install -y chromium (bazel/setup.sh installs it)"):
        return
    try:
        modules = node_modules()
    except Exception as e:  # noqa: BLE001
        print(e)
        T.check("the npm packages are installed", False, "see above")
        return
    out = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or fwe2e.tmpdir("fw-dashboard-shots-")
    os.makedirs(out, exist_ok=True)
    work = fwe2e.tmpdir("fw-dashboard-")
    long_path = os.path.join(work, "long.json")
    with open(long_path, "wb") as f:
        f.write(fwe2e.long_template(1920, 1080, 900))

    srv = fwe2e.Server(workers=1, extra=("--api", "127.0.0.1:0"))
    try:
        T.check("the server serves the REST API", srv.api is not None and srv.key is not None)
        key_b = srv.new_key("team-b")
        env = dict(os.environ)
        env.update({
            "FW_BASE": srv.api,
            "FW_KEY_A": srv.key,
            "FW_KEY_B": key_b,
            "FW_TEMPLATE": fwe2e.runfile("tests/examples/hello/template.json"),
            "FW_LONG_TEMPLATE": long_path,
            "FW_OUT": out,
            "FW_CHROMIUM": chromium,
            "NODE_PATH": modules,
            "HOME": work,  # Chromium writes its profile and crash folders under it
        })
        p = subprocess.Popen(["node", fwe2e.runfile("tests/dashboard/browser.js")], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
        fwe2e.track_group(p.pid)
        saw_end = False
        for line in p.stdout:
            line = line.rstrip("\n")
            if line.startswith("ok   "):
                T.check(line[5:], True)
            elif line.startswith("FAIL "):
                name, _, why = line[5:].partition(": ")
                T.check(name, False, why)
            else:
                print("[browser] " + line, flush=True)
                saw_end |= line.startswith("browser: ")
        rc = p.wait(timeout=60)
        T.check("the browser run ran to its end", rc == 0 and saw_end, "exit %s" % rc)
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
    sys.exit(T.end())
