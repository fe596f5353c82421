"""tls_test.py - gRPC and the REST gateway over TLS with a certificate made here (openssl), driven
by real clients: Python's grpcio and the curl command.

 (a) grpcio with the certificate as its root: calls work; a plaintext channel to the same port and
     a channel that does not trust the certificate both fail;
 (b) curl --cacert over https: the gateway answers /api/v2 with the team's templates; plain http to
     the TLS port and https without trusting the certificate are refused;
 (c) framewright-gateway on its own with --tls-cert/--tls-key in front of the TLS gRPC server."""

import json
import os
import subprocess

import grpc

import fwe2e

T = fwe2e.Checks()


def make_certificate(folder):
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True, timeout=60)
    return cert, key


def curl(*args):
    r = subprocess.run(["curl", "-sS", "--max-time", "30"] + list(args), capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def grpc_checks(srv, cert):
    with open(cert, "rb") as f:
        roots = f.read()
    job_pb2, job_grpc, template_pb2, template_grpc = fwe2e.load_stubs()
    md = (("authorization", "Bearer " + srv.key),)

    ch = grpc.secure_channel(srv.grpc, grpc.ssl_channel_credentials(root_certificates=roots))
    grpc.channel_ready_future(ch).result(timeout=30)
    templates = template_grpc.TemplateServiceStub(ch)
    t = templates.CreateTemplate(template_pb2.CreateTemplateRequest(type="json", display_name="over-tls"),
                                 metadata=md, timeout=30)
    listed = templates.ListTemplates(template_pb2.ListTemplatesRequest(), metadata=md, timeout=30)
    T.check("grpcio over TLS: a template is created and listed", t.id in [x.id for x in listed.templates],
            [x.id for x in listed.templates])
    ch.close()

    for name, channel in (("a plaintext channel", grpc.insecure_channel(srv.grpc)),
                          ("a channel not trusting the certificate",
                           grpc.secure_channel(srv.grpc, grpc.ssl_channel_credentials()))):
        try:
            template_grpc.TemplateServiceStub(channel).ListTemplates(template_pb2.ListTemplatesRequest(),
                                                                     metadata=md, timeout=10)
            T.check("grpcio: %s is refused" % name, False, "the call succeeded")
        except grpc.RpcError as e:
            T.check("grpcio: %s is refused" % name, e.code() == grpc.StatusCode.UNAVAILABLE, e.code())
        channel.close()
    return t.id


def rest_checks(label, base, key, cert, template_id):
    rc, out, err = curl("--cacert", cert, "-H", "Authorization: Bearer " + key, base + "/templates")
    names = []
    try:
        names = [x.get("id") for x in json.loads(out)]
    except ValueError:
        pass
    T.check("%s: curl over https lists the template" % label, rc == 0 and template_id in names,
            "%d %s %s" % (rc, out[:300], err))
    rc, out, err = curl("-H", "Authorization: Bearer " + key, base + "/templates")
    T.check("%s: curl not trusting the certificate is refused (exit 60)" % label, rc == 60, "%d %s" % (rc, err))
    rc, out, err = curl(base.replace("https://", "http://") + "/templates")
    T.check("%s: plain http to the TLS port gets no API answer" % label, rc != 0 or not out.startswith("["),
            "%d %s" % (rc, out[:200]))


def main():
    folder = fwe2e.tmpdir("fw-tls-")
    cert, key = make_certificate(folder)
    srv = fwe2e.Server(workers=0, extra=("--tls-cert", cert, "--tls-key", key, "--api", "127.0.0.1:0"))
    base = (srv.api or "") + "/api/v2"
    gw = None
    try:
        T.check("serve says its REST API is https", base.startswith("https://127.0.0.1:"), base)
        tid = grpc_checks(srv, cert)
        rest_checks("serve's gateway", base, srv.key, cert, tid)

        gw = fwe2e.Proc([fwe2e.runfile("gateway/framewright-gateway"), "--grpc", srv.grpc, "--grpc-ca", cert,
                         "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key], "gateway")
        _, gm = gw.wait_line(r"serving /api/v2 on (https://\S+) for", 30)
        T.check("framewright-gateway says https", gm is not None, "\n".join(gw.lines))
        if gm:
            rest_checks("framewright-gateway", gm.group(1) + "/api/v2", srv.key, cert, tid)
    finally:
        if gw:
            gw.stop()
        srv.stop()
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
