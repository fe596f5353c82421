/*
 * bundle.c - loading a template: Bodymovin JSON, dotLottie or zip bundle.
 *
 * Bundles come from users, so unpacking trusts nothing in the archive: every
 * entry is checked before the first byte is written (names that climb out of
 * the folder or are absolute, symbolic links and device files, declared
 * sizes, compression ratio, entry count, duplicates), files are created with
 * O_EXCL|O_NOFOLLOW so nothing that already exists is followed or replaced,
 * and the bytes actually inflated are counted against the declared size. On
 * any failure everything this load created is removed again.
 */
#include "server/template/template.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "server/template/lottie_doc.h"
#include "server/util/log.h"

struct fw_template {
    json_t *doc;
    char *dir;
    const char *format;
    char **fonts;
    size_t font_count;
};

void fw_template_limits_init(fw_template_limits *limits)
{
    limits->max_total_bytes = 512ull << 20;
    limits->max_file_bytes = 256ull << 20;
    limits->max_files = 2000;
    limits->max_ratio = 200;
    limits->max_json_bytes = 64ull << 20;
    limits->max_width = 8192;
    limits->max_height = 8192;
    limits->max_frames = 100000;
    limits->max_layers = 20000;
    limits->max_nesting = 24;
    limits->max_json_depth = 256;
}

/* ---- what this load created, so a failure can take it back ------------- */

typedef struct created_list {
    char **paths;
    int *is_dir;
    size_t count, cap;
} created_list;

static int created_add(created_list *c, const char *path, int is_dir)
{
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        char **p = realloc(c->paths, cap * sizeof(*p));
        if (!p)
            return -1;
        c->paths = p;
        int *d = realloc(c->is_dir, cap * sizeof(*d));
        if (!d)
            return -1;
        c->is_dir = d;
        c->cap = cap;
    }
    if (!(c->paths[c->count] = strdup(path)))
        return -1;
    c->is_dir[c->count++] = is_dir;
    return 0;
}

/* Remove (undo != 0) or just forget what was created. */
static void created_finish(created_list *c, int undo)
{
    size_t i = c->count;
    while (i-- > 0) {
        if (undo)
            (c->is_dir[i] ? rmdir : unlink)(c->paths[i]);
        free(c->paths[i]);
    }
    free(c->paths);
    free(c->is_dir);
    memset(c, 0, sizeof(*c));
}

/* ---- documents --------------------------------------------------------- */

/* Deeper than max anywhere? (jansson parses at most 2048 levels; this is ours.) */
static int json_deeper_than(const json_t *v, uint32_t depth, uint32_t max)
{
    const char *key;
    json_t *child;
    size_t i;

    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    if (depth >= max)
        return 1;
    if (json_is_array(v)) {
        json_array_foreach(v, i, child)
            if (json_deeper_than(child, depth + 1, max))
                return 1;
    } else {
        json_object_foreach((json_t *)v, key, child)
            if (json_deeper_than(child, depth + 1, max))
                return 1;
    }
    return 0;
}

/* How deep precomps go below these layers, each asset measured once (depths[i] for the i-th asset:
 * 0 unknown, -1 being measured, else its depth + 1). A precomp inside itself is an error. */
