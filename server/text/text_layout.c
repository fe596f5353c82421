/*
 * text_layout.c - paragraphs → lines → shaped glyphs → outlines.
 *
 * The text is decoded to code points once, split into paragraphs at explicit
 * breaks, and each paragraph gets its bidi embedding levels from FriBidi.
 * A line is shaped as runs of one direction and one script (HarfBuzz needs
 * both fixed per buffer), the runs put in visual order (Unicode rule L2), and
 * the glyphs appended left to right. Box text is wrapped greedily where ICU's
 * line break iterator allows a break (UAX #14: after spaces and hyphens,
 * between ideographs, never before closing punctuation) by shaping candidate
 * lines, which is quadratic in the worst case but template text is short and
 * measuring the real shaped line keeps kerning and ligatures honest. Only a
 * run with no break opportunity that is wider than the box is broken inside,
 * between grapheme clusters, and even then not before closing punctuation if
 * it can be helped. Positions are final before outlines are read, so
 * justification never moves a contour.
 *
 * Everything is in font units until the end, where scale = size / units per
 * em turns them into pixels; outlines are read with FT_LOAD_NO_SCALE so no
 * hinting at an arbitrary pixel size distorts them.
 */
#include "server/text/text_layout.h"

#include <fribidi.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>

#include "server/text/fonts_internal.h"

#include FT_OUTLINE_H

typedef struct run {
    size_t start, end; /* code point indices */
    int level;         /* bidi embedding level; odd is right-to-left */
    hb_script_t script;
} run;

typedef struct builder {
    const fw_text_request *rq;
    const fw_font *font;
    double scale;    /* px per font unit (or per em for metrics fonts) */
    double tracking; /* px */
    hb_buffer_t *hb;
    uint32_t *cp;
    size_t *byte; /* byte offset of each code point */
    size_t n;
    FriBidiLevel *levels; /* per code point, for the paragraph being laid out */
    unsigned char *small; /* small caps: per code point, 1 where a lower-case letter was raised */
    unsigned char *breaks; /* per code point, for the paragraph being wrapped: BREAK_* flags */
    size_t para_start, para_end;
    run *runs;
    size_t run_cap;
    fw_text_layout *out;
    size_t glyph_cap, contour_cap, line_cap;
    fw_text_point *points;
    size_t point_count, point_cap;
    size_t *contour_offsets; /* where each contour's points start in points */
    int oom;
    const char *icu_error; /* ICU's name for why it could not find the breaks */
} builder;

/* Flags of b->breaks[i]: a line may start at code point i; a grapheme
 * cluster starts there; and one that a line broken inside a run had better
 * start with (not closing punctuation or a number's "%"). */
enum { BREAK_LINE = 1, BREAK_CLUSTER = 2, BREAK_FORCED = 4 };

/* ---- text ---- */

static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    int len = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    uint32_t v = len == 2 ? s[0] & 0x1F : len == 3 ? s[0] & 0x0F : s[0] & 0x07;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            len = 0;
        else
            v = (v << 6) | (s[i] & 0x3F);
        if (!len)
            break;
    }
    if (!len || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (len == 2 && v < 0x80) ||
        (len == 3 && v < 0x800) || (len == 4 && v < 0x10000)) {
        *cp = 0xFFFD; /* one replacement character per bad byte */
        return 1;
    }
    *cp = v;
    return (size_t)len;
}

/* Upper case for the scripts templates mostly use (Latin, Greek, Cyrillic);
 * other characters are left as they are. */
static uint32_t to_upper(uint32_t c)
{
    if (c >= 'a' && c <= 'z')
        return c - 32;
    if ((c >= 0xE0 && c <= 0xFE && c != 0xF7))
        return c - 32;
    if (c == 0xFF)
        return 0x178;
    if (c >= 0x100 && c <= 0x17F && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F) {
        int odd_is_lower = !((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E));
        if (odd_is_lower ? (c & 1) : !(c & 1))
            return c - 1;
        return c;
    }
    if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2)
        return c - 32;
    if (c >= 0x430 && c <= 0x44F)
        return c - 32;
    if (c >= 0x450 && c <= 0x45F)
        return c - 80;
    return c;
}

/* Small caps are capitals at this share of the size, as After Effects and
 * Illustrator make them when the font has none of its own. */
