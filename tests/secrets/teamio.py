"""teamio.py - what the secrets and fonts service tests share: the end-to-end
harness (tests/e2e/fwe2e.py) and stubs for SecretService and FontService."""

import os
import sys


def setup():
    """Import fwe2e (tests/e2e's harness) from the runfiles, stubs through it."""
    for base in (os.environ.get("RUNFILES_DIR"), os.environ.get("TEST_SRCDIR")):
        if base:
            sys.path.insert(0, os.path.join(base, "framewright", "tests", "e2e"))
    import fwe2e

    fwe2e.stubs_on_path()
    return fwe2e


def services(client):
    """SecretService and FontService stubs on a client's channel."""
    from proto import font_pb2, font_pb2_grpc, secret_pb2, secret_pb2_grpc  # noqa: E402

    return (secret_pb2, secret_pb2_grpc.SecretServiceStub(client.channel), font_pb2,
            font_pb2_grpc.FontServiceStub(client.channel))
