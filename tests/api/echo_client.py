"""A real grpcio client against the C echo server (rpc_python_test.c starts
the server and runs this with Debian's Python). Exits non-zero on the first
broken expectation; prints one line per passed check."""

import sys
import threading

import grpc

import echo_pb2
import echo_pb2_grpc


def check(cond, what):
    if not cond:
        print("FAILED: " + what, flush=True)
        sys.exit(1)
    print("ok " + what, flush=True)


def main():
    port = sys.argv[1]
    channel = grpc.insecure_channel("127.0.0.1:" + port)
    stub = echo_pb2_grpc.EchoStub(channel)
    md = (("authorization", "Bearer py-token"), ("x-extra", "from-python"))

    r = stub.Say(echo_pb2.EchoRequest(text="hello from python"), metadata=md, timeout=5)
    check(r.text == "hello from python", "unary echo text")
    check(r.token == "py-token" and r.user == "user-of-py-token", "bearer token reached the handler")
    check(r.extra == "from-python", "metadata reached the handler")
    check(0 < r.deadline_ms <= 5000, "the deadline reached the handler")

    try:
        stub.Say(echo_pb2.EchoRequest(text="x", fail_code=2, fail_field="templates[0].id"), timeout=5)
        check(False, "handler error raises")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.NOT_FOUND, "FW_ERR_NOT_FOUND is NOT_FOUND")
        check(e.details() == "templates[0].id: asked to fail: x", "status message is 'field: message'")

    replies = list(stub.Count(echo_pb2.EchoRequest(text="n", count=100), timeout=10))
    check([x.index for x in replies] == list(range(100)), "server stream of 100 in order")

    stream = stub.Hold(echo_pb2.EchoRequest(), timeout=10)
    first = next(stream)
    check(first.text == "held", "held stream sends its first reply")
    stream.cancel()
    try:
        next(stream)
        check(False, "cancelled stream ends")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.CANCELLED, "cancelled stream ends with CANCELLED")

    try:
        stub.Say(echo_pb2.EchoRequest(delay_ms=5000), timeout=0.2)
        check(False, "deadline raises")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, "deadline honoured")

    chunks = (echo_pb2.Chunk(value=i, data=b"ab") for i in range(1, 501))
    s = stub.Add(chunks, timeout=10)
    check(s.total == 125250 and s.chunks == 500 and s.bytes == 1000, "client stream of 500 chunks summed")

    for path in ("/fwtest.Echo/Unserved", "/fwtest.Echo/Nope"):
        call = channel.unary_unary(path, request_serializer=echo_pb2.EchoRequest.SerializeToString,
                                   response_deserializer=echo_pb2.EchoReply.FromString)
        try:
            call(echo_pb2.EchoRequest(), timeout=5)
            check(False, path + " raises")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.UNIMPLEMENTED, path + " is UNIMPLEMENTED")

    bad = channel.unary_unary("/fwtest.Echo/Say", request_serializer=lambda b: b,
                              response_deserializer=echo_pb2.EchoReply.FromString)
    try:
        bad(b"\xff\xff\xff", timeout=5)
        check(False, "garbage raises")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, "an undecodable request is INVALID_ARGUMENT")

    results = []

    def one(i):
        try:
            rr = stub.Say(echo_pb2.EchoRequest(text="c%d" % i, delay_ms=20), timeout=10)
            results.append(rr.text == "c%d" % i)
        except grpc.RpcError:
            results.append(False)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(len(results) == 50 and all(results), "50 concurrent calls")

    # Left open on purpose: the C side stops the server while this is held.
    held = stub.Hold(echo_pb2.EchoRequest(), timeout=30)
    check(next(held).text == "held", "a second held stream is open")
    print("HOLDING", flush=True)
    try:
        next(held)
        check(False, "server stop ends the stream")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.UNAVAILABLE, "server stop ends an open stream with UNAVAILABLE")
    channel.close()
    print("PYTHON CLIENT DONE", flush=True)


if __name__ == "__main__":
    main()