#define SMALL_CAPS 0.7

static int is_break(uint32_t c)
{
    return c == '\r' || c == '\n' || c == 0x03 || c == 0x2028 || c == 0x2029;
}

static int is_space(uint32_t c)
{
    return c == ' ' || c == '\t' || c == 0x3000 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A && c != 0x2007) ||
           c == 0x205F;
}

static int decode_text(builder *b)
{
    const unsigned char *s = (const unsigned char *)b->rq->text;
    size_t len = strlen(b->rq->text);
    b->cp = malloc((len + 1) * sizeof(*b->cp));
    b->byte = malloc((len + 1) * sizeof(*b->byte));
    b->levels = malloc((len + 1) * sizeof(*b->levels));
    if (b->rq->caps == FW_TEXT_CAPS_SMALL)
        b->small = calloc(len + 1, 1);
    b->breaks = malloc(len + 1);
    if (!b->cp || !b->byte || !b->levels || !b->breaks || (b->rq->caps == FW_TEXT_CAPS_SMALL && !b->small))
        return -1;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        size_t step = utf8_decode(s + i, &c);
        if (step > len - i) { /* a sequence cut off by the end of the text */
            c = 0xFFFD;
            step = 1;
        }
        b->byte[b->n] = i;
        uint32_t shown = b->rq->caps != FW_TEXT_CAPS_NONE ? to_upper(c) : c;
        if (b->small)
            b->small[b->n] = shown != c;
        b->cp[b->n++] = shown;
        i += step;
    }
    return 0;
}

/* ---- output arrays ---- */

static fw_text_glyph *push_glyph(builder *b)
{
    fw_text_layout *o = b->out;
    if (o->glyph_count == b->glyph_cap) {
        size_t cap = b->glyph_cap ? b->glyph_cap * 2 : 64;
        fw_text_glyph *g = realloc(o->glyphs, cap * sizeof(*g));
        if (!g) {
            b->oom = 1;
            return NULL;
        }
        o->glyphs = g;
        b->glyph_cap = cap;
    }
    fw_text_glyph *g = &o->glyphs[o->glyph_count++];
    memset(g, 0, sizeof(*g));
    return g;
}

static int push_point(builder *b, double x, double y)
{
    if (b->point_count == b->point_cap) {
        size_t cap = b->point_cap ? b->point_cap * 2 : 256;
        fw_text_point *p = realloc(b->points, cap * sizeof(*p));
        if (!p) {
            b->oom = 1;
            return -1;
        }
        b->points = p;
        b->point_cap = cap;
    }
    b->points[b->point_count].x = x;
    b->points[b->point_count].y = y;
    b->point_count++;
    return 0;
}

static int push_contour(builder *b)
{
    fw_text_layout *o = b->out;
    if (o->contour_count == b->contour_cap) {
        size_t cap = b->contour_cap ? b->contour_cap * 2 : 64;
        fw_text_contour *c = realloc(o->contours, cap * sizeof(*c));
        size_t *off = realloc(b->contour_offsets, cap * sizeof(*off));
        if (c)
            o->contours = c;
        if (off)
            b->contour_offsets = off;
        if (!c || !off) {
            b->oom = 1;
            return -1;
        }
        b->contour_cap = cap;
    }
    o->contours[o->contour_count].segment_count = 0;
    o->contours[o->contour_count].points = NULL;
    b->contour_offsets[o->contour_count] = b->point_count;
    o->contour_count++;
    return 0;
}

/* ---- shaping ---- */

static hb_script_t script_of(uint32_t c)
{
    return hb_unicode_script(hb_unicode_funcs_get_default(), c);
}

static int is_neutral_script(hb_script_t s)
{
    return s == HB_SCRIPT_COMMON || s == HB_SCRIPT_INHERITED || s == HB_SCRIPT_UNKNOWN;
}

/* Split [start, end) into runs of one level and one script; spaces and
 * punctuation (script Common) belong to the run around them. */
