/*
 * text_line_breaks_test.c - where box text breaks its lines: where Unicode's
 * line breaking rules (UAX #14) allow, and inside a run too wide for the box
 * only between grapheme clusters. Each case names the byte offsets the lines
 * start at and keeps every line within the box.
 *
 * The machine has no CJK font (fc-list :lang=zh is empty on Debian 12 with
 * fonts-noto-core), so Chinese is laid out in DejaVu Sans, which draws every
 * ideograph as the same missing-glyph box: where lines break does not depend
 * on the glyphs being there.
 */
#include "server/text/text_layout.h"

#include <stdio.h>

#include "tests/fw_test.h"

#define DEVANAGARI_FONT "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf"

static fw_fontset *fonts;

static fw_text_layout *lay(const fw_text_request *rq)
{
    fw_text_layout *layout = NULL;
    fw_error err = {0};
    if (fw_text_layout_new(rq, &layout, &err) != FW_OK)
        fprintf(stderr, "  layout failed: %s: %s\n", err.field, err.message);
    return layout;
}

/* Width of text on one line in a font (DejaVu Sans when NULL), 20 px. */
static double width_in(const fw_font *font, const char *text)
{
    fw_text_request rq = {.text = text, .font = font ? font : fw_fontset_default(fonts), .size = 20};
    fw_text_layout *l = lay(&rq);
    double w = l && l->line_count == 1 ? l->lines[0].width : -1;
    fw_text_layout_free(&l);
    return w;
}

static double width_of(const char *text)
{
    return width_in(NULL, text);
}

/* text as box text, 20 px, in a box `width` wide. */
static fw_text_layout *lay_box_in(const fw_font *font, const char *text, double width)
{
    fw_text_request rq = {.text = text, .font = font ? font : fw_fontset_default(fonts), .size = 20};
    rq.box = 1;
    rq.box_width = width;
    rq.box_height = 1000;
    return lay(&rq);
}

static fw_text_layout *lay_box(const char *text, double width)
{
    return lay_box_in(NULL, text, width);
}

/* The byte offset line i starts at in the text: its logically first glyph's
 * (glyphs are in visual order, and a reordered vowel sign carries its
 * cluster's offset); -1 for an empty line. */
static long line_start(const fw_text_layout *l, size_t i)
{
    const fw_text_line *line = &l->lines[i];
    long first = -1;
    for (size_t g = line->first_glyph; g < line->first_glyph + line->glyph_count; g++)
        if (first < 0 || (long)l->glyphs[g].byte_offset < first)
            first = (long)l->glyphs[g].byte_offset;
    return first;
}

/* The lines start at these byte offsets (-1: an empty line), one by one. */
static int lines_start_at(const fw_text_layout *l, const long *starts, size_t count)
{
    if (l->line_count != count) {
        fprintf(stderr, "  %zu lines, expected %zu\n", l->line_count, count);
        return 0;
    }
    for (size_t i = 0; i < count; i++)
        if (line_start(l, i) != starts[i]) {
            fprintf(stderr, "  line %zu starts at byte %ld, expected %ld\n", i, line_start(l, i), starts[i]);
            return 0;
        }
    return 1;
}

static int lines_within(const fw_text_layout *l, double width)
{
    int ok = 1;
    for (size_t i = 0; i < l->line_count; i++)
        if (l->lines[i].width > width + 1e-6) {
            fprintf(stderr, "  line %zu is %g px wide, the box %g\n", i, l->lines[i].width, width);
            ok = 0;
        }
    return ok;
}

static void test_a_hyphenated_word_breaks_after_its_hyphen(void)
{
    /* "well-kno" would fit; the break goes after the hyphen, which stays on
     * the first line and counts for its width. */
    double box = width_of("well-kno") + 0.5;
    FW_REQUIRE(width_of("well-known") > box);
    fw_text_layout *l = lay_box("well-known", box);
    FW_REQUIRE(l);
    static const long starts[] = {0, 5};
    FW_CHECK(lines_start_at(l, starts, 2));
    FW_CHECK(lines_within(l, box));
    FW_CHECK_NEAR(l->lines[0].width, width_of("well-"), 1e-9);
    FW_CHECK_INT(l->broken_words, 0);
    fw_text_layout_free(&l);

    /* A slash between words is a break opportunity after it too. */
    box = width_of("input/out") + 0.5;
    l = lay_box("input/output", box);
    FW_REQUIRE(l);
    static const long slash_starts[] = {0, 6};
    FW_CHECK(lines_start_at(l, slash_starts, 2));
    FW_CHECK(lines_within(l, box));
    FW_CHECK_INT(l->broken_words, 0);
    fw_text_layout_free(&l);
}

