/*
 * rpc_test.c - the RPC layer end to end: server/api/rpc.h serving
 * fwtest.Echo on a real port, driven by client/rpc_client.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/rpc_client.h"
#include "tests/api/echo_methods.h"
#include "tests/api/echo_server.h"
#include "tests/api/testdata/echo.pb-c.h"
#include "tests/fw_test.h"

static echo_server server;
static fw_rpc_client *client;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait up to 5 s for the server to have seen `want` clients go away. */
static int wait_gone(echo_server *s, int want)
{
    for (int i = 0; i < 500 && echo_server_gone_count(s) < want; i++)
        sleep_ms(10);
    return echo_server_gone_count(s);
}

static fw_rpc_client *connect_to(int port, const char *token)
{
    char address[64];
    fw_rpc_client *c = NULL;
    fw_rpc_client_options o = {.address = address, .token = token, .timeout_ms = 10000};
    snprintf(address, sizeof(address), "127.0.0.1:%d", port);
    fw_rpc_client_new(&c, &o, NULL);
    return c;
}

static fw_err say(fw_rpc_client *c, Fwtest__EchoRequest *req, const fw_rpc_call_options *o, Fwtest__EchoReply **out,
                  fw_error *err)
{
    return fw_rpc_client_unary(c, "/fwtest.Echo/Say", &req->base, &fwtest__echo_reply__descriptor, o,
                               (ProtobufCMessage **)out, err);
}

static void test_method_table_knows_which_methods_stream(void)
{
    const fw_rpc_method *m = fw_rpc_method_find(fw_echo_methods, fw_echo_methods_count, "/fwtest.Echo/Hold");
    FW_CHECK_INT(fw_echo_methods_count, 6);
    FW_REQUIRE(m != NULL);
    FW_CHECK_INT(m->kind, FW_RPC_SERVER_STREAM);
    FW_CHECK_STR(fw_rpc_method_input(m)->name, "fwtest.EchoRequest");
    FW_CHECK_INT(fw_rpc_method_find(fw_echo_methods, fw_echo_methods_count, "/fwtest.Echo/Say")->kind, FW_RPC_UNARY);
    FW_CHECK_INT(fw_rpc_method_find(fw_echo_methods, fw_echo_methods_count, "/fwtest.Echo/Add")->kind,
                 FW_RPC_CLIENT_STREAM);
    FW_CHECK_INT(fw_rpc_method_find(fw_echo_methods, fw_echo_methods_count, "/fwtest.Echo/Chat")->kind,
                 FW_RPC_BIDI_STREAM);
    FW_CHECK_STR(fw_rpc_method_output(fw_rpc_method_find(fw_echo_methods, fw_echo_methods_count,
                                                         "/fwtest.Echo/Add"))->name,
                 "fwtest.Sum");
}

