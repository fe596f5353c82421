/*
 * secrets.h - team secrets: sealed at rest, and substituted into job fields.
 *
 * A secret is a named value a team stores once (an S3 key, a webhook token)
 * and names in its jobs as ${secret.NAME} or ${secrets.NAME} - both spellings
 * are Nexrender's. The stored job keeps the placeholders; the values are put
 * in only where they are used (a worker opening the upload bucket, the
 * webhook sender), so they never reach an answer, a log line or an error.
 *
 * At rest a value is sealed with AES-256-GCM: a random 96-bit nonce per value
 * and the team id as additional data, so a sealed value copied into another
 * team's row does not open. The text stored is "v1:" and the hex of
 * nonce | ciphertext | tag. The 32-byte key comes from the configuration:
 * FRAMEWRIGHT_SECRETS_KEY (64 hex digits) or DATA/secrets.key, made once.
 */
#ifndef FW_SECRETS_SECRETS_H
#define FW_SECRETS_SECRETS_H

#include <stddef.h>

#include "server/store/store.h"
#include "server/util/error.h"

#define FW_SECRETS_KEY_SIZE 32
#define FW_SECRET_NAME_MAX 128
#define FW_SECRET_VALUE_MAX 65536

/* The key from FRAMEWRIGHT_SECRETS_KEY, else from data_dir/secrets.key,
 * which is made (mode 0600) when missing. A malformed key is FW_ERR_INVALID
 * naming where it came from; its text is never repeated. */
fw_err fw_secrets_key_load(const char *data_dir, unsigned char key[FW_SECRETS_KEY_SIZE], fw_error *err);

/* 1 when name is [A-Za-z_][A-Za-z0-9_]{0,127}. */
int fw_secret_name_valid(const char *name);

/* Seal value for team_id; *sealed is a new string the caller frees. */
fw_err fw_secrets_seal(const unsigned char key[FW_SECRETS_KEY_SIZE], const char *team_id, const char *value,
                       char **sealed, fw_error *err);

/* Open a sealed value of team_id; *value is a new string the caller frees
 * with fw_secret_free. A tampered value, another team's or another key's is
 * FW_ERR_PERMISSION ("cannot be opened"). */
fw_err fw_secrets_open(const unsigned char key[FW_SECRETS_KEY_SIZE], const char *team_id, const char *sealed,
                       char **value, fw_error *err);

/* Wipe and free a value that held a secret; nulls the pointer. */
void fw_secret_free(char **value);

/* Looks a secret up by name: *value a new string (freed by the substituter
 * with fw_secret_free), FW_ERR_NOT_FOUND when there is none. */
typedef fw_err (*fw_secret_lookup_fn)(void *user, const char *name, char **value, fw_error *err);

/* Replace every ${secret.NAME} and ${secrets.NAME} in text. *out is a new
 * string (free with fw_secret_free: it may hold secrets), or NULL on error -
 * never half-substituted. A name lookup does not know is FW_ERR_INVALID
 * "no secret 'NAME'"; a placeholder with a malformed name or no closing
 * brace is FW_ERR_INVALID too. Text without placeholders is copied. */
fw_err fw_secrets_substitute(const char *text, fw_secret_lookup_fn lookup, void *user, char **out, fw_error *err);

/* 1 when text holds anything that looks like a placeholder. */
int fw_secrets_has_placeholder(const char *text);

/* Substitute with the team's secrets from the store (the webhook sender and
 * the worker use it). */
fw_err fw_secrets_resolve(fw_store *store, const unsigned char key[FW_SECRETS_KEY_SIZE], const char *team_id,
                          const char *text, char **out, fw_error *err);

/* Check that every placeholder in text names a secret the team has, without
 * opening any; field names the place in errors. */
fw_err fw_secrets_check(fw_store *store, const char *team_id, const char *text, const char *field, fw_error *err);

/* Replace every occurrence of each of the n values in the text in buf (of
 * size bytes) with "[redacted]" - for error texts from services that echo
 * what they were given. Values shorter than 4 bytes are skipped (they would
 * redact ordinary words and give nothing away). */
void fw_secrets_redact(char *buf, size_t size, const char *const *values, size_t n);

#endif
