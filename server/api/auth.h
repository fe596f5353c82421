/*
 * auth.h - API keys: made, hashed, and checked against the store.
 *
 * A key is "fw_" and 40 base62 characters (238 bits from the kernel). Only
 * its SHA-256 is stored: a key this long cannot be guessed from its hash, so
 * no slow password hash is needed, and checking a request costs one lookup.
 */
#ifndef FW_API_AUTH_H
#define FW_API_AUTH_H

#include "server/store/store.h"
#include "server/util/error.h"

#define FW_KEY_SIZE 48   /* "fw_" + 40 characters + NUL, with room */
#define FW_KEY_HASH_SIZE 65

/* A new key for team_id, recorded in the store; the key itself into key
 * (it is not kept anywhere: show it once). */
fw_err fw_auth_key_create(fw_store *store, const char *team_id, char key[FW_KEY_SIZE], fw_error *err);

/* SHA-256 of key as 64 hex digits. */
void fw_auth_key_hash(const char *key, char hash[FW_KEY_HASH_SIZE]);

/* The team a bearer token belongs to. FW_ERR_UNAUTHENTICATED (field
 * "authorization") when the token is missing or unknown. */
fw_err fw_auth_team(fw_store *store, const char *token, char team_id[FW_ID_SIZE], fw_error *err);

#endif