static void test_chinese_without_spaces_wraps_between_ideographs(void)
{
    /* "我们在北京。今天天气很好！": five ideographs fit a line, but "。" may not
     * start one, so "京" goes down with it; "！" likewise keeps "气很好"
     * together at the end. */
    const char *text = "\xE6\x88\x91\xE4\xBB\xAC\xE5\x9C\xA8\xE5\x8C\x97\xE4\xBA\xAC\xE3\x80\x82"
                       "\xE4\xBB\x8A\xE5\xA4\xA9\xE5\xA4\xA9\xE6\xB0\x94\xE5\xBE\x88\xE5\xA5\xBD\xEF\xBC\x81";
    double box = width_of("\xE6\x88\x91\xE4\xBB\xAC\xE5\x9C\xA8\xE5\x8C\x97\xE4\xBA\xAC") + 0.5;
    FW_REQUIRE(box > 0);
    fw_text_layout *l = lay_box(text, box);
    FW_REQUIRE(l);
    static const long starts[] = {0, 12, 27};
    FW_CHECK(lines_start_at(l, starts, 3));
    FW_CHECK(lines_within(l, box));
    FW_CHECK_INT(l->broken_words, 0); /* breaks between ideographs are ordinary ones */
    fw_text_layout_free(&l);
}

static void test_closing_punctuation_never_starts_a_line(void)
{
    /* "!" stays with the word before it even across a space (UAX #14 rule 13). */
    double box = width_of("Hello world") + 0.5;
    fw_text_layout *l = lay_box("Hello world !", box);
    FW_REQUIRE(l);
    static const long starts[] = {0, 6};
    FW_CHECK(lines_start_at(l, starts, 2));
    FW_CHECK(lines_within(l, box));
    fw_text_layout_free(&l);

    /* A word too wide for the box is broken inside, but not before its "!". */
    box = width_of("Hello") + 0.5;
    FW_REQUIRE(width_of("Hello!") > box);
    l = lay_box("Hello!", box);
    FW_REQUIRE(l);
    static const long forced_starts[] = {0, 4};
    FW_CHECK(lines_start_at(l, forced_starts, 2));
    FW_CHECK(lines_within(l, box));
    FW_CHECK_INT(l->broken_words, 1);
    fw_text_layout_free(&l);

    /* Nor between a number and its "%". */
    box = width_of("100") + 0.5;
    FW_REQUIRE(width_of("100%") > box);
    l = lay_box("100%", box);
    FW_REQUIRE(l);
    static const long percent_starts[] = {0, 2};
    FW_CHECK(lines_start_at(l, percent_starts, 2));
    FW_CHECK(lines_within(l, box));
    fw_text_layout_free(&l);
}

static void test_a_word_wider_than_the_box_breaks_between_grapheme_clusters(void)
{
    /* "Supercaͣlifragilistic": U+0363 (a combining small a, bytes 7-8) is
     * missing from DejaVu Sans and drawn as a box as wide as a letter, yet it
     * is one cluster with the "a" before it: the first line cannot end
     * between them, so it ends before the "a". */
    const char *text = "Superca\xCD\xA3lifragilistic";
    double box = width_of("Superca") + 0.5;
    FW_REQUIRE(width_of("Superca\xCD\xA3") > box);
    fw_text_layout *l = lay_box(text, box);
    FW_REQUIRE(l);
    FW_CHECK_MSG(l->line_count >= 3, "%zu lines", l->line_count);
    FW_CHECK(lines_within(l, box));
    FW_CHECK_INT(l->broken_words, l->line_count - 1);
    if (l->line_count >= 2)
        FW_CHECK_INT(line_start(l, 1), 6);
    /* Every line is as long as fits: the next character would overflow it. */
    for (size_t i = 0; i + 1 < l->line_count; i++) {
        long from = line_start(l, i), next = line_start(l, i + 1);
        size_t step = text[next] == 'a' && text[next + 1] == '\xCD' ? 3 : 1;
        char longer[64];
        snprintf(longer, sizeof(longer), "%.*s", (int)(next - from + (long)step), text + from);
        FW_CHECK_MSG(width_of(longer) > box, "\"%s\" would have fitted", longer);
    }
    fw_text_layout_free(&l);
}

/* Every line of l starts at one of the byte offsets in clusters (the last
 * one the end of the text), and every glyph is on the line of its cluster. */