static size_t itemize(builder *b, size_t start, size_t end)
{
    size_t count = 0;
    hb_script_t current = HB_SCRIPT_COMMON;
    for (size_t i = start; i < end; i++) {
        hb_script_t s = script_of(b->cp[i]);
        int level = b->levels[i];
        if (count > 0 && b->runs[count - 1].level == level &&
            (is_neutral_script(s) || is_neutral_script(current) || s == current)) {
            b->runs[count - 1].end = i + 1;
            if (is_neutral_script(current) && !is_neutral_script(s))
                b->runs[count - 1].script = current = s;
            continue;
        }
        if (count == b->run_cap) {
            size_t cap = b->run_cap ? b->run_cap * 2 : 16;
            run *r = realloc(b->runs, cap * sizeof(*r));
            if (!r) {
                b->oom = 1;
                return 0;
            }
            b->runs = r;
            b->run_cap = cap;
        }
        current = s;
        b->runs[count++] = (run){.start = i, .end = i + 1, .level = level, .script = s};
    }
    return count;
}

/* Unicode rule L2: from the highest level down to the lowest odd one,
 * reverse every sequence of runs at that level or above. */
static void reorder_runs(run *runs, size_t count)
{
    int highest = 0, lowest_odd = 255;
    for (size_t i = 0; i < count; i++) {
        if (runs[i].level > highest)
            highest = runs[i].level;
        if ((runs[i].level & 1) && runs[i].level < lowest_odd)
            lowest_odd = runs[i].level;
    }
    for (int level = highest; level >= lowest_odd && level > 0; level--) {
        for (size_t i = 0; i < count;) {
            if (runs[i].level < level) {
                i++;
                continue;
            }
            size_t j = i;
            while (j < count && runs[j].level >= level)
                j++;
            for (size_t a = i, z = j - 1; a < z; a++, z--) {
                run t = runs[a];
                runs[a] = runs[z];
                runs[z] = t;
            }
            i = j;
        }
    }
}

/* Append the glyphs of one shaped run at pen x; returns the new pen x. */
static double shape_run(builder *b, const run *r, double x, int line)
{
    hb_buffer_t *buf = b->hb;
    hb_buffer_clear_contents(buf);
    /* The whole paragraph is context, so Arabic letters join across runs. */
    hb_buffer_add_utf32(buf, b->cp + b->para_start, (int)(b->para_end - b->para_start),
                        (unsigned)(r->start - b->para_start), (int)(r->end - r->start));
    hb_buffer_set_direction(buf, (r->level & 1) ? HB_DIRECTION_RTL : HB_DIRECTION_LTR);
    hb_buffer_set_script(buf, is_neutral_script(r->script) ? HB_SCRIPT_LATIN : r->script);
    hb_buffer_guess_segment_properties(buf);
    hb_shape(b->font->hb, buf, NULL, 0);
    unsigned count = 0;
    hb_glyph_info_t *info = hb_buffer_get_glyph_infos(buf, &count);
    hb_glyph_position_t *pos = hb_buffer_get_glyph_positions(buf, &count);
    for (unsigned i = 0; i < count; i++) {
        fw_text_glyph *g = push_glyph(b);
        if (!g)
            return x;
        size_t index = b->para_start + info[i].cluster;
        double scale = b->scale * (b->small && b->small[index] ? SMALL_CAPS : 1);
        g->glyph_id = info[i].codepoint;
        g->codepoint = b->cp[index];
        g->byte_offset = b->byte[index];
        g->x = x + pos[i].x_offset * scale;
        g->y = -pos[i].y_offset * scale; /* font y is up, layer y is down */
        g->advance = pos[i].x_advance * scale;
        /* Tracking goes once per character cluster, not per glyph, so a
         * ligature or a conjunct is spaced like the letters it stands for. */
        if (i + 1 == count || info[i + 1].cluster != info[i].cluster)
            g->advance += b->tracking;
        g->scale = scale;
        g->line = line;
        x += g->advance;
    }
    return x;
}

/* Append the glyphs of code points [start, end) in visual order, the first at
 * x = 0; returns the advance of the line (trailing tracking excluded). */
static double shape_line(builder *b, size_t start, size_t end, int line)
{
    double x = 0;
    size_t first = b->out->glyph_count;
    if (start >= end)
        return 0;
    if (!b->font) {
        for (size_t i = start; i < end && !b->oom; i++) {
            fw_text_glyph *g = push_glyph(b);
            if (!g)
                break;
            g->codepoint = b->cp[i];
            g->byte_offset = b->byte[i];
            double size = b->rq->size * (b->small && b->small[i] ? SMALL_CAPS : 1);
            g->x = x;
            g->advance = b->rq->metrics->advance(b->rq->metrics->ctx, b->cp[i]) * size + b->tracking;
            g->scale = size;
            g->line = line;
            x += g->advance;
        }
    } else {
        size_t count = itemize(b, start, end);
        reorder_runs(b->runs, count);
        for (size_t i = 0; i < count && !b->oom; i++)
            x = shape_run(b, &b->runs[i], x, line);
    }
    return b->out->glyph_count > first ? x - b->tracking : 0;
}

