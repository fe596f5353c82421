"""teamio.py - what the secrets and fonts service tests share: the
framewright.v1 stubs generated for these tests, plugged into the end-to-end
harness (tests/e2e/fwe2e.py), and stubs for SecretService and FontService."""

import os
import sys


def setup():
    """Import fwe2e with its stubs taken from this package's genrule output."""
    stubs_dir = [None]
    for base in (os.environ.get("RUNFILES_DIR"), os.environ.get("TEST_SRCDIR")):
        if base:
            sys.path.insert(0, os.path.join(base, "framewright", "tests", "e2e"))
            stubs = os.path.join(base, "framewright", "tests", "secrets", "py")
            if os.path.isdir(stubs) and not stubs_dir[0]:
                stubs_dir[0] = stubs
    # The end-to-end harness beside this folder (through the source tree:
    # tests/e2e does not export it to other packages).
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "e2e"))
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
    sys.path.insert(0, os.path.join(top, "bazel-bin", "tests", "secrets", "py"))
    if stubs_dir[0]:
        sys.path.insert(0, stubs_dir[0])
    import fwe2e
    from proto import job_pb2, job_pb2_grpc, template_pb2, template_pb2_grpc  # noqa: E402

    fwe2e.load_stubs = lambda: (job_pb2, job_pb2_grpc, template_pb2, template_pb2_grpc)
    return fwe2e


def services(client):
    """SecretService and FontService stubs on a client's channel."""
    from proto import font_pb2, font_pb2_grpc, secret_pb2, secret_pb2_grpc  # noqa: E402

    return (secret_pb2, secret_pb2_grpc.SecretServiceStub(client.channel), font_pb2,
            font_pb2_grpc.FontServiceStub(client.channel))