static int lines_keep_clusters(const fw_text_layout *l, const long *clusters, size_t count)
{
    for (size_t i = 0; i < l->line_count; i++) {
        long from = line_start(l, i), to = i + 1 < l->line_count ? line_start(l, i + 1) : clusters[count - 1];
        size_t c = 0;
        while (c < count && clusters[c] != from)
            c++;
        if (c == count) {
            fprintf(stderr, "  line %zu starts at byte %ld, inside a cluster\n", i, from);
            return 0;
        }
        const fw_text_line *line = &l->lines[i];
        for (size_t g = line->first_glyph; g < line->first_glyph + line->glyph_count; g++)
            if ((long)l->glyphs[g].byte_offset < from || (long)l->glyphs[g].byte_offset >= to) {
                fprintf(stderr, "  a glyph of byte %zu is on line %zu, bytes %ld-%ld\n", l->glyphs[g].byte_offset, i,
                        from, to);
                return 0;
            }
    }
    return 1;
}

static void test_devanagari_broken_as_a_last_resort_keeps_conjuncts_whole(void)
{
    /* "विश्वविद्यालय" (university), one word: its grapheme clusters वि श्व वि
     * द्या ल य start at these bytes. At every box width the lines start only
     * there, and each glyph lies on the line of its cluster, so a virama
     * conjunct (श्व, द्या) or a vowel sign is never split from its consonant. */
    static const long clusters[] = {0, 6, 15, 21, 33, 36, 39};
    const size_t count = sizeof(clusters) / sizeof(clusters[0]);
    const char *text = "\xE0\xA4\xB5\xE0\xA4\xBF\xE0\xA4\xB6\xE0\xA5\x8D\xE0\xA4\xB5\xE0\xA4\xB5\xE0\xA4\xBF"
                       "\xE0\xA4\xA6\xE0\xA5\x8D\xE0\xA4\xAF\xE0\xA4\xBE\xE0\xA4\xB2\xE0\xA4\xAF";
    fw_fontset *set = NULL;
    fw_error err = {0};
    FW_REQUIRE(fw_fontset_new(&set, DEVANAGARI_FONT, &err) == FW_OK); /* fonts-noto-core */
    const fw_font *font = fw_fontset_default(set);
    double widest = 0;
    for (size_t c = 0; c + 1 < count; c++) {
        char one[16];
        snprintf(one, sizeof(one), "%.*s", (int)(clusters[c + 1] - clusters[c]), text + clusters[c]);
        double w = width_in(font, one);
        if (w > widest)
            widest = w;
    }
    double full = width_in(font, text);
    size_t most_lines = 0;
    for (double box = widest + 0.25; box < full; box += 0.25) {
        fw_text_layout *l = lay_box_in(font, text, box);
        FW_REQUIRE(l);
        if (l->line_count > most_lines)
            most_lines = l->line_count;
        int ok = lines_within(l, box) && lines_keep_clusters(l, clusters, count);
        FW_CHECK_MSG(ok, "in a box %g px wide", box);
        fw_text_layout_free(&l);
        if (!ok)
            break; /* one width shows it; the next ones would repeat it */
    }
    FW_CHECK_MSG(most_lines >= 4, "at most %zu lines", most_lines);
    fw_fontset_free(&set);
}

static void test_mandatory_breaks_still_break_wrapped_text(void)
{
    /* "\n", U+2028 and "\r\n" end lines wherever they are, an empty line
     * included; between them the text wraps by the rules as before. */
    const char *text = "alpha beta\ngamma-ray\xE2\x80\xA8" "delta\r\n\r\nomega";
    double box = width_of("gamma-r") + 0.5;
    FW_REQUIRE(width_of("alpha beta") > box && width_of("delta") < box && width_of("omega") < box);
    fw_text_layout *l = lay_box(text, box);
    FW_REQUIRE(l);
    static const long starts[] = {0, 6, 11, 17, 23, -1, 32};
    FW_CHECK(lines_start_at(l, starts, 7));
    FW_CHECK(lines_within(l, box));
    FW_CHECK_INT(l->broken_words, 0);
    fw_text_layout_free(&l);
}

int main(void)
{
    fw_error err = {0};
    if (fw_fontset_new(&fonts, NULL, &err) != FW_OK) {
        fprintf(stderr, "the default font is missing: %s (install fonts-dejavu-core)\n", err.message);
        return 1;
    }
    FW_RUN(test_a_hyphenated_word_breaks_after_its_hyphen);
    FW_RUN(test_chinese_without_spaces_wraps_between_ideographs);
    FW_RUN(test_closing_punctuation_never_starts_a_line);
    FW_RUN(test_a_word_wider_than_the_box_breaks_between_grapheme_clusters);
    FW_RUN(test_devanagari_broken_as_a_last_resort_keeps_conjuncts_whole);
    FW_RUN(test_mandatory_breaks_still_break_wrapped_text);
    fw_fontset_free(&fonts);
    return fw_test_end();
}