static double measure(builder *b, size_t start, size_t end)
{
    size_t mark = b->out->glyph_count;
    double width = shape_line(b, start, end, 0);
    b->out->glyph_count = mark;
    return width;
}

/* ---- lines ---- */

static int push_line(builder *b, size_t start, size_t end, int paragraph_end)
{
    fw_text_layout *o = b->out;
    if (o->line_count == b->line_cap) {
        size_t cap = b->line_cap ? b->line_cap * 2 : 8;
        fw_text_line *l = realloc(o->lines, cap * sizeof(*l));
        if (!l) {
            b->oom = 1;
            return -1;
        }
        o->lines = l;
        b->line_cap = cap;
    }
    fw_text_line *line = &o->lines[o->line_count];
    line->first_glyph = o->glyph_count;
    line->width = shape_line(b, start, end, (int)o->line_count);
    line->glyph_count = o->glyph_count - line->first_glyph;
    /* Remember whether a paragraph ends here in x until placement; it is
     * replaced by the real x there. */
    line->x = paragraph_end;
    o->line_count++;
    return b->oom ? -1 : 0;
}

/* Flag in b->breaks the code points where its boundaries fall; the iterator
 * counts UTF-16 units from start, which are walked back to code points. */
static void mark_boundaries(builder *b, UBreakIterator *it, size_t start, unsigned char flag)
{
    size_t i = start, unit = 0;
    for (int32_t at = ubrk_next(it); at != UBRK_DONE; at = ubrk_next(it)) {
        while (unit < (size_t)at)
            unit += b->cp[i++] >= 0x10000 ? 2 : 1;
        b->breaks[i] |= flag;
    }
}

/* Whether a break forced inside a run may put c at the start of a line: not
 * what UAX #14 keeps with the text before it even after spaces (rule 13:
 * "!", ")", ",", "/", "。") nor a postfix like "%" (rule 25). */
static int may_start_forced_line(uint32_t c)
{
    switch (u_getIntPropertyValue((UChar32)c, UCHAR_LINE_BREAK)) {
    case U_LB_CLOSE_PUNCTUATION:
    case U_LB_CLOSE_PARENTHESIS:
    case U_LB_EXCLAMATION:
    case U_LB_INFIX_NUMERIC:
    case U_LB_BREAK_SYMBOLS:
    case U_LB_POSTFIX_NUMERIC:
        return 0;
    default:
        return 1;
    }
}

/* Where lines may break in [start, end) by UAX #14 and where its grapheme
 * clusters start, into b->breaks[start .. end]. The root locale's rules, so a
 * render does not depend on the machine's locale. */
static int find_breaks(builder *b, size_t start, size_t end)
{
    UChar *text = malloc(2 * (end - start) * sizeof(*text));
    size_t len = 0;
    if (!text) {
        b->oom = 1;
        return -1;
    }
    for (size_t i = start; i < end; i++) {
        uint32_t c = b->cp[i];
        if (c >= 0x10000) { /* a surrogate pair */
            text[len++] = (UChar)(0xD800 + ((c - 0x10000) >> 10));
            text[len++] = (UChar)(0xDC00 + ((c - 0x10000) & 0x3FF));
        } else {
            text[len++] = (UChar)c;
        }
    }
    memset(b->breaks + start, 0, end - start + 1);
    UErrorCode status = U_ZERO_ERROR;
    UBreakIterator *lines = ubrk_open(UBRK_LINE, "", text, (int32_t)len, &status);
    UBreakIterator *clusters = ubrk_open(UBRK_CHARACTER, "", text, (int32_t)len, &status);
    if (U_SUCCESS(status)) {
        mark_boundaries(b, lines, start, BREAK_LINE);
        mark_boundaries(b, clusters, start, BREAK_CLUSTER);
        for (size_t i = start + 1; i < end; i++)
            if ((b->breaks[i] & BREAK_CLUSTER) && may_start_forced_line(b->cp[i]))
                b->breaks[i] |= BREAK_FORCED;
    } else {
        b->oom = 1;
        if (status != U_MEMORY_ALLOCATION_ERROR)
            b->icu_error = u_errorName(status);
    }
    ubrk_close(lines);
    ubrk_close(clusters);
    free(text);
    return b->oom ? -1 : 0;
}

