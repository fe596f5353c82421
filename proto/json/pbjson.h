/*
 * pbjson.h - JSON <-> protobuf-c messages, following the proto3 JSON mapping.
 *
 * One converter for every message: it walks the protobuf-c descriptors
 * (ProtobufCMessageDescriptor / ProtobufCFieldDescriptor) instead of code
 * written per message, so the REST gateway, the job-file parser and the CLI
 * all read and write exactly the same JSON for a framewright.v1 message.
 *
 * The mapping (https://protobuf.dev/programming-guides/json/):
 *   - field names: lowerCamelCase on output ("layer_name" -> "layerName");
 *     input takes either spelling;
 *   - int32/uint32/sint32/fixed32/sfixed32: JSON numbers; int64 and friends:
 *     decimal strings on output; on input numbers or numeric strings, with
 *     fractions and out-of-range values refused;
 *   - float/double: numbers, or "NaN", "Infinity", "-Infinity";
 *   - bytes: base64 (standard alphabet, padded) on output; standard or
 *     URL-safe, padded or not, on input;
 *   - enums: the value's name (numbers accepted on input);
 *   - repeated fields: arrays; maps: objects with the key as a string;
 *   - google.protobuf.Value / Struct / ListValue: any JSON value as is;
 *     NullValue: null;
 *   - google.protobuf.Timestamp: RFC 3339 text. Output is UTC with 3, 6 or 9
 *     fractional digits ("2025-05-14T12:00:00.000Z": always at least the
 *     milliseconds, as JavaScript's Date and Nexrender write them); input
 *     takes 0 to 9 digits and any offset ("+02:00");
 *   - wrappers (StringValue, DoubleValue, Int32Value, BoolValue, ...): the
 *     plain value; null or absent means the field is unset.
 *
 * Output omits fields at their proto3 default (0, "", false, empty lists and
 * maps, unset messages) unless FW_PBJSON_EMIT_DEFAULTS is given. Input treats
 * null as "leave at the default" and reports every problem as FW_ERR_INVALID
 * with fw_error.field set to the JSON path of the value at fault
 * ("assets[2].layerName", "webhook.headers.X-Token") and a sentence saying
 * what was expected.
 *
 * Messages made here are laid out the way protobuf_c_message_unpack() lays
 * them out (malloc'd, message_init()'d), so protobuf_c_message_free_unpacked
 * (msg, NULL) or fw_pbjson_message_free(&msg) frees them.
 */
#ifndef FW_PROTO_PBJSON_H
#define FW_PROTO_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "server/util/error.h"

enum fw_pbjson_flags {
    /* Input: skip fields and enum value names the message does not know
     * instead of failing (a client newer than the server). */
    FW_PBJSON_IGNORE_UNKNOWN = 1u << 0,
    /* Output: also write scalar fields at their default, [] and {}. */
    FW_PBJSON_EMIT_DEFAULTS = 1u << 1,
    /* Output: write unset wrapper fields (StringValue, DoubleValue, ...) as
     * null, the way REST clients expect `"outputUrl": null`. */
    FW_PBJSON_NULL_WRAPPERS = 1u << 2,
    /* Output: the .proto field names ("layer_name") instead of camelCase. */
    FW_PBJSON_PROTO_NAMES = 1u << 3,
    /* fw_pbjson_format: indent by two spaces instead of compact text. */
    FW_PBJSON_PRETTY = 1u << 4,
};

/* JSON nesting (objects and arrays) deeper than this is refused, on input
 * and on output, so hostile input cannot exhaust the stack. */
#define FW_PBJSON_MAX_DEPTH 64

/* fw_pbjson_parse refuses texts longer than this (FW_ERR_LIMIT). */
#define FW_PBJSON_MAX_TEXT (16u << 20)

/* Build a message of type d from the JSON value `in` (an object for ordinary
 * messages; any value for google.protobuf.Value and the other well-known types).
 * On success *out is a new message the caller frees with
 * fw_pbjson_message_free(); on failure *out is NULL and err says where and why. */
fw_err fw_pbjson_to_message(const ProtobufCMessageDescriptor *d, const json_t *in, unsigned flags,
                            ProtobufCMessage **out, fw_error *err);

/* The JSON form of m. On success *out is a new reference the caller releases
 * with json_decref(); on failure (a string that is not UTF-8, a Timestamp out
 * of range, NaN inside a google.protobuf.Value, ...) *out is NULL. */
fw_err fw_pbjson_from_message(const ProtobufCMessage *m, unsigned flags, json_t **out, fw_error *err);

/* fw_pbjson_to_message on JSON text of len bytes (need not be NUL-terminated).
 * Duplicate object keys are refused. Text that is not JSON fails with
 * FW_ERR_INVALID and the parser's line and column in the message. */
fw_err fw_pbjson_parse(const ProtobufCMessageDescriptor *d, const char *text, size_t len, unsigned flags,
                       ProtobufCMessage **out, fw_error *err);

/* fw_pbjson_from_message as NUL-terminated text (compact, or indented with
 * FW_PBJSON_PRETTY), fields in field-number order. Doubles are written in
 * the shortest form that reads back exactly (0.1, not jansson's
 * 0.10000000000000001), so prefer this to json_dumps() of the json_t.
 * The caller frees *out with free(). */
fw_err fw_pbjson_format(const ProtobufCMessage *m, unsigned flags, char **out, fw_error *err);

/* Free a message made by fw_pbjson_to_message (or protobuf-c's unpacker) and
 * set *m to NULL. NULL and *m == NULL are fine. */
void fw_pbjson_message_free(ProtobufCMessage **m);

#endif