static fw_err precomp_depth(json_t *doc, json_t *layers, int *depths, size_t asset_count, uint32_t level,
                            uint32_t max, int *out, fw_error *err)
{
    json_t *layer, *assets = fw_lottie_assets(doc);
    size_t i;

    *out = 0;
    if (level > max)
        return fw_error_set(err, FW_ERR_LIMIT, "assets", "Precomps are nested more than %u deep; at most %u is allowed.",
                            max, max);
    json_array_foreach(layers, i, layer) {
        const char *ref = fw_lottie_layer_source_id(layer);
        size_t a;
        int below;
        fw_err rc;
        if (fw_lottie_layer_type(layer) != FW_LAYER_PRECOMP || !ref)
            continue;
        for (a = 0; a < asset_count; a++) {
            const char *id = fw_lottie_asset_id(json_array_get(assets, a));
            if (id && strcmp(id, ref) == 0)
                break;
        }
        if (a == asset_count)
            continue; /* a missing precomp draws nothing */
        if (depths[a] == -1)
            return fw_error_set(err, FW_ERR_INVALID, "assets", "The precomp '%s' contains itself.", ref);
        if (depths[a] == 0) {
            depths[a] = -1;
            if ((rc = precomp_depth(doc, fw_lottie_asset_layers(json_array_get(assets, a)), depths, asset_count,
                                    level + 1, max, &below, err)))
                return rc;
            depths[a] = below + 1;
        }
        if ((uint32_t)depths[a] + level > max)
            return fw_error_set(err, FW_ERR_LIMIT, "assets", "Precomps are nested %u deep; at most %u is allowed.",
                                depths[a] + level, max);
        if (depths[a] > *out)
            *out = depths[a];
    }
    return FW_OK;
}

static fw_err check_structure(json_t *doc, const fw_template_limits *limits, fw_error *err)
{
    json_t *assets = fw_lottie_assets(doc), *asset;
    size_t layers = json_array_size(fw_lottie_root_layers(doc)), n = json_array_size(assets), i;
    int *depths, depth;
    fw_err rc;

    if (limits->max_json_depth && json_deeper_than(doc, 0, limits->max_json_depth))
        return fw_error_set(err, FW_ERR_LIMIT, "template", "The JSON nests arrays and objects more than %u deep.",
                            limits->max_json_depth);
    json_array_foreach(assets, i, asset)
        layers += json_array_size(fw_lottie_asset_layers(asset));
    if (limits->max_layers && layers > limits->max_layers)
        return fw_error_set(err, FW_ERR_LIMIT, "layers", "The document has %zu layers; at most %u are allowed.",
                            layers, limits->max_layers);
    if (!(depths = calloc(n ? n : 1, sizeof(*depths))))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    rc = precomp_depth(doc, fw_lottie_root_layers(doc), depths, n, 0,
                       limits->max_nesting ? limits->max_nesting : UINT32_MAX - 1, &depth, err);
    free(depths);
    return rc;
}

static fw_err check_limits(const json_t *doc, const fw_template_limits *limits, fw_error *err)
{
    fw_err rc = fw_lottie_check(doc, err);
    if (rc)
        return rc;
    double w = fw_lottie_width(doc), h = fw_lottie_height(doc), fr = fw_lottie_frame_rate(doc);
    double frames = fw_lottie_out_point(doc) - fw_lottie_in_point(doc);
    if (w < 1 || h < 1)
        return fw_error_set(err, FW_ERR_INVALID, "w", "The canvas is %gx%g; both sides must be at least 1.", w, h);
    if (w > limits->max_width || h > limits->max_height)
        return fw_error_set(err, FW_ERR_LIMIT, "w", "The canvas is %gx%g; at most %ux%u is allowed.", w, h,
                            limits->max_width, limits->max_height);
    if (!(fr > 0 && fr <= 1000))
        return fw_error_set(err, FW_ERR_INVALID, "fr", "The frame rate is %g; it must be above 0 and at most 1000.",
                            fr);
    if (!(frames > 0))
        return fw_error_set(err, FW_ERR_INVALID, "op", "The animation ends (op %g) before it starts (ip %g).",
                            fw_lottie_out_point(doc), fw_lottie_in_point(doc));
    if (frames > limits->max_frames)
        return fw_error_set(err, FW_ERR_LIMIT, "op", "The animation has %.0f frames; at most %u are allowed.",
                            frames, limits->max_frames);
    return check_structure((json_t *)doc, limits, err);
}