/* The next code point after i, up to end, that has flag in b->breaks; end
 * when there is none before it. */
static size_t next_break(const builder *b, size_t i, size_t end, unsigned char flag)
{
    do
        i++;
    while (i < end && !(b->breaks[i] & flag));
    return i;
}

/* [start, k) without its trailing spaces: they hang past the end of the line
 * and count for neither its width nor its alignment. */
static size_t without_trailing_spaces(const builder *b, size_t start, size_t k)
{
    while (k > start && is_space(b->cp[k - 1]))
        k--;
    return k;
}

/* The end of the longest prefix of [start, end) that ends where flag allows
 * and fits in width; start when none does. */
static size_t longest_fit(builder *b, size_t start, size_t end, double width, unsigned char flag)
{
    size_t fit = start;
    for (size_t k = next_break(b, start, end, flag); k <= end && measure(b, start, k) <= width;
         k = next_break(b, k, end, flag))
        fit = k;
    return fit;
}

/* Where to break [start, end), a run wider than width with no break
 * opportunity: after the most grapheme clusters that fit, preferring a break
 * that leaves closing punctuation where it belongs; at least one cluster, so
 * the line still makes progress. */
static size_t fitting_prefix(builder *b, size_t start, size_t end, double width)
{
    size_t fit = longest_fit(b, start, end, width, BREAK_FORCED);
    if (fit == start)
        fit = longest_fit(b, start, end, width, BREAK_CLUSTER);
    if (fit == start)
        fit = next_break(b, start, end, BREAK_CLUSTER);
    return fit;
}

static int wrap_paragraph(builder *b, size_t start, size_t end)
{
    const double width = b->rq->box_width + 1e-6;
    if (start == end)
        return push_line(b, start, end, 1);
    if (find_breaks(b, start, end) != 0)
        return -1;
    size_t line_start = start;
    do {
        /* Greedy: the last break opportunity before which the line still fits. */
        size_t fit_end = line_start, next_start = line_start;
        for (size_t k = next_break(b, line_start, end, BREAK_LINE);; k = next_break(b, k, end, BREAK_LINE)) {
            size_t content_end = without_trailing_spaces(b, line_start, k);
            if (measure(b, line_start, content_end) > width)
                break;
            fit_end = content_end;
            next_start = k;
            if (k >= end)
                break;
        }
        if (next_start == line_start) { /* a run with no break opportunity, wider than the box */
            size_t k = next_break(b, line_start, end, BREAK_LINE);
            size_t run_end = without_trailing_spaces(b, line_start, k);
            fit_end = fitting_prefix(b, line_start, run_end, width);
            next_start = fit_end == run_end ? k : fit_end;
            b->out->broken_words++;
        }
        if (push_line(b, line_start, fit_end, next_start >= end) != 0)
            return -1;
        line_start = next_start;
    } while (line_start < end);
    return 0;
}

static int paragraph_levels(builder *b, size_t start, size_t end)
{
    size_t len = end - start;
    if (!b->font || len == 0) {
        memset(b->levels + start, 0, len * sizeof(*b->levels));
        return 0;
    }
    FriBidiCharType *types = malloc(len * sizeof(*types));
    FriBidiBracketType *brackets = malloc(len * sizeof(*brackets));
    int rc = -1;
    if (types && brackets) {
        FriBidiParType direction = FRIBIDI_PAR_ON; /* from the first strong character */
        fribidi_get_bidi_types(b->cp + start, (FriBidiStrIndex)len, types);
        fribidi_get_bracket_types(b->cp + start, (FriBidiStrIndex)len, types, brackets);
        /* On failure (only on allocation failure inside FriBidi) the text is
         * laid out left to right rather than not at all. */
        if (!fribidi_get_par_embedding_levels_ex(types, brackets, (FriBidiStrIndex)len, &direction,
                                                 b->levels + start))
            memset(b->levels + start, 0, len * sizeof(*b->levels));
        rc = 0;
    }
    free(types);
    free(brackets);
    return rc;
}

