/* error.c - see error.h. */
#include "server/util/error.h"

#include <stdio.h>
#include <string.h>

static const char *const error_names[FW_ERR_COUNT_] = {
    [FW_OK] = "ok",
    [FW_ERR_INVALID] = "invalid argument",
    [FW_ERR_NOT_FOUND] = "not found",
    [FW_ERR_UNSUPPORTED] = "unsupported",
    [FW_ERR_LIMIT] = "limit exceeded",
    [FW_ERR_ALREADY_EXISTS] = "already exists",
    [FW_ERR_FAILED_PRECONDITION] = "failed precondition",
    [FW_ERR_UNAUTHENTICATED] = "unauthenticated",
    [FW_ERR_PERMISSION] = "permission denied",
    [FW_ERR_CANCELLED] = "cancelled",
    [FW_ERR_DEADLINE] = "deadline exceeded",
    [FW_ERR_IO] = "i/o error",
    [FW_ERR_NETWORK] = "network error",
    [FW_ERR_UNAVAILABLE] = "unavailable",
    [FW_ERR_NOMEM] = "out of memory",
    [FW_ERR_INTERNAL] = "internal error",
    [FW_ERR_QUOTA] = "quota exceeded",
};

const char *fw_strerror(fw_err code)
{
    if ((unsigned)code >= FW_ERR_COUNT_)
        return "unknown error";
    return error_names[code];
}

fw_err fw_error_setv(fw_error *e, fw_err code, const char *field, const char *fmt, va_list ap)
{
    if (!e)
        return code;
    e->code = code;
    e->retry_after_s = 0;
    snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    return code;
}

fw_err fw_error_set(fw_error *e, fw_err code, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fw_error_setv(e, code, field, fmt, ap);
    va_end(ap);
    return code;
}

fw_err fw_error_quota(fw_error *e, int retry_after_s, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fw_error_setv(e, FW_ERR_QUOTA, field, fmt, ap);
    va_end(ap);
    if (e)
        e->retry_after_s = retry_after_s < 1 ? 1 : retry_after_s;
    return FW_ERR_QUOTA;
}

void fw_error_prefix_field(fw_error *e, const char *fmt, ...)
{
    char prefix[FW_ERROR_FIELD_MAX];
    char old[FW_ERROR_FIELD_MAX];
    va_list ap;

    if (!e)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, e->field, sizeof(old));
    if (old[0] == '\0')
        snprintf(e->field, sizeof(e->field), "%s", prefix);
    else if (old[0] == '[')
        snprintf(e->field, sizeof(e->field), "%s%s", prefix, old);
    else
        snprintf(e->field, sizeof(e->field), "%s.%s", prefix, old);
}

void fw_error_clear(fw_error *e)
{
    if (!e)
        return;
    e->code = FW_OK;
    e->retry_after_s = 0;
    e->field[0] = '\0';
    e->message[0] = '\0';
}

const char *fw_error_text(const fw_error *e, char *buf, unsigned long size)
{
    if (e->field[0])
        snprintf(buf, size, "%s: %s", e->field, e->message);
    else
        snprintf(buf, size, "%s", e->message);
    return buf;
}