static fw_err load_json_file(const char *path, const char *label, const fw_template_limits *limits, json_t **out,
                             fw_error *err)
{
    struct stat st;
    json_error_t jerr;
    if (stat(path, &st) != 0)
        return fw_error_set(err, FW_ERR_IO, "template", "Cannot read '%s': %s.", label, strerror(errno));
    if ((uint64_t)st.st_size > limits->max_json_bytes)
        return fw_error_set(err, FW_ERR_LIMIT, "template", "'%s' is %lld bytes; at most %llu are allowed.", label,
                            (long long)st.st_size, (unsigned long long)limits->max_json_bytes);
    *out = json_load_file(path, 0, &jerr);
    if (!*out) {
        if (json_error_code(&jerr) == json_error_cannot_open_file)
            return fw_error_set(err, FW_ERR_IO, "template", "Cannot read '%s': %s.", label, jerr.text);
        return fw_error_set(err, FW_ERR_INVALID, "template", "'%s' is not valid JSON: line %d, column %d: %s.",
                            label, jerr.line, jerr.column, jerr.text);
    }
    return FW_OK;
}

static int has_dotdot(const char *s)
{
    const char *p = s;
    while ((p = strstr(p, "..")) != NULL) {
        int starts = p == s || p[-1] == '/' || p[-1] == '\\';
        int ends = p[2] == '\0' || p[2] == '/' || p[2] == '\\';
        if (starts && ends)
            return 1;
        p += 2;
    }
    return 0;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Point every file-based image at its absolute place in dir. */
static fw_err resolve_images(json_t *doc, const char *dir, int dotlottie, fw_error *err)
{
    json_t *assets = fw_lottie_assets(doc), *asset;
    size_t i;
    char path[PATH_MAX], folder[PATH_MAX];
    json_array_foreach(assets, i, asset)
    {
        if (!fw_lottie_asset_is_image(asset) || fw_lottie_image_embedded(asset))
            continue;
        const char *u = fw_lottie_image_folder(asset), *p = fw_lottie_image_file(asset);
        if (!u)
            u = "";
        if (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0)
            continue; /* remote references are left for the engine to refuse */
        if (has_dotdot(u) || has_dotdot(p) || p[0] == '/' || strchr(p, '\\'))
            return fw_error_set(err, FW_ERR_INVALID, "assets", "Image asset '%s' points outside the template folder ('%s%s').",
                                fw_lottie_asset_id(asset) ? fw_lottie_asset_id(asset) : "?", u, p);
        while (*u == '/')
            u++; /* dotLottie writes "/images/" meaning the bundle root */
        snprintf(folder, sizeof(folder), "%s/%s%s", dir, u, *u && u[strlen(u) - 1] != '/' ? "/" : "");
        snprintf(path, sizeof(path), "%s%s", folder, p);
        if (!is_file(path) && dotlottie) {
            snprintf(folder, sizeof(folder), "%s/images/", dir);
            snprintf(path, sizeof(path), "%s%s", folder, p);
        }
        if (!is_file(path))
            fw_log(FW_LOG_WARN, "template", "image '%s' of asset '%s' is missing", p,
                   fw_lottie_asset_id(asset) ? fw_lottie_asset_id(asset) : "?");
        fw_lottie_image_set_location(asset, folder, p);
    }
    return FW_OK;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_font_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".ttf") == 0 || strcasecmp(dot, ".otf") == 0 || strcasecmp(dot, ".ttc") == 0);
}

static int add_font_file(fw_template *t, const char *file)
{
    for (size_t i = 0; i < t->font_count; i++)
        if (!strcmp(t->fonts[i], file))
            return 0;
    char **fonts = realloc(t->fonts, (t->font_count + 1) * sizeof(*fonts));
    if (!fonts)
        return -1;
    t->fonts = fonts;
    if (!(fonts[t->font_count] = strdup(file)))
        return -1;
    t->font_count++;
    return 0;
}

/* The font files the document's font list names by a path inside the
 * template's folder (fPath "font/Brand.ttf", as Bodymovin writes for a font
 * it was given by file); a path that leaves the folder is not followed. */
