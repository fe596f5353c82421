/*
 * digest.c - see digest.h: the render cache's key.
 *
 * The digest is SHA-256 over a sequence of tagged fields, each written as
 * its tag (with the NUL), a byte saying whether it is present and, when it
 * is, its length as 8 bytes big-endian and its bytes. The tags come in a
 * fixed order (version, kind, frames, output, document, each font, default
 * font), so two different inputs never make the same bytes.
 *
 * The document is hashed as a copy in which every asset that names a file
 * has lost its folder ("u") and gained the SHA-256 of the file's content
 * ("fw_content"): the folder is only where the worker put the file (the
 * template's and the job's files live in a fresh scratch folder each time),
 * while the file's name stays, as engines look at its extension. Binding
 * each content hash to its asset inside the JSON leaves no question of the
 * order in which files were hashed.
 *
 * A whole output hashes the file of every asset that has one, used by a
 * layer or not. A part (FW_DIGEST_PART) prunes the copy first; see
 * prune_to_frames. The Lottie keys this needs are named in the block below
 * and nowhere else in the file.
 */
#include "server/work/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHA256_BYTES 32
#define READ_BLOCK (64 * 1024)

/* ---- the Lottie document, as far as the digest needs it ------------------------------------ */

enum { LAYER_AUDIO = 6 };

static json_t *root_layers(json_t *doc) { return json_object_get(doc, "layers"); }
static json_t *assets_of(json_t *doc) { return json_object_get(doc, "assets"); }
static json_t *asset_layers(const json_t *asset) { return json_object_get(asset, "layers"); }
static const char *asset_id(const json_t *asset) { return json_string_value(json_object_get(asset, "id")); }
static const char *asset_folder(const json_t *asset) { return json_string_value(json_object_get(asset, "u")); }
static const char *asset_file(const json_t *asset) { return json_string_value(json_object_get(asset, "p")); }
static const char *layer_source(const json_t *layer) { return json_string_value(json_object_get(layer, "refId")); }

static double number_or(const json_t *object, const char *key, double fallback)
{
    json_t *v = json_object_get(object, key);
    return json_is_number(v) ? json_number_value(v) : fallback;
}

static int layer_is_audio(const json_t *layer) { return number_or(layer, "ty", -1) == LAYER_AUDIO; }

/* The layer draws from its in point up to, not including, its out point;
 * a missing one is taken as "always", which keeps the layer. */
static double layer_in(const json_t *layer) { return number_or(layer, "ip", -1e300); }
static double layer_out(const json_t *layer) { return number_or(layer, "op", 1e300); }

/* Another layer's "ind" this one depends on: its parent ("parent") and its
 * matte named by index ("tp", newer exports); -1 when none. */
static double layer_parent(const json_t *layer) { return number_or(layer, "parent", -1); }
static double layer_matte_index(const json_t *layer) { return number_or(layer, "tp", -1); }
static double layer_index(const json_t *layer) { return number_or(layer, "ind", -2); }
/* Older exports: a layer with a track matte uses the layer just before it. */
static int layer_uses_previous_as_matte(const json_t *layer) { return json_object_get(layer, "tt") != NULL; }

/* A file under resource_dir, as opposed to precomps, embedded data: URIs
 * ("e": 1) and assets without a file. */
static int asset_has_file(const json_t *asset)
{
    const char *p = asset_file(asset);
    json_t *e = json_object_get(asset, "e");
    if (!p || json_is_array(asset_layers(asset)))
        return 0;
    return !(json_is_integer(e) && json_integer_value(e) == 1) && strncmp(p, "data:", 5) != 0;
}

/* Expressions are properties with an "x" string. */
static int has_expression(const json_t *node)
{
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_object(node)) {
        if (json_is_string(json_object_get(node, "x")))
            return 1;
        json_object_foreach((json_t *)node, key, v)
            if (has_expression(v))
                return 1;
    } else if (json_is_array(node)) {
        json_array_foreach(node, i, v)
            if (has_expression(v))
                return 1;
    }
    return 0;
}