static int build_lines(builder *b)
{
    size_t start = 0;
    for (size_t i = 0; i <= b->n; i++) {
        if (i < b->n && !is_break(b->cp[i]))
            continue;
        b->para_start = start;
        b->para_end = i;
        if (paragraph_levels(b, start, i) != 0) {
            b->oom = 1;
            return -1;
        }
        int rc = b->rq->box && b->rq->box_width > 0 ? wrap_paragraph(b, start, i) : push_line(b, start, i, 1);
        if (rc != 0)
            return -1;
        if (i < b->n && b->cp[i] == '\r' && i + 1 < b->n && b->cp[i + 1] == '\n')
            i++; /* "\r\n" is one break */
        start = i + 1;
    }
    return 0;
}

/* ---- placement ---- */

static void stretch_line(builder *b, fw_text_line *line, double target)
{
    size_t spaces = 0;
    fw_text_glyph *g = b->out->glyphs + line->first_glyph;
    for (size_t i = 0; i + 1 < line->glyph_count; i++)
        spaces += is_space(g[i].codepoint);
    if (!spaces || target <= line->width)
        return;
    double extra = (target - line->width) / (double)spaces, shift = 0;
    for (size_t i = 0; i < line->glyph_count; i++) {
        g[i].x += shift;
        if (i + 1 < line->glyph_count && is_space(g[i].codepoint)) {
            g[i].advance += extra;
            shift += extra;
        }
    }
    line->width = target;
}

static double font_ascent_px(const builder *b)
{
    if (b->font)
        return b->font->face->ascender * b->scale;
    return b->rq->metrics->ascent * b->rq->size;
}

static void place_lines(builder *b)
{
    const fw_text_request *rq = b->rq;
    fw_text_layout *o = b->out;
    double line_height = rq->line_height > 0 ? rq->line_height : 1.2 * rq->size;
    double top = 0;
    if (rq->box)
        top = rq->box_y + (rq->ascent > 0 ? rq->ascent : font_ascent_px(b));
    for (size_t l = 0; l < o->line_count; l++) {
        fw_text_line *line = &o->lines[l];
        int paragraph_end = line->x != 0;
        fw_text_align align = rq->align;
        int justify = align >= FW_TEXT_JUSTIFY_LAST_LEFT && rq->box && rq->box_width > 0;
        if (justify && (!paragraph_end || align == FW_TEXT_JUSTIFY_ALL))
            stretch_line(b, line, rq->box_width);
        /* The last line of a justified paragraph is aligned as the mode says;
         * point text has no width to justify to, so it is aligned the same way. */
        if (align == FW_TEXT_JUSTIFY_LAST_RIGHT)
            align = FW_TEXT_ALIGN_RIGHT;
        else if (align == FW_TEXT_JUSTIFY_LAST_CENTER)
            align = FW_TEXT_ALIGN_CENTER;
        else if (align >= FW_TEXT_JUSTIFY_LAST_LEFT)
            align = FW_TEXT_ALIGN_LEFT;
        double room = rq->box ? rq->box_width : 0;
        double x = rq->box ? rq->box_x : 0;
        if (align == FW_TEXT_ALIGN_RIGHT)
            x += room - line->width;
        else if (align == FW_TEXT_ALIGN_CENTER)
            x += (room - line->width) / 2;
        line->x = x;
        line->baseline = top + (double)l * line_height - rq->baseline_shift;
        if (line->width > o->width)
            o->width = line->width;
        for (size_t i = 0; i < line->glyph_count; i++) {
            fw_text_glyph *g = &o->glyphs[line->first_glyph + i];
            g->x += x;
            g->y += line->baseline;
        }
    }
}

/* ---- outlines ---- */

typedef struct outline_ctx {
    builder *b;
    const fw_text_glyph *glyph;
    double last_x, last_y; /* current point, layer coordinates */
    double start_x, start_y;
    int open;
} outline_ctx;

static void to_layer(const outline_ctx *c, const FT_Vector *v, double *x, double *y)
{
    *x = c->glyph->x + v->x * c->glyph->scale;
    *y = c->glyph->y - v->y * c->glyph->scale;
}