static fw_err find_named_fonts(fw_template *t, fw_error *err)
{
    char top[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
    json_t *font;
    size_t i, n;
    if (!realpath(t->dir, top))
        return FW_OK;
    n = strlen(top);
    json_array_foreach(json_object_get(json_object_get(t->doc, "fonts"), "list"), i, font) {
        const char *file = json_string_value(json_object_get(font, "fPath"));
        if (!file || !*file || file[0] == '/' || strstr(file, "://") || !has_font_extension(file))
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", top, file) >= (int)sizeof(path) || !realpath(path, real) ||
            strncmp(real, top, n) != 0 || real[n] != '/' || !is_file(real))
            continue;
        if (add_font_file(t, real) != 0)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory listing fonts.");
    }
    return FW_OK;
}

static fw_err find_fonts(fw_template *t, fw_error *err)
{
    char path[PATH_MAX];
    DIR *d;
    struct dirent *e;
    snprintf(path, sizeof(path), "%s/fonts", t->dir);
    if (!(d = opendir(path)))
        return find_named_fonts(t, err);
    while ((e = readdir(d)) != NULL) {
        char file[PATH_MAX];
        if (e->d_name[0] == '.' || !has_font_extension(e->d_name))
            continue;
        snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
        if (!is_file(file))
            continue;
        char **fonts = realloc(t->fonts, (t->font_count + 1) * sizeof(*fonts));
        if (!fonts || !(fonts[t->font_count] = strdup(file))) {
            if (fonts)
                t->fonts = fonts;
            closedir(d);
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory listing fonts.");
        }
        t->fonts = fonts;
        t->font_count++;
    }
    closedir(d);
    if (t->font_count > 1) /* an empty fonts/ folder leaves t->fonts NULL */
        qsort(t->fonts, t->font_count, sizeof(*t->fonts), compare_strings);
    return find_named_fonts(t, err);
}

static fw_err template_new(fw_template **tpl, json_t *doc, const char *dir, const char *format, int dotlottie,
                           const fw_template_limits *limits, fw_error *err)
{
    fw_template *t;
    fw_err rc = check_limits(doc, limits, err);
    if (rc)
        return rc;
    if (!(t = calloc(1, sizeof(*t))) || !(t->dir = strdup(dir ? dir : "."))) {
        free(t);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory loading the template.");
    }
    json_incref(doc);
    t->doc = doc;
    t->format = format;
    if ((rc = resolve_images(doc, t->dir, dotlottie, err)) || (rc = find_fonts(t, err))) {
        fw_template_free(&t);
        return rc;
    }
    *tpl = t;
    return FW_OK;
}

fw_err fw_template_from_document(fw_template **tpl, json_t *doc, const char *dir, const fw_template_limits *limits,
                                 fw_error *err)
{
    fw_template_limits defaults;
    *tpl = NULL;
    if (!limits) {
        fw_template_limits_init(&defaults);
        limits = &defaults;
    }
    return template_new(tpl, doc, dir, "json", 0, limits, err);
}

/* ---- zip bundles ------------------------------------------------------- */

static int skipped_entry(const char *name)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    return strncmp(name, "__MACOSX/", 9) == 0 || strcmp(base, ".DS_Store") == 0;
}

/* NULL when the name is a safe relative path, else why not. */
static const char *unsafe_name(const char *name)
{
    const char *p;
    if (!*name)
        return "has an empty name";
    if (name[0] == '/')
        return "has an absolute path";
    if (strlen(name) > 1024)
        return "has a name longer than 1024 bytes";
    for (p = name; *p; p++) {
        if (*p == '\\')
            return "uses a backslash in its name";
        if ((unsigned char)*p < 0x20)
            return "has a control character in its name";
    }
    for (p = name; *p;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return "climbs out of the folder with '..'";
        if ((len == 1 && p[0] == '.') || (len == 0 && end))
            return "has an empty or '.' path component";
        if (!end)
            break;
        p = end + 1;
    }
    return NULL;
}