/* ---- pruning a part ------------------------------------------------------------------------ */

static ssize_t find_layer_by_index(json_t *layers, double ind)
{
    json_t *layer;
    size_t i;
    if (ind < 0)
        return -1;
    json_array_foreach(layers, i, layer)
        if (layer_index(layer) == ind)
            return (ssize_t)i;
    return -1;
}

/* Mark the assets layers use, and through precomps the assets their layers
 * use, in used[] (parallel to assets). A precomp is walked once, when first
 * marked, so precomps that use each other end; no depth limit, which could
 * leave out an asset a deep precomp draws. */
static void mark_assets(json_t *assets, json_t *layers, char *used)
{
    json_t *layer, *asset;
    size_t i, a;

    json_array_foreach(layers, i, layer) {
        const char *ref = layer_source(layer);
        if (!ref)
            continue;
        json_array_foreach(assets, a, asset) {
            const char *id = asset_id(asset);
            if (used[a] || !id || strcmp(id, ref) != 0)
                continue;
            used[a] = 1;
            if (json_is_array(asset_layers(asset)))
                mark_assets(assets, asset_layers(asset), used);
        }
    }
}

/* Keep, of array, the items whose keep[] is set. */
static fw_err filter_array(json_t *array, const char *keep, fw_error *err)
{
    size_t n = json_array_size(array);
    for (size_t i = n; i-- > 0;)
        if (!keep[i] && json_array_remove(array, i) != 0)
            return fw_error_set(err, FW_ERR_INTERNAL, NULL, "cannot prune the document");
    return FW_OK;
}

/* What frames first..last (the engine's frames, counted from the document's
 * in point) can show: the top-level layers that draw in them, the layers
 * those name as parent or matte (transitively), and the assets all of these
 * use (through precomps, which count whole, sound included). Top-level audio
 * layers go, and the sounds only they use, unless a kept layer names one as
 * its parent or matte. */
static fw_err prune_to_frames(json_t *doc, int first, int last, fw_error *err)
{
    json_t *layers = root_layers(doc), *assets = assets_of(doc), *layer;
    size_t n = json_array_size(layers), i;
    double lo = number_or(doc, "ip", 0) + first, hi = number_or(doc, "ip", 0) + last + 1.0;
    char *keep = NULL, *used = NULL;
    int changed = 1;
    fw_err rc = FW_OK;

    if (!json_is_array(layers))
        return FW_OK;
    if (!(keep = calloc(n + 1, 1)) || !(used = calloc(json_array_size(assets) + 1, 1))) {
        free(keep);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory pruning the document");
    }
    json_array_foreach(layers, i, layer)
        keep[i] = !layer_is_audio(layer) && layer_in(layer) < hi && layer_out(layer) > lo;
    while (changed) {
        changed = 0;
        json_array_foreach(layers, i, layer) {
            if (!keep[i])
                continue;
            ssize_t needs[3] = {find_layer_by_index(layers, layer_parent(layer)),
                                find_layer_by_index(layers, layer_matte_index(layer)),
                                i > 0 && layer_uses_previous_as_matte(layer) ? (ssize_t)i - 1 : -1};
            for (int k = 0; k < 3; k++)
                if (needs[k] >= 0 && !keep[needs[k]])
                    keep[needs[k]] = changed = 1;
        }
    }
    if ((rc = filter_array(layers, keep, err)) == FW_OK && json_is_array(assets)) {
        mark_assets(assets, layers, used);
        rc = filter_array(assets, used, err);
    }
    free(keep);
    free(used);
    return rc;
}

/* ---- hashing ------------------------------------------------------------------------------- */

static void to_hex(const unsigned char *bytes, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 15];
    }
    hex[2 * n] = '\0';
}