static int add_segment(outline_ctx *c, double x1, double y1, double x2, double y2, double x, double y)
{
    builder *b = c->b;
    if (push_point(b, x1, y1) || push_point(b, x2, y2) || push_point(b, x, y))
        return 1;
    b->out->contours[b->out->contour_count - 1].segment_count++;
    c->last_x = x;
    c->last_y = y;
    return 0;
}

static int close_contour(outline_ctx *c)
{
    if (!c->open)
        return 0;
    fw_text_contour *contour = &c->b->out->contours[c->b->out->contour_count - 1];
    c->open = 0;
    if (c->last_x != c->start_x || c->last_y != c->start_y)
        return add_segment(c, c->last_x, c->last_y, c->start_x, c->start_y, c->start_x, c->start_y);
    if (contour->segment_count == 0) { /* a lone point draws nothing */
        c->b->point_count--;
        c->b->out->contour_count--;
    }
    return 0;
}

static int on_move(const FT_Vector *to, void *user)
{
    outline_ctx *c = user;
    if (close_contour(c) || push_contour(c->b))
        return 1;
    to_layer(c, to, &c->start_x, &c->start_y);
    c->last_x = c->start_x;
    c->last_y = c->start_y;
    c->open = 1;
    return push_point(c->b, c->start_x, c->start_y) ? 1 : 0;
}

static int on_line(const FT_Vector *to, void *user)
{
    outline_ctx *c = user;
    double x, y;
    to_layer(c, to, &x, &y);
    return add_segment(c, c->last_x, c->last_y, x, y, x, y);
}

static int on_conic(const FT_Vector *control, const FT_Vector *to, void *user)
{
    outline_ctx *c = user;
    double cx, cy, x, y;
    to_layer(c, control, &cx, &cy);
    to_layer(c, to, &x, &y);
    /* A quadratic is the cubic with controls 2/3 of the way to its control. */
    return add_segment(c, c->last_x + 2.0 / 3.0 * (cx - c->last_x), c->last_y + 2.0 / 3.0 * (cy - c->last_y),
                       x + 2.0 / 3.0 * (cx - x), y + 2.0 / 3.0 * (cy - y), x, y);
}

static int on_cubic(const FT_Vector *c1, const FT_Vector *c2, const FT_Vector *to, void *user)
{
    outline_ctx *c = user;
    double x1, y1, x2, y2, x, y;
    to_layer(c, c1, &x1, &y1);
    to_layer(c, c2, &x2, &y2);
    to_layer(c, to, &x, &y);
    return add_segment(c, x1, y1, x2, y2, x, y);
}

static const FT_Outline_Funcs outline_funcs = {
    .move_to = on_move, .line_to = on_line, .conic_to = on_conic, .cubic_to = on_cubic, .shift = 0, .delta = 0};

static void read_outlines(builder *b)
{
    FT_Face face = b->font->face;
    for (size_t i = 0; i < b->out->glyph_count && !b->oom; i++) {
        fw_text_glyph *g = &b->out->glyphs[i];
        g->first_contour = b->out->contour_count;
        if (FT_Load_Glyph(face, g->glyph_id, FT_LOAD_NO_SCALE | FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP) ||
            face->glyph->format != FT_GLYPH_FORMAT_OUTLINE)
            continue; /* a glyph without an outline (space) draws nothing */
        if (b->font->embolden) /* synthetic bold, em/32 wider, as browsers make it */
            FT_Outline_Embolden(&face->glyph->outline, (FT_Pos)(face->units_per_EM / 32));
        if (b->font->oblique) { /* synthetic italic: x += y / 4 */
            FT_Matrix slant = {.xx = 0x10000, .xy = 0x4000, .yx = 0, .yy = 0x10000};
            FT_Outline_Transform(&face->glyph->outline, &slant);
        }
        outline_ctx c = {.b = b, .glyph = g};
        /* A malformed outline keeps what was read of it; only running out
         * of memory (b->oom, set by the pushes) fails the layout. */
        if (FT_Outline_Decompose(&face->glyph->outline, &outline_funcs, &c) == 0)
            close_contour(&c);
        g->contour_count = b->out->contour_count - g->first_contour;
    }
}