typedef struct entry {
    zip_uint64_t index;
    const char *name; /* owned by the archive */
    zip_uint64_t size;
    int is_dir;
} entry;

static int compare_entry_names(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    size_t lx = strlen(x->name) - (size_t)x->is_dir, ly = strlen(y->name) - (size_t)y->is_dir;
    int c = strncmp(x->name, y->name, lx < ly ? lx : ly);
    return c ? c : (lx > ly) - (lx < ly);
}

static fw_err check_entries(zip_t *za, const fw_template_limits *limits, entry **out, size_t *count, fw_error *err)
{
    zip_int64_t n = zip_get_num_entries(za, 0);
    entry *list;
    uint64_t total = 0;
    size_t kept = 0;
    zip_int64_t i;
    if (n < 0 || (uint64_t)n > 4ull * limits->max_files + 16)
        return fw_error_set(err, FW_ERR_LIMIT, "bundle", "The bundle has %lld entries; at most %u are allowed.",
                            (long long)n, limits->max_files);
    if (!(list = calloc(n ? (size_t)n : 1, sizeof(*list))))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory reading the bundle.");
    for (i = 0; i < n; i++) {
        zip_stat_t st;
        zip_uint8_t opsys;
        zip_uint32_t attr;
        const char *why;
        if (zip_stat_index(za, (zip_uint64_t)i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME)) {
            free(list);
            return fw_error_set(err, FW_ERR_INVALID, "bundle", "Entry %lld of the bundle cannot be read.", (long long)i);
        }
        if (skipped_entry(st.name))
            continue;
        if (kept + 1 > limits->max_files) {
            free(list);
            return fw_error_set(err, FW_ERR_LIMIT, "bundle", "The bundle has more than %u files (at '%s').",
                                limits->max_files, st.name);
        }
        if ((why = unsafe_name(st.name))) {
            free(list);
            return fw_error_set(err, FW_ERR_INVALID, "bundle", "Bundle entry '%s' %s.", st.name, why);
        }
        if (zip_file_get_external_attributes(za, (zip_uint64_t)i, 0, &opsys, &attr) == 0 && opsys == ZIP_OPSYS_UNIX) {
            unsigned mode = (attr >> 16) & S_IFMT;
            if (mode == S_IFLNK) {
                free(list);
                return fw_error_set(err, FW_ERR_INVALID, "bundle", "Bundle entry '%s' is a symbolic link; links are not allowed.",
                                    st.name);
            }
            if (mode && mode != S_IFREG && mode != S_IFDIR) {
                free(list);
                return fw_error_set(err, FW_ERR_INVALID, "bundle", "Bundle entry '%s' is not a regular file or folder.", st.name);
            }
        }
        if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
            free(list);
            return fw_error_set(err, FW_ERR_UNSUPPORTED, "bundle", "Bundle entry '%s' is encrypted.", st.name);
        }
        if (st.size > limits->max_file_bytes) {
            free(list);
            return fw_error_set(err, FW_ERR_LIMIT, "bundle", "Bundle entry '%s' is %llu bytes; at most %llu are allowed per file.",
                                st.name, (unsigned long long)st.size, (unsigned long long)limits->max_file_bytes);
        }
        total += st.size;
        if (total > limits->max_total_bytes) {
            free(list);
            return fw_error_set(err, FW_ERR_LIMIT, "bundle", "The bundle unpacks to more than %llu bytes (at '%s').",
                                (unsigned long long)limits->max_total_bytes, st.name);
        }
        if (st.size > (1u << 20) && (st.comp_size == 0 || st.size / st.comp_size > limits->max_ratio)) {
            free(list);
            return fw_error_set(err, FW_ERR_LIMIT, "bundle",
                                "Bundle entry '%s' expands %llu bytes into %llu, beyond the allowed ratio of %u:1.",
                                st.name, (unsigned long long)st.comp_size, (unsigned long long)st.size,
                                limits->max_ratio);
        }
        list[kept].index = (zip_uint64_t)i;
        list[kept].name = st.name;
        list[kept].size = st.size;
        list[kept].is_dir = st.name[strlen(st.name) - 1] == '/';
        kept++;
    }
    qsort(list, kept, sizeof(*list), compare_entry_names);
    for (size_t k = 1; k < kept; k++) {
        if (compare_entry_names(&list[k - 1], &list[k]) == 0 && !(list[k - 1].is_dir && list[k].is_dir)) {
            const char *name = list[k].name;
            free(list);
            return fw_error_set(err, FW_ERR_INVALID, "bundle", "Bundle entry '%s' appears more than once.", name);
        }
    }
    *out = list;
    *count = kept;
    return FW_OK;
}

