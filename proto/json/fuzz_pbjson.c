/*
 * fuzz_pbjson.c - libFuzzer target for the JSON <-> message converter.
 *
 * Any bytes are parsed as JSON into a JobRequest (and, for coverage of
 * timestamps, wrappers, int64, bytes and maps, into a Job, a Font, an
 * UploadFontRequest and a Batch). Whatever parses must write back to JSON
 * and that text must parse again into the very same message, compared by
 * packed bytes: the converter may refuse input, never crash or lose data.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/batch.pb-c.h"
#include "proto/font.pb-c.h"
#include "proto/job.pb-c.h"
#include "proto/json/pbjson.h"

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    uint8_t *buf;
    *len = protobuf_c_message_get_packed_size(m);
    buf = malloc(*len + 1);
    if (!buf)
        abort();
    protobuf_c_message_pack(m, buf);
    return buf;
}

static void round_trip(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t size)
{
    ProtobufCMessage *first = NULL, *second = NULL;
    uint8_t *a, *b;
    size_t na, nb;
    char *text = NULL;
    fw_error err;

    if (fw_pbjson_parse(d, (const char *)data, size, 0, &first, &err) != FW_OK) {
        if (first || err.code == FW_OK)
            abort();
        return;
    }
    if (fw_pbjson_format(first, 0, &text, &err) != FW_OK) {
        fprintf(stderr, "%s: could not write back what was read: %s: %s\n", d->name, err.field, err.message);
        abort();
    }
    if (fw_pbjson_parse(d, text, strlen(text), 0, &second, &err) != FW_OK) {
        fprintf(stderr, "%s: could not read back %s: %s: %s\n", d->name, text, err.field, err.message);
        abort();
    }
    a = pack(first, &na);
    b = pack(second, &nb);
    if (na != nb || memcmp(a, b, na) != 0) {
        fprintf(stderr, "%s: round trip changed the message; text was %s\n", d->name, text);
        abort();
    }
    free(a);
    free(b);
    free(text);
    fw_pbjson_message_free(&first);
    fw_pbjson_message_free(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    round_trip(&framewright__v1__job_request__descriptor, data, size);
    round_trip(&framewright__v1__job__descriptor, data, size);
    round_trip(&framewright__v1__font__descriptor, data, size);
    round_trip(&framewright__v1__upload_font_request__descriptor, data, size);
    round_trip(&framewright__v1__batch__descriptor, data, size);
    return 0;
}