static void test_unary_echo_carries_text_token_user_and_metadata(void)
{
    Fwtest__EchoRequest req = FWTEST__ECHO_REQUEST__INIT;
    Fwtest__EchoReply *r = NULL;
    const char *md[] = {"x-extra", "hello-metadata", NULL};
    fw_rpc_call_options o = {.metadata = md, .timeout_ms = 3000};
    fw_error e;
    req.text = "héllo wörld";
    FW_REQUIRE(say(client, &req, &o, &r, &e) == FW_OK);
    FW_CHECK_STR(r->text, "héllo wörld");
    FW_CHECK_STR(r->token, "secret-token");
    FW_CHECK_STR(r->user, "user-of-secret-token");
    FW_CHECK_STR(r->extra, "hello-metadata");
    FW_CHECK_CONTAINS(r->peer, "127.0.0.1");
    FW_CHECK_MSG(r->deadline_ms > 1000 && r->deadline_ms <= 3000, "deadline_ms %lld", (long long)r->deadline_ms);
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_unary_without_deadline_reports_none(void)
{
    Fwtest__EchoRequest req = FWTEST__ECHO_REQUEST__INIT;
    Fwtest__EchoReply *r = NULL;
    fw_rpc_call_options o = {.timeout_ms = -1, .token = "other"};
    req.text = "x";
    FW_REQUIRE(say(client, &req, &o, &r, NULL) == FW_OK);
    FW_CHECK_INT(r->deadline_ms, INT64_MAX);
    FW_CHECK_STR(r->token, "other");
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_handler_error_maps_to_status_and_message(void)
{
    static const struct {
        fw_err code;
    } cases[] = {{FW_ERR_INVALID},    {FW_ERR_NOT_FOUND},       {FW_ERR_ALREADY_EXISTS},
                 {FW_ERR_PERMISSION}, {FW_ERR_UNAUTHENTICATED}, {FW_ERR_FAILED_PRECONDITION},
                 {FW_ERR_LIMIT},      {FW_ERR_UNAVAILABLE},     {FW_ERR_INTERNAL},
                 {FW_ERR_UNSUPPORTED}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        Fwtest__EchoRequest req = FWTEST__ECHO_REQUEST__INIT;
        Fwtest__EchoReply *r = NULL;
        fw_error e;
        req.text = "boom";
        req.fail_code = (int)cases[i].code;
        req.fail_field = "assets[2].layerName";
        FW_CHECK_INT(say(client, &req, NULL, &r, &e), cases[i].code);
        FW_CHECK_INT(e.code, cases[i].code);
        FW_CHECK_STR(e.field, "assets[2].layerName");
        FW_CHECK_STR(e.message, "asked to fail: boom");
        FW_CHECK(r == NULL);
    }
}

static void test_undecodable_request_is_invalid_argument(void)
{
    /* A Sum's field 1 is a varint; an EchoRequest's field 1 is a string. */
    Fwtest__Sum bad = FWTEST__SUM__INIT;
    ProtobufCMessage *r = NULL;
    fw_error e;
    bad.total = 42;
    FW_CHECK_INT(fw_rpc_client_unary(client, "/fwtest.Echo/Say", &bad.base, &fwtest__echo_reply__descriptor, NULL,
                                     &r, &e),
                 FW_ERR_INVALID);
    FW_CHECK_STR(e.field, "request");
    FW_CHECK_CONTAINS(e.message, "fwtest.EchoRequest");
}

static void test_unknown_unserved_and_bidi_methods_are_unimplemented(void)
{
    const char *paths[] = {"/fwtest.Echo/Nope", "/fwtest.Echo/Unserved", "/fwtest.Echo/Chat", "/other.Service/Say"};
    Fwtest__EchoRequest req = FWTEST__ECHO_REQUEST__INIT;
    for (size_t i = 0; i < 4; i++) {
        ProtobufCMessage *r = NULL;
        fw_error e;
        FW_CHECK_INT(fw_rpc_client_unary(client, paths[i], &req.base, &fwtest__echo_reply__descriptor, NULL, &r, &e),
                     FW_ERR_UNSUPPORTED);
        FW_CHECK_CONTAINS(e.message, paths[i]);
    }
}

static void test_registering_a_wrong_or_unknown_method_fails(void)
{
    fw_rpc_server *srv = NULL;
    fw_rpc_server_options o = {.listen = "127.0.0.1:0", .methods = fw_echo_methods,
                               .method_count = fw_echo_methods_count};
    fw_error e;
    FW_REQUIRE(fw_rpc_server_new(&srv, &o, &e) == FW_OK);
    FW_CHECK(fw_rpc_server_port(srv) > 0);
    FW_CHECK_INT(fw_rpc_server_on_unary(srv, "/fwtest.Echo/Hold", NULL, NULL, &e), FW_ERR_INVALID);
    FW_CHECK_STR(e.field, "/fwtest.Echo/Hold");
    FW_CHECK_CONTAINS(e.message, "server-streaming");
    FW_CHECK_INT(fw_rpc_server_on_unary(srv, "/fwtest.Echo/Missing", NULL, NULL, &e), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_rpc_server_on_unary(srv, "/fwtest.Echo/Chat", NULL, NULL, &e), FW_ERR_INVALID);
    fw_rpc_server_free(&srv);
    FW_CHECK(srv == NULL);

    o.listen = "";
    FW_CHECK_INT(fw_rpc_server_new(&srv, &o, &e), FW_ERR_INVALID);
    FW_CHECK_STR(e.field, "listen");
    o.listen = "256.1.1.1:99999";
    FW_CHECK_INT(fw_rpc_server_new(&srv, &o, &e), FW_ERR_UNAVAILABLE);
    FW_CHECK(srv == NULL);
}

static void test_server_stream_delivers_n_messages_in_order(void)
{
    Fwtest__EchoRequest req = FWTEST__ECHO_REQUEST__INIT;
    fw_rpc_reader *rd = NULL;
    fw_error e;
    int n = 0, in_order = 1;
    req.text = "tick";
    req.count = 300; /* more than the 64-message queue: the handler waits for room */
    FW_REQUIRE(fw_rpc_client_read_open(client, "/fwtest.Echo/Count", &req.base, &fwtest__echo_reply__descriptor, NULL,
                                       &rd, &e) == FW_OK);
    for (;;) {
        ProtobufCMessage *m = NULL;
        fw_err code = fw_rpc_reader_next(rd, &m, &e);
        FW_CHECK_INT(code, FW_OK);
        if (code != FW_OK || !m)
            break;
        if (((Fwtest__EchoReply *)m)->index != n)
            in_order = 0;
        if (n == 299)
            FW_CHECK_STR(((Fwtest__EchoReply *)m)->text, "tick 299");
        n++;
        protobuf_c_message_free_unpacked(m, NULL);
    }
    FW_CHECK_INT(n, 300);
    FW_CHECK(in_order);
    fw_rpc_reader_free(&rd);
}

static void test_server_stream_handler_error_ends_the_stream(void)
{
    Fwtest__EchoRequest req = FWTEST__ECHO_REQUEST__INIT;
    fw_rpc_reader *rd = NULL;
    ProtobufCMessage *m = NULL;
    fw_error e;
    req.fail_code = FW_ERR_PERMISSION;
    FW_REQUIRE(fw_rpc_client_read_open(client, "/fwtest.Echo/Count", &req.base, &fwtest__echo_reply__descriptor, NULL,
                                       &rd, &e) == FW_OK);
    FW_CHECK_INT(fw_rpc_reader_next(rd, &m, &e), FW_ERR_PERMISSION);
    FW_CHECK_STR(e.field, "count");
    FW_CHECK(m == NULL);
    fw_rpc_reader_free(&rd);
}

static void test_client_cancelling_a_kept_stream_tells_its_owner(void)
{
    Fwtest__EchoRequest req = FWTEST__ECHO_REQUEST__INIT;
    fw_rpc_reader *rd = NULL;
    ProtobufCMessage *m = NULL;
    fw_error e;
    int before = echo_server_gone_count(&server);
    FW_REQUIRE(fw_rpc_client_read_open(client, "/fwtest.Echo/Hold", &req.base, &fwtest__echo_reply__descriptor, NULL,
                                       &rd, &e) == FW_OK);
    FW_REQUIRE(fw_rpc_reader_next(rd, &m, &e) == FW_OK && m);
    FW_CHECK_STR(((Fwtest__EchoReply *)m)->text, "held");
    protobuf_c_message_free_unpacked(m, NULL);
    FW_CHECK_INT(echo_server_held_count(&server), 1);
    fw_rpc_reader_cancel(rd);
    FW_CHECK_INT(fw_rpc_reader_next(rd, &m, &e), FW_ERR_CANCELLED);
    FW_CHECK_INT(wait_gone(&server, before + 1), before + 1);
    FW_CHECK_INT(echo_server_held_count(&server), 0);
    FW_CHECK_INT(server.send_refused, echo_server_gone_count(&server)); /* sending after on_gone fails */
    fw_rpc_reader_free(&rd);
}

static void test_deadline_ends_a_slow_unary_call_and_a_kept_stream(void)
{
    Fwtest__EchoRequest req = FWTEST__ECHO_REQUEST__INIT;
    Fwtest__EchoReply *r = NULL;
    fw_rpc_call_options o = {.timeout_ms = 200};
    fw_rpc_reader *rd = NULL;
    ProtobufCMessage *m = NULL;
    fw_error e;
    int64_t t0 = now_ms();
    int gone_before = echo_server_gone_count(&server);

    req.delay_ms = 5000;
    FW_CHECK_INT(say(client, &req, &o, &r, &e), FW_ERR_DEADLINE);
    FW_CHECK_MSG(now_ms() - t0 < 2000, "took %lld ms", (long long)(now_ms() - t0));
    for (int i = 0; i < 200 && server.say_cancelled == 0; i++)
        sleep_ms(10);
    FW_CHECK_INT(server.say_cancelled, 1); /* the handler saw it and stopped */

    FW_REQUIRE(fw_rpc_client_read_open(client, "/fwtest.Echo/Hold", &req.base, &fwtest__echo_reply__descriptor, &o,
                                       &rd, &e) == FW_OK);
    FW_REQUIRE(fw_rpc_reader_next(rd, &m, &e) == FW_OK && m);
    protobuf_c_message_free_unpacked(m, NULL);
    FW_CHECK_INT(fw_rpc_reader_next(rd, &m, &e), FW_ERR_DEADLINE);
    FW_CHECK_INT(wait_gone(&server, gone_before + 1), gone_before + 1);
    fw_rpc_reader_free(&rd);
}

static void test_client_stream_of_many_chunks_is_summed(void)
{
    fw_rpc_writer *w = NULL;
    Fwtest__Sum *sum = NULL;
    uint8_t data[100];
    fw_error e;
    memset(data, 7, sizeof(data));
    FW_REQUIRE(fw_rpc_client_write_open(client, "/fwtest.Echo/Add", &fwtest__sum__descriptor, NULL, &w, &e) == FW_OK);
    for (int i = 1; i <= 1000; i++) {
        Fwtest__Chunk c = FWTEST__CHUNK__INIT;
        c.value = i;
        c.data.data = data;
        c.data.len = (size_t)(i % 101);
        FW_REQUIRE(fw_rpc_writer_send(w, &c.base, &e) == FW_OK);
    }
    FW_REQUIRE(fw_rpc_writer_finish(w, (ProtobufCMessage **)&sum, &e) == FW_OK);
    FW_CHECK_INT(sum->total, 500500);
    FW_CHECK_INT(sum->chunks, 1000);
    {
        int64_t bytes = 0;
        for (int i = 1; i <= 1000; i++)
            bytes += i % 101;
        FW_CHECK_INT(sum->bytes, bytes);
    }
    protobuf_c_message_free_unpacked(&sum->base, NULL);
    fw_rpc_writer_free(&w);
}

static void test_client_stream_of_nothing_sums_to_zero(void)
{
    fw_rpc_writer *w = NULL;
    Fwtest__Sum *sum = NULL;
    FW_REQUIRE(fw_rpc_client_write_open(client, "/fwtest.Echo/Add", &fwtest__sum__descriptor, NULL, &w, NULL) ==
               FW_OK);
    FW_REQUIRE(fw_rpc_writer_finish(w, (ProtobufCMessage **)&sum, NULL) == FW_OK);
    FW_CHECK_INT(sum->chunks, 0);
    protobuf_c_message_free_unpacked(&sum->base, NULL);
    fw_rpc_writer_free(&w);
}

typedef struct {
    int index;
    int ok;
} concurrent_arg;

static void *concurrent_call(void *p)
{
    concurrent_arg *a = p;
    Fwtest__EchoRequest req = FWTEST__ECHO_REQUEST__INIT;
    Fwtest__EchoReply *r = NULL;
    char text[32];
    snprintf(text, sizeof(text), "call %d", a->index);
    req.text = text;
    req.delay_ms = 50;
    if (say(client, &req, NULL, &r, NULL) == FW_OK) {
        a->ok = strcmp(r->text, text) == 0;
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    return NULL;
}

static void test_fifty_concurrent_calls_all_answer(void)
{
    pthread_t t[50];
    concurrent_arg a[50];
    int ok = 0;
    for (int i = 0; i < 50; i++) {
        a[i].index = i;
        a[i].ok = 0;
        pthread_create(&t[i], NULL, concurrent_call, &a[i]);
    }
    for (int i = 0; i < 50; i++) {
        pthread_join(t[i], NULL);
        ok += a[i].ok;
    }
    FW_CHECK_INT(ok, 50);
}

static void test_stopping_ends_open_streams_with_unavailable(void)
{
    echo_server s;
    fw_rpc_client *c;
    fw_rpc_reader *rd[3] = {NULL, NULL, NULL};
    Fwtest__EchoRequest req = FWTEST__ECHO_REQUEST__INIT;
    fw_error e;
    FW_REQUIRE(echo_server_start(&s, NULL, NULL, &e) == FW_OK);
    c = connect_to(s.port, NULL);
    for (int i = 0; i < 3; i++) {
        ProtobufCMessage *m = NULL;
        FW_REQUIRE(fw_rpc_client_read_open(c, "/fwtest.Echo/Hold", &req.base, &fwtest__echo_reply__descriptor, NULL,
                                           &rd[i], &e) == FW_OK);
        FW_REQUIRE(fw_rpc_reader_next(rd[i], &m, &e) == FW_OK && m);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    FW_CHECK_INT(echo_server_held_count(&s), 3);
    fw_rpc_server_stop(s.rpc);
    FW_CHECK_INT(echo_server_gone_count(&s), 3);
    FW_CHECK_INT(echo_server_held_count(&s), 0);
    FW_CHECK_INT(s.send_refused, 3);
    for (int i = 0; i < 3; i++) {
        ProtobufCMessage *m = NULL;
        FW_CHECK_INT(fw_rpc_reader_next(rd[i], &m, &e), FW_ERR_UNAVAILABLE);
        fw_rpc_reader_free(&rd[i]);
    }
    echo_server_stop(&s);
    FW_CHECK(s.rpc == NULL);
    fw_rpc_client_free(&c);
}

static void test_tls_when_given_a_certificate(void)
{
    const char *dir = fw_test_tmpdir();
    char cmd[2048], cert[512], key[512];
    echo_server s;
    fw_rpc_client *c = NULL;
    Fwtest__EchoRequest req = FWTEST__ECHO_REQUEST__INIT;
    Fwtest__EchoReply *r = NULL;
    char address[64];
    fw_error e;
    FW_REQUIRE(dir);
    if (access("/usr/bin/openssl", X_OK) != 0)
        FW_SKIP("the openssl command is not installed");
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
             "-addext subjectAltName=DNS:localhost -keyout %s -out %s >/dev/null 2>&1",
             key, cert);
    FW_REQUIRE(system(cmd) == 0);
    FW_REQUIRE(echo_server_start(&s, cert, key, &e) == FW_OK);
    snprintf(address, sizeof(address), "127.0.0.1:%d", s.port);
    {
        fw_rpc_client_options o = {.address = address, .ca_file = cert, .tls_server_name = "localhost",
                                   .timeout_ms = 5000};
        FW_REQUIRE(fw_rpc_client_new(&c, &o, &e) == FW_OK);
    }
    req.text = "over tls";
    FW_CHECK_INT(say(c, &req, NULL, &r, &e), FW_OK);
    if (r)
        FW_CHECK_STR(r->text, "over tls");
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
    fw_rpc_client_free(&c);
    {
        /* A plaintext client cannot talk to the TLS port. */
        fw_rpc_client *plain = connect_to(s.port, NULL);
        fw_rpc_call_options o = {.timeout_ms = 2000};
        r = NULL;
        FW_CHECK(say(plain, &req, &o, &r, &e) != FW_OK);
        FW_CHECK(r == NULL);
        fw_rpc_client_free(&plain);
    }
    echo_server_stop(&s);
    {
        fw_rpc_server *srv = NULL;
        fw_rpc_server_options o = {.listen = "127.0.0.1:0", .tls_cert_file = cert};
        FW_CHECK_INT(fw_rpc_server_new(&srv, &o, &e), FW_ERR_INVALID);
        FW_CHECK_STR(e.field, "tls_key_file");
    }
}

int main(void)
{
    fw_error e;
    if (echo_server_start(&server, NULL, NULL, &e) != FW_OK) {
        fprintf(stderr, "cannot start the echo server: %s\n", e.message);
        return 1;
    }
    client = connect_to(server.port, "secret-token");
    FW_RUN(test_method_table_knows_which_methods_stream);
    FW_RUN(test_unary_echo_carries_text_token_user_and_metadata);
    FW_RUN(test_unary_without_deadline_reports_none);
    FW_RUN(test_handler_error_maps_to_status_and_message);
    FW_RUN(test_undecodable_request_is_invalid_argument);
    FW_RUN(test_unknown_unserved_and_bidi_methods_are_unimplemented);
    FW_RUN(test_registering_a_wrong_or_unknown_method_fails);
    FW_RUN(test_server_stream_delivers_n_messages_in_order);
    FW_RUN(test_server_stream_handler_error_ends_the_stream);
    FW_RUN(test_client_cancelling_a_kept_stream_tells_its_owner);
    FW_RUN(test_deadline_ends_a_slow_unary_call_and_a_kept_stream);
    FW_RUN(test_client_stream_of_many_chunks_is_summed);
    FW_RUN(test_client_stream_of_nothing_sums_to_zero);
    FW_RUN(test_fifty_concurrent_calls_all_answer);
    FW_RUN(test_stopping_ends_open_streams_with_unavailable);
    FW_RUN(test_tls_when_given_a_certificate);
    fw_rpc_client_free(&client);
    echo_server_stop(&server);
    return fw_test_end();
}
