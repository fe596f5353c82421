/*
 * echo_server.c - handlers of fwtest.Echo, one per kind of method.
 */
#include "tests/api/echo_server.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tests/api/echo_methods.h"
#include "tests/api/testdata/echo.pb-c.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static fw_err say(fw_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, fw_error *err)
{
    const Fwtest__EchoRequest *req = (const Fwtest__EchoRequest *)reqm;
    echo_server *s = fw_rpc_call_context(call);
    Fwtest__EchoReply *r;
    const char *token = fw_rpc_call_bearer_token(call);
    const char *extra = fw_rpc_call_metadata(call, "x-extra");
    char user[256];

    if (req->fail_code)
        return fw_error_set(err, (fw_err)req->fail_code, req->fail_field[0] ? req->fail_field : NULL,
                            "asked to fail: %s", req->text);
    for (int64_t waited = 0; waited < req->delay_ms; waited += 10) {
        if (fw_rpc_call_cancelled(call)) {
            pthread_mutex_lock(&s->mu);
            s->say_cancelled++;
            pthread_mutex_unlock(&s->mu);
            return fw_error_set(err, FW_ERR_CANCELLED, NULL, "the client went away");
        }
        sleep_ms(10);
    }
    if (token) {
        snprintf(user, sizeof(user), "user-of-%s", token);
        fw_rpc_call_set_user(call, user);
    }
    r = fw_rpc_alloc(call, sizeof(*r));
    fwtest__echo_reply__init(r);
    r->text = fw_rpc_strdup(call, req->text);
    r->token = fw_rpc_strdup(call, token ? token : "");
    r->user = fw_rpc_strdup(call, fw_rpc_call_user(call) ? fw_rpc_call_user(call) : "");
    r->extra = fw_rpc_strdup(call, extra ? extra : "");
    r->peer = fw_rpc_strdup(call, fw_rpc_call_peer(call));
    r->deadline_ms = fw_rpc_call_deadline_ms(call);
    *resp = &r->base;
    return FW_OK;
}

/* Sends count replies from the handler's thread, then finishes itself. */
static fw_err count(fw_rpc_call *call, const ProtobufCMessage *reqm, fw_rpc_stream *stream, fw_error *err)
{
    const Fwtest__EchoRequest *req = (const Fwtest__EchoRequest *)reqm;
    fw_error e;
    fw_err code = FW_OK;
    if (req->fail_code)
        return fw_error_set(err, (fw_err)req->fail_code, "count", "asked to fail");
    for (int i = 0; i < req->count && code == FW_OK; i++) {
        Fwtest__EchoReply r = FWTEST__ECHO_REPLY__INIT;
        char text[64];
        snprintf(text, sizeof(text), "%s %d", req->text, i);
        r.text = text;
        r.index = i;
        code = fw_rpc_stream_send_wait(stream, &r.base, -1, &e);
    }
    fw_rpc_stream_finish(stream, FW_OK, NULL);
    return FW_OK;
}

/* Keeps the stream: it is ended by on_gone (client gone, server stopping). */
static fw_err hold(fw_rpc_call *call, const ProtobufCMessage *reqm, fw_rpc_stream *stream, fw_error *err)
{
    echo_server *s = fw_rpc_call_context(call);
    Fwtest__EchoReply r = FWTEST__ECHO_REPLY__INIT;
    fw_err code;
    r.text = "held";
    /* In the table before the first reply, so a client that saw the reply
     * finds the stream held. */
    pthread_mutex_lock(&s->mu);
    if (s->held_count == ECHO_MAX_HELD) {
        pthread_mutex_unlock(&s->mu);
        return fw_error_set(err, FW_ERR_LIMIT, NULL, "too many held streams");
    }
    s->held[s->held_count++] = stream;
    pthread_mutex_unlock(&s->mu);
    code = fw_rpc_stream_send(stream, &r.base, err);
    if (code != FW_OK) {
        pthread_mutex_lock(&s->mu);
        for (int i = 0; i < s->held_count; i++)
            if (s->held[i] == stream)
                s->held[i] = s->held[--s->held_count];
        pthread_mutex_unlock(&s->mu);
    }
    return code;
}

static void hold_gone(fw_rpc_stream *stream, void *ctx)
{
    echo_server *s = ctx;
    int found = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->held_count; i++) {
        if (s->held[i] == stream) {
            s->held[i] = s->held[--s->held_count];
            s->gone_count++;
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (found) {
        Fwtest__EchoReply r = FWTEST__ECHO_REPLY__INIT;
        fw_err code = fw_rpc_stream_send(stream, &r.base, NULL);
        if (code == FW_ERR_CANCELLED || code == FW_ERR_DEADLINE || code == FW_ERR_UNAVAILABLE) {
            pthread_mutex_lock(&s->mu);
            s->send_refused++;
            pthread_mutex_unlock(&s->mu);
        }
        fw_rpc_stream_finish(stream, FW_ERR_CANCELLED, NULL);
    }
}

static fw_err add(fw_rpc_call *call, ProtobufCMessage **resp, fw_error *err)
{
    Fwtest__Sum *sum = fw_rpc_alloc(call, sizeof(*sum));
    fwtest__sum__init(sum);
    for (;;) {
        ProtobufCMessage *m;
        fw_err code = fw_rpc_read(call, &m, err);
        Fwtest__Chunk *chunk = (Fwtest__Chunk *)m;
        if (code != FW_OK)
            return code;
        if (!m)
            break;
        sum->total += chunk->value;
        sum->bytes += (int64_t)chunk->data.len;
        sum->chunks++;
        protobuf_c_message_free_unpacked(m, NULL);
    }
    *resp = &sum->base;
    return FW_OK;
}

fw_err echo_server_start(echo_server *s, const char *cert, const char *key, fw_error *err)
{
    fw_rpc_server_options o = {
        .listen = "127.0.0.1:0",
        .tls_cert_file = cert,
        .tls_key_file = key,
        .methods = fw_echo_methods,
        .method_count = fw_echo_methods_count,
        .threads = 8,
        .shutdown_grace_ms = 2000,
    };
    fw_err code;
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    if ((code = fw_rpc_server_new(&s->rpc, &o, err)) != FW_OK ||
        (code = fw_rpc_server_on_unary(s->rpc, "/fwtest.Echo/Say", say, s, err)) != FW_OK ||
        (code = fw_rpc_server_on_server_stream(s->rpc, "/fwtest.Echo/Count", count, NULL, s, err)) != FW_OK ||
        (code = fw_rpc_server_on_server_stream(s->rpc, "/fwtest.Echo/Hold", hold, hold_gone, s, err)) != FW_OK ||
        (code = fw_rpc_server_on_client_stream(s->rpc, "/fwtest.Echo/Add", add, s, err)) != FW_OK ||
        (code = fw_rpc_server_start(s->rpc, err)) != FW_OK) {
        fw_rpc_server_free(&s->rpc);
        pthread_mutex_destroy(&s->mu);
        return code;
    }
    s->port = fw_rpc_server_port(s->rpc);
    return FW_OK;
}

void echo_server_stop(echo_server *s)
{
    fw_rpc_server_free(&s->rpc);
    pthread_mutex_destroy(&s->mu);
}

int echo_server_gone_count(echo_server *s)
{
    int n;
    pthread_mutex_lock(&s->mu);
    n = s->gone_count;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int echo_server_held_count(echo_server *s)
{
    int n;
    pthread_mutex_lock(&s->mu);
    n = s->held_count;
    pthread_mutex_unlock(&s->mu);
    return n;
}