/* Create every missing folder on the way to path (relative to root). */
static fw_err make_parents(const char *root, const char *name, int include_last, created_list *made, fw_error *err)
{
    char path[PATH_MAX];
    size_t rootlen = strlen(root);
    const char *p = name;
    for (;;) {
        const char *slash = strchr(p, '/');
        if (!slash && !include_last)
            return FW_OK;
        size_t len = slash ? (size_t)(slash - name) : strlen(name);
        if (rootlen + 1 + len >= sizeof(path))
            return fw_error_set(err, FW_ERR_INVALID, "bundle", "Bundle entry '%s' has too long a path.", name);
        memcpy(path, root, rootlen);
        path[rootlen] = '/';
        memcpy(path + rootlen + 1, name, len);
        path[rootlen + 1 + len] = '\0';
        if (len && path[rootlen + len] == '/')
            path[rootlen + len] = '\0';
        if (mkdir(path, 0755) == 0) {
            if (created_add(made, path, 1) != 0)
                return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory unpacking the bundle.");
        } else {
            struct stat st;
            if (errno != EEXIST || lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
                return fw_error_set(err, FW_ERR_IO, "bundle", "Cannot create the folder for bundle entry '%s': %s.",
                                    name, strerror(errno == EEXIST ? ENOTDIR : errno));
        }
        if (!slash || !slash[1])
            return FW_OK;
        p = slash + 1;
    }
}

static fw_err extract_entry(zip_t *za, const entry *e, const char *root, created_list *made, fw_error *err)
{
    char path[PATH_MAX], buf[65536];
    zip_file_t *zf;
    zip_int64_t got;
    uint64_t written = 0;
    int fd;
    fw_err rc = make_parents(root, e->name, e->is_dir, made, err);
    if (rc || e->is_dir)
        return rc;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, e->name) >= sizeof(path))
        return fw_error_set(err, FW_ERR_INVALID, "bundle", "Bundle entry '%s' has too long a path.", e->name);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return fw_error_set(err, FW_ERR_IO, "bundle", "Cannot create bundle entry '%s': %s.", e->name, strerror(errno));
    if (created_add(made, path, 0) != 0) {
        close(fd);
        unlink(path);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory unpacking the bundle.");
    }
    if (!(zf = zip_fopen_index(za, e->index, 0))) {
        close(fd);
        return fw_error_set(err, FW_ERR_INVALID, "bundle", "Bundle entry '%s' cannot be opened: %s.", e->name,
                            zip_strerror(za));
    }
    while ((got = zip_fread(zf, buf, sizeof(buf))) > 0) {
        written += (uint64_t)got;
        /* The declared size was checked against the limits; an entry that
         * inflates past it is lying about what it holds. */
        if (written > e->size) {
            rc = fw_error_set(err, FW_ERR_LIMIT, "bundle", "Bundle entry '%s' inflates beyond its declared %llu bytes.",
                              e->name, (unsigned long long)e->size);
            break;
        }
        if (write(fd, buf, (size_t)got) != got) {
            rc = fw_error_set(err, FW_ERR_IO, "bundle", "Cannot write bundle entry '%s': %s.", e->name, strerror(errno));
            break;
        }
    }
    if (!rc && got < 0)
        rc = fw_error_set(err, FW_ERR_INVALID, "bundle", "Bundle entry '%s' is corrupt: %s.", e->name,
                          zip_file_strerror(zf));
    if (!rc && written != e->size)
        rc = fw_error_set(err, FW_ERR_INVALID, "bundle", "Bundle entry '%s' holds %llu bytes but declares %llu.",
                          e->name, (unsigned long long)written, (unsigned long long)e->size);
    zip_fclose(zf);
    if (close(fd) != 0 && !rc)
        rc = fw_error_set(err, FW_ERR_IO, "bundle", "Cannot write bundle entry '%s': %s.", e->name, strerror(errno));
    return rc;
}