/* One tagged field; data NULL: the field is absent. */
static int feed(EVP_MD_CTX *md, const char *tag, const void *data, size_t len)
{
    unsigned char present = data != NULL, size[8];
    for (int i = 0; i < 8; i++)
        size[i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return EVP_DigestUpdate(md, tag, strlen(tag) + 1) && EVP_DigestUpdate(md, &present, 1) &&
           (!present || (EVP_DigestUpdate(md, size, sizeof(size)) && EVP_DigestUpdate(md, data, len)));
}

static int feed_text(EVP_MD_CTX *md, const char *tag, const char *text)
{
    return feed(md, tag, text, text ? strlen(text) : 0);
}

/* The hex SHA-256 of a file's bytes, read in blocks. */
static fw_err hash_file(const char *path, const char *field, char hex[FW_DIGEST_HEX], fw_error *err)
{
    unsigned char digest[EVP_MAX_MD_SIZE], *block = malloc(READ_BLOCK);
    unsigned int len = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int fd = -1, ok;
    ssize_t got = 0;
    fw_err rc = FW_OK;

    if (!block || !md)
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory hashing '%s'", path);
    else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        rc = fw_error_set(err, FW_ERR_IO, field, "cannot open '%s': %s", path, strerror(errno));
    if (!rc) {
        ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL);
        while (ok && ((got = read(fd, block, READ_BLOCK)) > 0 || (got < 0 && errno == EINTR)))
            ok = got < 0 || EVP_DigestUpdate(md, block, (size_t)got);
        if (got < 0)
            rc = fw_error_set(err, FW_ERR_IO, field, "cannot read '%s': %s", path, strerror(errno));
        else if (!ok || !EVP_DigestFinal_ex(md, digest, &len) || len != SHA256_BYTES)
            rc = fw_error_set(err, FW_ERR_INTERNAL, NULL, "SHA-256 failed");
        else
            to_hex(digest, len, hex);
    }
    if (fd >= 0)
        close(fd);
    EVP_MD_CTX_free(md);
    free(block);
    return rc;
}

/* ---- the files of the document ------------------------------------------------------------- */

static int has_dot_dot(const char *path)
{
    for (const char *s = path; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return 1;
        s += n;
        s += *s == '/';
    }
    return 0;
}

/* Where the engines read an asset's file: folder and file joined as they
 * are ("images/" + "a.png"), under resource_dir unless already absolute.
 * Only paths inside resource_dir are read: an absolute one must start with
 * it (the template's folder, which the bundle writes absolute), and no path
 * may climb out with "..". */
static fw_err asset_path(const json_t *asset, const char *dir, char *path, size_t size, fw_error *err)
{
    const char *u = asset_folder(asset) ? asset_folder(asset) : "", *p = asset_file(asset);
    const char *id = asset_id(asset) ? asset_id(asset) : "?";
    char joined[4096];
    size_t dir_len = strlen(dir);
    int n;

    while (dir_len > 1 && dir[dir_len - 1] == '/')
        dir_len--;
    n = snprintf(joined, sizeof(joined), "%s%s", u, p);
    if (n < 0 || (size_t)n >= sizeof(joined))
        return fw_error_set(err, FW_ERR_INVALID, "assets", "the path of asset '%s' is too long", id);
    if (has_dot_dot(joined))
        return fw_error_set(err, FW_ERR_INVALID, "assets", "asset '%s' points outside the resources ('%s')", id,
                            joined);
    if (joined[0] == '/') {
        int inside = dir[0] == '/' && (dir_len == 1 || (strncmp(joined, dir, dir_len) == 0 && joined[dir_len] == '/'));
        if (!inside)
            return fw_error_set(err, FW_ERR_INVALID, "assets",
                                "asset '%s' points outside the resources ('%s' is not under '%s')", id, joined, dir);
        n = snprintf(path, size, "%s", joined);
    } else {
        n = snprintf(path, size, "%.*s/%s", (int)dir_len, dir, joined);
    }
    if (n < 0 || (size_t)n >= size)
        return fw_error_set(err, FW_ERR_INVALID, "assets", "the path of asset '%s' is too long", id);
    return FW_OK;
}

