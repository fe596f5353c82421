/* auth.c - see auth.h. */
#include "server/api/auth.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "server/util/id.h"

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void fw_auth_key_hash(const char *key, char hash[FW_KEY_HASH_SIZE])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    EVP_Digest(key, strlen(key), digest, &len, EVP_sha256(), NULL);
    for (unsigned i = 0; i < len && i < 32; i++)
        snprintf(hash + i * 2, 3, "%02x", digest[i]);
    hash[64] = '\0';
}

fw_err fw_auth_key_create(fw_store *store, const char *team_id, char key[FW_KEY_SIZE], fw_error *err)
{
    unsigned char random[40];
    char hash[FW_KEY_HASH_SIZE], prefix[12];

    memcpy(key, "fw_", 3);
    /* 248 is the largest multiple of 62 under 256: bytes from 248 up would
     * make some characters likelier, so they are skipped. */
    for (int i = 0; i < 40;) {
        if (fw_random_bytes(random, sizeof(random)) != 0)
            return fw_error_set(err, FW_ERR_INTERNAL, NULL, "the kernel gave no random bytes for a key");
        for (size_t j = 0; j < sizeof(random) && i < 40; j++)
            if (random[j] < 248)
                key[3 + i++] = base62[random[j] % 62];
    }
    key[43] = '\0';
    fw_auth_key_hash(key, hash);
    snprintf(prefix, sizeof(prefix), "%.7s", key);
    return fw_store_key_add(store, team_id, hash, prefix, err);
}

fw_err fw_auth_team(fw_store *store, const char *token, char team_id[FW_ID_SIZE], fw_error *err)
{
    char hash[FW_KEY_HASH_SIZE];
    fw_err rc;

    if (!token || !*token)
        return fw_error_set(err, FW_ERR_UNAUTHENTICATED, "authorization",
                            "send the API key as 'authorization: Bearer <key>'");
    fw_auth_key_hash(token, hash);
    rc = fw_store_key_team(store, hash, team_id, err);
    if (rc == FW_ERR_NOT_FOUND)
        return fw_error_set(err, FW_ERR_UNAUTHENTICATED, "authorization", "the API key is not valid");
    return rc;
}