static void finish_contours(builder *b)
{
    fw_text_layout *o = b->out;
    int first = 1;
    for (size_t i = 0; i < o->contour_count; i++)
        o->contours[i].points = b->points + b->contour_offsets[i];
    for (size_t i = 0; i < b->point_count; i++) {
        const fw_text_point *p = &b->points[i];
        if (first || p->x < o->min_x)
            o->min_x = p->x;
        if (first || p->x > o->max_x)
            o->max_x = p->x;
        if (first || p->y < o->min_y)
            o->min_y = p->y;
        if (first || p->y > o->max_y)
            o->max_y = p->y;
        first = 0;
    }
}

/* ---- entry points ---- */

static fw_err check_request(const fw_text_request *rq, fw_error *err)
{
    if (!rq || !rq->text)
        return fw_error_set(err, FW_ERR_INVALID, "text", "No text was given to lay out.");
    if (!rq->font && (!rq->metrics || !rq->metrics->advance))
        return fw_error_set(err, FW_ERR_INVALID, "font", "Text needs a font (or per-character metrics).");
    if (!(rq->size > 0) || !isfinite(rq->size))
        return fw_error_set(err, FW_ERR_INVALID, "size", "The font size must be a positive number, not %g.",
                            rq->size);
    if (!isfinite(rq->line_height) || !isfinite(rq->tracking) || !isfinite(rq->baseline_shift))
        return fw_error_set(err, FW_ERR_INVALID, "lineHeight", "Line height, tracking and baseline shift must be "
                                                               "finite numbers.");
    if (rq->box && (!(rq->box_width >= 0) || !isfinite(rq->box_width) || !isfinite(rq->box_x) ||
                    !isfinite(rq->box_y)))
        return fw_error_set(err, FW_ERR_INVALID, "box", "A text box needs a finite position and a width >= 0.");
    if ((unsigned)rq->align > FW_TEXT_JUSTIFY_ALL)
        return fw_error_set(err, FW_ERR_INVALID, "align", "Unknown text alignment %d.", (int)rq->align);
    return FW_OK;
}

void fw_text_layout_free(fw_text_layout **playout)
{
    fw_text_layout *l = *playout;
    if (!l)
        return;
    if (l->contour_count || l->contours)
        free(l->contour_count ? l->contours[0].points : NULL);
    free(l->contours);
    free(l->glyphs);
    free(l->lines);
    free(l);
    *playout = NULL;
}

fw_err fw_text_layout_new(const fw_text_request *rq, fw_text_layout **out, fw_error *err)
{
    *out = NULL;
    fw_err rc = check_request(rq, err);
    if (rc != FW_OK)
        return rc;
    builder b = {.rq = rq, .font = rq->font};
    b.out = calloc(1, sizeof(*b.out));
    if (!b.out)
        return fw_error_set(err, FW_ERR_NOMEM, "text", "Out of memory laying out text.");
    b.scale = rq->font ? rq->size / (double)rq->font->face->units_per_EM : rq->size;
    b.tracking = rq->tracking / 1000.0 * rq->size;

    if (rq->font)
        fw_fontset_lock_(rq->font->set);
    if (rq->font) {
        b.hb = hb_buffer_create();
        if (!hb_buffer_allocation_successful(b.hb))
            b.oom = 1;
    }
    if (!b.oom && decode_text(&b) == 0 && build_lines(&b) == 0) {
        place_lines(&b);
        if (rq->font)
            read_outlines(&b);
    } else {
        b.oom = 1;
    }
    if (rq->font)
        fw_fontset_unlock_(rq->font->set);

    hb_buffer_destroy(b.hb);
    free(b.cp);
    free(b.byte);
    free(b.levels);
    free(b.small);
    free(b.breaks);
    free(b.runs);
    if (b.oom) {
        free(b.points);
        free(b.contour_offsets);
        b.out->contour_count = 0;
        fw_text_layout_free(&b.out);
        if (b.icu_error)
            return fw_error_set(err, FW_ERR_INTERNAL, "text", "ICU could not find where the lines may break (%s).",
                                b.icu_error);
        return fw_error_set(err, FW_ERR_NOMEM, "text", "Out of memory laying out text.");
    }
    if (b.out->contour_count == 0) { /* nothing owns the point array then */
        free(b.points);
        b.points = NULL;
    }
    finish_contours(&b);
    free(b.contour_offsets);
    *out = b.out;
    return FW_OK;
}
