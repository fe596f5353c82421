/*
 * error.h - the one error type of Framewright.
 *
 * Every function that can fail returns an fw_err and, when given a non-NULL
 * fw_error, fills it with the code, where the problem is (a field path such as
 * "assets[2].layerName") and a sentence saying what is wrong and what would be
 * right. gRPC status codes and HTTP statuses are mapped from fw_err in one
 * place each; nothing else invents its own error numbers.
 */
#ifndef FW_UTIL_ERROR_H
#define FW_UTIL_ERROR_H

#include <stdarg.h>

typedef enum fw_err {
    FW_OK = 0,
    FW_ERR_INVALID,             /* bad input: a field or value is wrong */
    FW_ERR_NOT_FOUND,           /* a named thing does not exist */
    FW_ERR_UNSUPPORTED,         /* valid, but not something we do (yet) */
    FW_ERR_LIMIT,               /* beyond a configured limit */
    FW_ERR_ALREADY_EXISTS,
    FW_ERR_FAILED_PRECONDITION, /* the object is not in a state that allows it */
    FW_ERR_UNAUTHENTICATED,
    FW_ERR_PERMISSION,
    FW_ERR_CANCELLED,
    FW_ERR_DEADLINE,
    FW_ERR_IO,                  /* a file could not be read or written */
    FW_ERR_NETWORK,             /* a remote resource could not be fetched */
    FW_ERR_UNAVAILABLE,         /* a service we depend on is down; retry */
    FW_ERR_NOMEM,
    FW_ERR_INTERNAL,            /* a bug or a failing library */
    FW_ERR_QUOTA,               /* over a quota for now: retry after retry_after_s */
    FW_ERR_COUNT_
} fw_err;

#define FW_ERROR_FIELD_MAX 160
#define FW_ERROR_MESSAGE_MAX 768

typedef struct fw_error {
    fw_err code;
    char field[FW_ERROR_FIELD_MAX];     /* "" when the error has no field */
    char message[FW_ERROR_MESSAGE_MAX]; /* a full sentence, no trailing newline */
    int retry_after_s;                  /* FW_ERR_QUOTA: seconds until a retry may pass; else 0 */
} fw_error;

/* The code as a short lower-case word ("invalid", "not found", ...). */
const char *fw_strerror(fw_err code);

/* Fill *e (if e is non-NULL) and return code, so callers can write
 * `return fw_error_set(err, FW_ERR_INVALID, "settings.codec", "...", ...);`.
 * field may be NULL. */
fw_err fw_error_set(fw_error *e, fw_err code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
fw_err fw_error_setv(fw_error *e, fw_err code, const char *field, const char *fmt, va_list ap);

/* Put "prefix" in front of the field path: "layerName" -> "assets[2].layerName".
 * The prefix is printf-formatted. */
void fw_error_prefix_field(fw_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* FW_ERR_QUOTA with the seconds a caller should wait (at least 1). */
fw_err fw_error_quota(fw_error *e, int retry_after_s, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Clear to FW_OK with empty field and message. */
void fw_error_clear(fw_error *e);

/* "field: message" or just "message" into buf; returns buf. */
const char *fw_error_text(const fw_error *e, char *buf, unsigned long size);

#endif