/* Replace every file asset's folder by its file's content hash. */
static fw_err bind_file_contents(json_t *doc, const char *dir, fw_error *err)
{
    json_t *asset;
    size_t i;
    char path[4096], hex[FW_DIGEST_HEX];
    fw_err rc;

    json_array_foreach(assets_of(doc), i, asset) {
        if (!asset_has_file(asset))
            continue;
        if ((rc = asset_path(asset, dir, path, sizeof(path), err)) || (rc = hash_file(path, "assets", hex, err)))
            return rc;
        json_object_del(asset, "u");
        if (json_object_set_new(asset, "fw_content", json_string(hex)) != 0)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory hashing the assets");
    }
    return FW_OK;
}

/* ---- the digest ---------------------------------------------------------------------------- */

/* The document as it counts: pruned for a part, files bound to their
 * content, as canonical JSON the caller frees. */
static fw_err canonical_document(const fw_digest_input *in, int kind, int first, int last, char **text,
                                 fw_error *err)
{
    json_t *copy = json_deep_copy(in->doc);
    fw_err rc = FW_OK;

    *text = NULL;
    if (!copy)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory copying the document");
    /* An expression may read any layer at any frame: nothing can go. */
    if (kind == FW_DIGEST_PART && !has_expression(in->doc))
        rc = prune_to_frames(copy, first, last, err);
    if (!rc)
        rc = bind_file_contents(copy, in->resource_dir ? in->resource_dir : ".", err);
    if (!rc && !(*text = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17))))
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory writing the document");
    json_decref(copy);
    return rc;
}

static fw_err feed_fonts(EVP_MD_CTX *md, const fw_digest_input *in, fw_error *err)
{
    char hex[FW_DIGEST_HEX];
    fw_err rc;

    for (size_t i = 0; in->font_files && in->font_files[i]; i++) {
        if ((rc = hash_file(in->font_files[i], "fonts", hex, err)))
            return rc;
        if (!feed(md, "font", hex, strlen(hex)))
            return fw_error_set(err, FW_ERR_INTERNAL, NULL, "SHA-256 failed");
    }
    if (!feed_text(md, "default-font", in->default_font))
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "SHA-256 failed");
    return FW_OK;
}

fw_err fw_render_digest(const fw_digest_input *in, int kind, int first, int last, char out[FW_DIGEST_HEX],
                        fw_error *err)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    char frames[64], *text = NULL;
    EVP_MD_CTX *md = NULL;
    fw_err rc;

    out[0] = '\0';
    if (!in || !json_is_object(in->doc))
        return fw_error_set(err, FW_ERR_INVALID, "template", "the document to digest is not a JSON object");
    if (kind != FW_DIGEST_WHOLE && kind != FW_DIGEST_PART)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "digest kind %d is neither whole nor part", kind);
    if (first < 0 || last < first)
        return fw_error_set(err, FW_ERR_INVALID, "frames", "frames %d to %d are not a range", first, last);
    if ((rc = canonical_document(in, kind, first, last, &text, err)))
        return rc;
    if (!(md = EVP_MD_CTX_new())) {
        free(text);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    }
    snprintf(frames, sizeof(frames), "%d-%d", first, last);
    if (!EVP_DigestInit_ex(md, EVP_sha256(), NULL) || !feed_text(md, "version", FW_RENDER_VERSION) ||
        !feed_text(md, "kind", kind == FW_DIGEST_PART ? "part" : "whole") || !feed_text(md, "frames", frames) ||
        !feed_text(md, "output", in->output) || !feed_text(md, "document", text))
        rc = fw_error_set(err, FW_ERR_INTERNAL, NULL, "SHA-256 failed");
    if (!rc)
        rc = feed_fonts(md, in, err);
    if (!rc && (!EVP_DigestFinal_ex(md, digest, &len) || len != SHA256_BYTES))
        rc = fw_error_set(err, FW_ERR_INTERNAL, NULL, "SHA-256 failed");
    if (!rc)
        to_hex(digest, len, out);
    EVP_MD_CTX_free(md);
    free(text);
    return rc;
}