/* The folder everything sits in: macOS's "Archive Utility" wraps a bundle in
 * one top-level folder; dotLottie and hand-made zips do not. */
static size_t common_prefix(const entry *list, size_t count)
{
    const char *slash;
    size_t len, i;
    if (!count || !(slash = strchr(list[0].name, '/')))
        return 0;
    len = (size_t)(slash - list[0].name) + 1;
    for (i = 0; i < count; i++)
        if (strncmp(list[i].name, list[0].name, len) != 0 || !strchr(list[i].name, '/'))
            return 0;
    return len;
}

static int ends_with_json(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcasecmp(name + n - 5, ".json") == 0;
}

/* Choose the Lottie JSON of a bundle: dotLottie's manifest names it; a plain
 * zip has one JSON at its top (or "data.json", Bodymovin's default name). */
static fw_err find_main_json(const entry *list, size_t count, size_t prefix, const char *base, char *path,
                             size_t size, int *dotlottie, fw_error *err)
{
    char manifest[PATH_MAX];
    const char *only = NULL;
    size_t i, candidates = 0;
    char names[512] = "";
    snprintf(manifest, sizeof(manifest), "%s/manifest.json", base);
    *dotlottie = 0;
    if (is_file(manifest)) {
        json_error_t jerr;
        json_t *m = json_load_file(manifest, 0, &jerr);
        json_t *first = json_array_get(json_object_get(m, "animations"), 0);
        const char *id = json_string_value(json_object_get(first, "id"));
        if (!id || !*id || strchr(id, '/') || has_dotdot(id)) {
            json_decref(m);
            return fw_error_set(err, FW_ERR_INVALID, "bundle",
                                "The dotLottie manifest.json names no animation (animations[0].id).");
        }
        snprintf(path, size, "%s/animations/%s.json", base, id);
        json_decref(m);
        *dotlottie = 1;
        if (!is_file(path))
            return fw_error_set(err, FW_ERR_INVALID, "bundle", "The dotLottie has no animations/%s.json.", id);
        return FW_OK;
    }
    for (i = 0; i < count; i++) {
        const char *rel = list[i].name + prefix;
        if (list[i].is_dir || strchr(rel, '/') || !ends_with_json(rel))
            continue;
        candidates++;
        if (!only || strcmp(rel, "data.json") == 0)
            only = rel;
        if (strlen(names) + strlen(rel) + 3 < sizeof(names))
            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", names[0] ? ", " : "", rel);
    }
    if (!candidates)
        return fw_error_set(err, FW_ERR_INVALID, "bundle", "The bundle has no Lottie JSON file at its top level.");
    if (candidates > 1 && strcmp(only, "data.json") != 0)
        return fw_error_set(err, FW_ERR_INVALID, "bundle",
                            "The bundle has several JSON files at its top level (%s); keep one, or name it data.json.",
                            names);
    snprintf(path, size, "%s/%s", base, only);
    return FW_OK;
}

static fw_err load_bundle(fw_template **tpl, const char *path, const char *workdir, const fw_template_limits *limits,
                          fw_error *err)
{
    created_list made = {0};
    entry *list = NULL;
    size_t count = 0, i, prefix;
    char root[PATH_MAX], base[PATH_MAX], json_path[PATH_MAX];
    json_t *doc = NULL;
    int zerr = 0, dotlottie = 0;
    fw_err rc;
    zip_t *za;

    if (!workdir || !realpath(workdir, root))
        return fw_error_set(err, FW_ERR_IO, "workdir", "The working folder '%s' does not exist.",
                            workdir ? workdir : "(none)");
    if (!(za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr))) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        rc = fw_error_set(err, FW_ERR_INVALID, "bundle", "The template is not a readable zip archive: %s.",
                          zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    if ((rc = check_entries(za, limits, &list, &count, err)))
        goto done;
    for (i = 0; i < count && !rc; i++)
        rc = extract_entry(za, &list[i], root, &made, err);
    if (rc)
        goto done;
    prefix = common_prefix(list, count);
    if (prefix)
        snprintf(base, sizeof(base), "%s/%.*s", root, (int)(prefix - 1), list[0].name);
    else
        snprintf(base, sizeof(base), "%s", root);
    if ((rc = find_main_json(list, count, prefix, base, json_path, sizeof(json_path), &dotlottie, err)))
        goto done;
    if ((rc = load_json_file(json_path, json_path + strlen(base) + 1, limits, &doc, err)))
        goto done;
    rc = template_new(tpl, doc, base, dotlottie ? "lottie" : "zip", dotlottie, limits, err);
done:
    json_decref(doc);
    free(list);
    zip_discard(za);
    created_finish(&made, rc != FW_OK);
    return rc;
}

/* ---- the public face --------------------------------------------------- */

fw_err fw_template_load(fw_template **tpl, const char *path, const char *workdir, const fw_template_limits *limits,
                        fw_error *err)
{
    fw_template_limits defaults;
    unsigned char magic[4] = {0};
    char dir[PATH_MAX];
    json_t *doc = NULL;
    FILE *f;
    fw_err rc;

    *tpl = NULL;
    if (!limits) {
        fw_template_limits_init(&defaults);
        limits = &defaults;
    }
    if (!path || !(f = fopen(path, "rb")))
        return fw_error_set(err, FW_ERR_IO, "template", "Cannot open the template '%s': %s.", path ? path : "(none)",
                            strerror(errno));
    size_t got = fread(magic, 1, sizeof(magic), f);
    fclose(f);
    if (got == 4 && magic[0] == 'P' && magic[1] == 'K' && (magic[2] == 3 || magic[2] == 5) && (magic[3] == 4 || magic[3] == 6))
        return load_bundle(tpl, path, workdir, limits, err);

    const char *slash = strrchr(path, '/');
    if ((rc = load_json_file(path, slash ? slash + 1 : path, limits, &doc, err)))
        return rc;
    if (!realpath(path, dir)) {
        json_decref(doc);
        return fw_error_set(err, FW_ERR_IO, "template", "Cannot resolve the template path: %s.", strerror(errno));
    }
    *strrchr(dir, '/') = '\0';
    rc = template_new(tpl, doc, dir[0] ? dir : "/", "json", 0, limits, err);
    json_decref(doc);
    return rc;
}

void fw_template_free(fw_template **tpl)
{
    fw_template *t;
    size_t i;
    if (!tpl || !(t = *tpl))
        return;
    json_decref(t->doc);
    free(t->dir);
    for (i = 0; i < t->font_count; i++)
        free(t->fonts[i]);
    free(t->fonts);
    free(t);
    *tpl = NULL;
}

json_t *fw_template_document(const fw_template *tpl) { return tpl->doc; }

void fw_template_set_document(fw_template *tpl, json_t *doc)
{
    json_decref(tpl->doc);
    tpl->doc = doc;
}

const char *fw_template_dir(const fw_template *tpl) { return tpl->dir; }
const char *fw_template_format(const fw_template *tpl) { return tpl->format; }
size_t fw_template_font_count(const fw_template *tpl) { return tpl->font_count; }
const char *fw_template_font_path(const fw_template *tpl, size_t i)
{
    return i < tpl->font_count ? tpl->fonts[i] : NULL;
}
