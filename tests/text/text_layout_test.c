/*
 * text_layout_test.c - layout with real fonts, checked with numbers: kerning,
 * ligatures, right-to-left and Devanagari shaping, wrapping, alignment,
 * tracking, line height and the outlines themselves.
 */
#include "server/text/text_layout.h"

#include <math.h>
#include <stdio.h>

#include "tests/fw_test.h"

#define DEVANAGARI_FONT "/usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf"

static fw_fontset *fonts;

static const fw_font *dejavu(void)
{
    return fw_fontset_default(fonts);
}

static fw_text_request point(const char *text, double size)
{
    fw_text_request rq = {.text = text, .font = dejavu(), .size = size};
    return rq;
}

static fw_text_layout *lay(const fw_text_request *rq)
{
    fw_text_layout *layout = NULL;
    fw_error err = {0};
    if (fw_text_layout_new(rq, &layout, &err) != FW_OK)
        fprintf(stderr, "  layout failed: %s: %s\n", err.field, err.message);
    return layout;
}

/* Width of the only line of a point text. */
static double width_of(const char *text, double size, double tracking)
{
    fw_text_request rq = point(text, size);
    rq.tracking = tracking;
    fw_text_layout *l = lay(&rq);
    double w = l && l->line_count ? l->lines[0].width : -1;
    fw_text_layout_free(&l);
    return w;
}

static void test_kerning_pulls_av_together(void)
{
    double av = width_of("AV", 100, 0), a = width_of("A", 100, 0), v = width_of("V", 100, 0);
    FW_CHECK_MSG(av < a + v - 1, "AV %g, A + V %g", av, a + v);
}

static void test_fi_becomes_one_ligature_glyph(void)
{
    fw_text_request rq = point("fi", 100);
    fw_text_layout *l = lay(&rq);
    FW_REQUIRE(l);
    FW_CHECK_INT(l->glyph_count, 1);
    fw_text_layout_free(&l);
    rq = point("f i", 100);
    l = lay(&rq);
    FW_REQUIRE(l);
    FW_CHECK_INT(l->glyph_count, 3);
    fw_text_layout_free(&l);
}

static void test_hebrew_starts_on_the_right(void)
{
    /* shalom: the first letter (shin, byte 0) is drawn rightmost */
    fw_text_request rq = point("\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D", 50);
    fw_text_layout *l = lay(&rq);
    FW_REQUIRE(l && l->glyph_count == 4);
    const fw_text_glyph *first = NULL;
    for (size_t i = 0; i < l->glyph_count; i++)
        if (l->glyphs[i].byte_offset == 0)
            first = &l->glyphs[i];
    FW_REQUIRE(first);
    for (size_t i = 0; i < l->glyph_count; i++)
        FW_CHECK(l->glyphs[i].x <= first->x);
    FW_CHECK_INT(l->glyphs[l->glyph_count - 1].byte_offset, 0);
    fw_text_layout_free(&l);
}

static void test_mixed_direction_keeps_latin_left_to_right(void)
{
    /* "abc " then Hebrew: in a left-to-right paragraph Latin comes first, the
     * Hebrew word after it, itself right to left. */
    fw_text_request rq = point("abc \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D", 50);
    fw_text_layout *l = lay(&rq);
    FW_REQUIRE(l && l->glyph_count == 8);
    FW_CHECK_INT(l->glyphs[0].codepoint, 'a');
    FW_CHECK_INT(l->glyphs[2].codepoint, 'c');
    FW_CHECK_INT(l->glyphs[7].codepoint, 0x5E9); /* shin, logically first of the word, drawn last */
    fw_text_layout_free(&l);
}

static void test_arabic_letters_take_joining_forms(void)
{
    /* beh beh beh: joined forms differ from the isolated letter's glyph */
    fw_text_request rq = point("\xD8\xA8\xD8\xA8\xD8\xA8", 50);
    fw_text_layout *l = lay(&rq);
    fw_text_request iso = point("\xD8\xA8", 50);
    fw_text_layout *single = lay(&iso);
    FW_REQUIRE(l && single && l->glyph_count == 3 && single->glyph_count == 1);
    for (size_t i = 0; i < 3; i++)
        FW_CHECK(l->glyphs[i].glyph_id != single->glyphs[0].glyph_id);
    fw_text_layout_free(&l);
    fw_text_layout_free(&single);
}

static void test_devanagari_shaping_reorders_and_joins(void)
{
    fw_fontset *set = NULL;
    fw_error err = {0};
    if (access(DEVANAGARI_FONT, R_OK) != 0)
        FW_SKIP("no Devanagari font (Debian package fonts-lohit-deva)");
    FW_REQUIRE(fw_fontset_new(&set, DEVANAGARI_FONT, &err) == FW_OK);
    /* "ki": the vowel sign i (U+093F) follows ka in the text but is drawn
     * before it. */
    fw_text_request rq = {.text = "\xE0\xA4\x95\xE0\xA4\xBF", .font = fw_fontset_default(set), .size = 50};
    fw_text_layout *l = lay(&rq);
    FW_REQUIRE(l && l->glyph_count == 2);
    fw_text_request ka = rq, sign = rq;
    ka.text = "\xE0\xA4\x95";
    sign.text = "\xE0\xA4\xBF";
    fw_text_layout *lk = lay(&ka), *ls = lay(&sign);
    FW_REQUIRE(lk && ls && lk->glyph_count == 1);
    FW_CHECK(l->glyphs[1].glyph_id == lk->glyphs[0].glyph_id); /* ka is second */
    FW_CHECK(l->glyphs[0].glyph_id != lk->glyphs[0].glyph_id);
    fw_text_layout_free(&lk);
    fw_text_layout_free(&ls);
    fw_text_layout_free(&l);
    /* ka + virama + ssa: the conjunct ksha is fewer glyphs than code points */
    rq.text = "\xE0\xA4\x95\xE0\xA5\x8D\xE0\xA4\xB7";
    l = lay(&rq);
    FW_REQUIRE(l);
    FW_CHECK(l->glyph_count < 3);
    fw_text_layout_free(&l);
    fw_fontset_free(&set);
}

/* The glyph ids HarfBuzz's own hb-shape gives for text in a font, in its
 * output order (visual, left to right); the count, or -1. */
static int hb_shape_ids(const char *font, const char *text, uint32_t *ids, int most)
{
    char cmd[1024];
    int n = 0, c;
    snprintf(cmd, sizeof(cmd), "hb-shape --no-glyph-names --no-positions --no-clusters '%s' '%s'", font, text);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    if (fgetc(p) != '[') {
        pclose(p);
        return -1;
    }
    uint32_t v = 0;
    int digits = 0;
    while ((c = fgetc(p)) != EOF) {
        if (c >= '0' && c <= '9') {
            v = v * 10 + (uint32_t)(c - '0');
            digits++;
        } else if ((c == '|' || c == ']') && digits && n < most) {
            ids[n++] = v;
            v = 0;
            digits = 0;
            if (c == ']')
                break;
        }
    }
    return pclose(p) == 0 ? n : -1;
}

static void test_arabic_and_hindi_glyphs_are_harfbuzz_own(void)
{
    static const struct {
        const char *font, *text;
    } cases[] = {
        /* "Hello world" in Arabic (right to left, joined) and in Hindi
         * (conjuncts and a vowel sign drawn before its consonant). */
        {"/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
         "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 \xD8\xA8\xD8\xA7\xD9\x84\xD8\xB9\xD8\xA7\xD9\x84\xD9\x85"},
        {"/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",
         "\xE0\xA4\xA8\xE0\xA4\xAE\xE0\xA4\xB8\xE0\xA5\x8D\xE0\xA4\xA4\xE0\xA5\x87 "
         "\xE0\xA4\xA6\xE0\xA5\x81\xE0\xA4\xA8\xE0\xA4\xBF\xE0\xA4\xAF\xE0\xA4\xBE"},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        fw_fontset *set = NULL;
        fw_error err = {0};
        uint32_t ids[64];
        int n = hb_shape_ids(cases[c].font, cases[c].text, ids, 64);
        FW_CHECK_MSG(n > 0, "hb-shape (Debian's libharfbuzz-bin) did not shape %s", cases[c].font);
        if (n <= 0)
            continue;
        FW_REQUIRE(fw_fontset_new(&set, cases[c].font, &err) == FW_OK);
        fw_text_request rq = {.text = cases[c].text, .font = fw_fontset_default(set), .size = 40};
        fw_text_layout *l = lay(&rq);
        FW_REQUIRE(l);
        FW_CHECK_MSG(l->glyph_count == (size_t)n, "%s: %zu glyphs, hb-shape %d", cases[c].font, l->glyph_count, n);
        for (size_t i = 0; i < l->glyph_count && i < (size_t)n; i++)
            FW_CHECK_MSG(l->glyphs[i].glyph_id == ids[i], "%s: glyph %zu is %u, hb-shape says %u", cases[c].font, i,
                         l->glyphs[i].glyph_id, ids[i]);
        fw_text_layout_free(&l);
        fw_fontset_free(&set);
    }
}

static void test_box_text_wraps_at_words_within_the_width(void)
{
    fw_text_request rq = point("The quick brown fox jumps over the lazy dog", 20);
    rq.box = 1;
    rq.box_x = -100;
    rq.box_y = -50;
    rq.box_width = 200;
    rq.box_height = 300;
    rq.line_height = 24;
    fw_text_layout *l = lay(&rq);
    FW_REQUIRE(l);
    double total = width_of("The quick brown fox jumps over the lazy dog", 20, 0);
    FW_CHECK(l->line_count >= (size_t)(total / 200) + 1);
    FW_CHECK(l->line_count <= 4);
    for (size_t i = 0; i < l->line_count; i++) {
        FW_CHECK(l->lines[i].width <= 200 + 1e-6);
        FW_CHECK_NEAR(l->lines[i].x, -100, 1e-9);
        FW_CHECK_NEAR(l->lines[i].baseline - l->lines[0].baseline, 24.0 * (double)i, 1e-9);
        /* greedy: every line but the last would overflow with the next word */
        if (i + 1 < l->line_count) {
            const char *text = rq.text;
            size_t from = l->glyphs[l->lines[i].first_glyph].byte_offset;
            size_t next = l->glyphs[l->lines[i + 1].first_glyph].byte_offset;
            size_t to = next + strcspn(text + next, " ");
            char longer[128];
            snprintf(longer, sizeof(longer), "%.*s", (int)(to - from), text + from);
            FW_CHECK_MSG(width_of(longer, 20, 0) > 200, "\"%s\" would have fitted", longer);
        }
    }
    FW_CHECK(l->max_x <= 100 + 1);
    FW_CHECK(l->min_x >= -100 - 2);
    /* No line starts with a space: the break consumed it. */
    for (size_t i = 0; i < l->line_count; i++)
        FW_CHECK(l->glyphs[l->lines[i].first_glyph].codepoint != ' ');
    /* The first baseline is the font's ascent below the box top. */
    FW_CHECK(l->lines[0].baseline > -50 + 10 && l->lines[0].baseline < -50 + 20);
    fw_text_layout_free(&l);
}

static void test_box_text_breaks_a_word_wider_than_the_box(void)
{
    fw_text_request rq = point("Supercalifragilistic", 20);
    rq.box = 1;
    rq.box_width = 60;
    fw_text_layout *l = lay(&rq);
    FW_REQUIRE(l);
    FW_CHECK(l->line_count >= 4);
    for (size_t i = 0; i < l->line_count; i++)
        FW_CHECK(l->lines[i].width <= 60 + 1e-6 && l->lines[i].glyph_count >= 1);
    fw_text_layout_free(&l);
}

static void test_explicit_breaks_and_box_ascent(void)
{
    fw_text_request rq = point("one\rtwo\nthree\r\nfour\x03" "five", 10);
    rq.box = 1;
    rq.box_x = 5;
    rq.box_y = 7;
    rq.box_width = 500;
    rq.line_height = 15;
    rq.ascent = 8;
    fw_text_layout *l = lay(&rq);
    FW_REQUIRE(l);
    FW_CHECK_INT(l->line_count, 5);
    FW_CHECK_NEAR(l->lines[0].baseline, 7 + 8, 1e-9);
    FW_CHECK_NEAR(l->lines[4].baseline, 7 + 8 + 60, 1e-9);
    FW_CHECK_INT(l->glyphs[l->lines[2].first_glyph].codepoint, 't');
    FW_CHECK_INT(l->lines[2].glyph_count, 5);
    fw_text_layout_free(&l);
}

static void test_centre_justification_centres_on_the_anchor(void)
{
    fw_text_request rq = point("Centred text\rand a second, longer line", 40);
    rq.align = FW_TEXT_ALIGN_CENTER;
    fw_text_layout *l = lay(&rq);
    FW_REQUIRE(l && l->line_count == 2);
    for (size_t i = 0; i < 2; i++)
        FW_CHECK_NEAR(l->lines[i].x + l->lines[i].width / 2, 0, 1e-9);
    FW_CHECK_NEAR((l->min_x + l->max_x) / 2, 0, 4); /* the ink, not just the advances */
    fw_text_layout_free(&l);

    rq.box = 1;
    rq.box_x = 100;
    rq.box_width = 600;
    l = lay(&rq);
    FW_REQUIRE(l);
    FW_CHECK_NEAR(l->lines[0].x + l->lines[0].width / 2, 400, 1e-9);
    fw_text_layout_free(&l);
}

static void test_right_justification_ends_at_the_anchor(void)
{
    fw_text_request rq = point("Right", 40);
    rq.align = FW_TEXT_ALIGN_RIGHT;
    fw_text_layout *l = lay(&rq);
    FW_REQUIRE(l);
    FW_CHECK_NEAR(l->lines[0].x + l->lines[0].width, 0, 1e-9);
    FW_CHECK(l->max_x <= 1 && l->max_x > -10);
    fw_text_layout_free(&l);
}

static void test_justified_lines_fill_the_box_but_the_last(void)
{
    fw_text_request rq = point("aaa bbb ccc ddd eee fff ggg hhh iii jjj", 20);
    rq.box = 1;
    rq.box_width = 150;
    rq.align = FW_TEXT_JUSTIFY_LAST_LEFT;
    fw_text_layout *l = lay(&rq);
    FW_REQUIRE(l && l->line_count >= 3);
    for (size_t i = 0; i + 1 < l->line_count; i++) {
        const fw_text_line *line = &l->lines[i];
        const fw_text_glyph *last = &l->glyphs[line->first_glyph + line->glyph_count - 1];
        FW_CHECK_NEAR(line->width, 150, 1e-6);
        FW_CHECK_NEAR(last->x + last->advance, 150, 1e-6);
    }
    const fw_text_line *final = &l->lines[l->line_count - 1];
    FW_CHECK(final->width < 150);
    FW_CHECK_NEAR(final->x, 0, 1e-9);
    fw_text_layout_free(&l);
}

static void test_tracking_adds_the_expected_space(void)
{
    double plain = width_of("WAVE", 50, 0), tracked = width_of("WAVE", 50, 100);
    /* 100/1000 em after each of the first three letters: 3 * 0.1 * 50 */
    FW_CHECK_NEAR(tracked - plain, 15, 1e-9);
}

static void test_baseline_shift_raises_and_line_height_spaces_lines(void)
{
    fw_text_request rq = point("A\rB", 30);
    rq.line_height = 50;
    rq.baseline_shift = 6;
    fw_text_layout *l = lay(&rq);
    FW_REQUIRE(l && l->line_count == 2);
    FW_CHECK_NEAR(l->lines[0].baseline, -6, 1e-9);
    FW_CHECK_NEAR(l->lines[1].baseline, 44, 1e-9);
    FW_CHECK_NEAR(l->glyphs[1].y, 44, 1e-9);
    fw_text_layout_free(&l);
}

static void test_outlines_are_closed_cubic_contours_above_the_baseline(void)
{
    fw_text_request rq = point("H", 100);
    fw_text_layout *l = lay(&rq);
    FW_REQUIRE(l && l->contour_count == 1);
    const fw_text_contour *c = &l->contours[0];
    FW_CHECK(c->segment_count >= 12);
    FW_CHECK_NEAR(c->points[0].x, c->points[3 * c->segment_count].x, 1e-9);
    FW_CHECK_NEAR(c->points[0].y, c->points[3 * c->segment_count].y, 1e-9);
    /* DejaVu's capital height is 0.729 em: y points down, so the top is -72.9 */
    FW_CHECK_NEAR(l->min_y, -72.9, 0.2);
    FW_CHECK_NEAR(l->max_y, 0, 0.01);
    FW_CHECK(l->min_x > 0 && l->max_x < l->lines[0].width);
    fw_text_layout_free(&l);
}

static void test_all_caps_upper_cases_letters(void)
{
    fw_text_request rq = point("abc\xC3\xA9", 20);
    rq.caps = FW_TEXT_CAPS_ALL;
    fw_text_layout *l = lay(&rq);
    FW_REQUIRE(l && l->glyph_count == 4);
    FW_CHECK_INT(l->glyphs[0].codepoint, 'A');
    FW_CHECK_INT(l->glyphs[3].codepoint, 0xC9);
    FW_CHECK_INT(l->glyphs[3].byte_offset, 3);
    fw_text_layout_free(&l);
}

static void test_small_caps_are_capitals_at_seventy_percent(void)
{
    fw_text_request all = point("Hx", 50), small = point("Hx", 50);
    all.caps = FW_TEXT_CAPS_ALL;
    small.caps = FW_TEXT_CAPS_SMALL;
    fw_text_layout *a = lay(&all), *s = lay(&small);
    FW_REQUIRE(a && s && a->glyph_count == 2 && s->glyph_count == 2);
    /* The same capital glyphs; the one that was lower case is smaller. */
    FW_CHECK_INT(s->glyphs[1].glyph_id, a->glyphs[1].glyph_id);
    FW_CHECK_NEAR(s->glyphs[0].advance, a->glyphs[0].advance, 1e-9);
    FW_CHECK_NEAR(s->glyphs[1].advance, a->glyphs[1].advance * 0.7, 1e-9);
    FW_CHECK_NEAR(s->glyphs[1].scale, a->glyphs[1].scale * 0.7, 1e-12);
    /* Its ink is 70 % as tall: the X's top is lower than the H's. */
    double h_top = 0, x_top = 0;
    for (size_t g = 0; g < 2; g++)
        for (size_t c = s->glyphs[g].first_contour; c < s->glyphs[g].first_contour + s->glyphs[g].contour_count; c++)
            for (size_t p = 0; p < 1 + 3 * s->contours[c].segment_count; p++) {
                double *top = g ? &x_top : &h_top;
                *top = fmin(*top, s->contours[c].points[p].y);
            }
    FW_CHECK_NEAR(x_top, h_top * 0.7, 0.05 * -h_top);
    fw_text_layout_free(&a);
    fw_text_layout_free(&s);
}

static double half_em(void *ctx, uint32_t cp)
{
    return cp == ' ' ? 0.25 : 0.5;
}

static void test_metrics_fonts_lay_out_without_outlines(void)
{
    fw_text_metrics m = {.advance = half_em, .ascent = 0.7};
    fw_text_request rq = {.text = "ab cd", .metrics = &m, .size = 10, .tracking = 100,
                          .align = FW_TEXT_ALIGN_RIGHT};
    fw_text_layout *l = lay(&rq);
    FW_REQUIRE(l && l->glyph_count == 5);
    FW_CHECK_INT(l->contour_count, 0);
    /* 4 * 5 + 2.5 + 4 tracking gaps of 1 */
    FW_CHECK_NEAR(l->lines[0].width, 26.5, 1e-9);
    FW_CHECK_NEAR(l->glyphs[0].x, -26.5, 1e-9);
    fw_text_layout_free(&l);
}

static void test_bad_requests_name_the_field(void)
{
    fw_text_layout *l = NULL;
    fw_error err = {0};
    fw_text_request rq = point("x", 0);
    FW_CHECK_INT(fw_text_layout_new(&rq, &l, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "size");
    rq = point(NULL, 10);
    FW_CHECK_INT(fw_text_layout_new(&rq, &l, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "text");
    rq = point("x", 10);
    rq.font = NULL;
    FW_CHECK_INT(fw_text_layout_new(&rq, &l, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "font");
    FW_CHECK(l == NULL);
}

static void test_invalid_utf8_and_empty_text_do_not_break_layout(void)
{
    fw_text_request rq = point("a\xFF\xC3(b\xE2\x82", 20);
    fw_text_layout *l = lay(&rq);
    FW_REQUIRE(l);
    FW_CHECK(l->glyph_count >= 4);
    fw_text_layout_free(&l);
    rq = point("", 20);
    l = lay(&rq);
    FW_REQUIRE(l);
    FW_CHECK_INT(l->glyph_count, 0);
    FW_CHECK_INT(l->line_count, 1);
    FW_CHECK_INT(l->contour_count, 0);
    fw_text_layout_free(&l);
}

int main(void)
{
    fw_error err = {0};
    if (fw_fontset_new(&fonts, NULL, &err) != FW_OK) {
        fprintf(stderr, "the default font is missing: %s (install fonts-dejavu-core)\n", err.message);
        return 1;
    }
    FW_RUN(test_kerning_pulls_av_together);
    FW_RUN(test_fi_becomes_one_ligature_glyph);
    FW_RUN(test_hebrew_starts_on_the_right);
    FW_RUN(test_mixed_direction_keeps_latin_left_to_right);
    FW_RUN(test_arabic_letters_take_joining_forms);
    FW_RUN(test_devanagari_shaping_reorders_and_joins);
    FW_RUN(test_box_text_wraps_at_words_within_the_width);
    FW_RUN(test_box_text_breaks_a_word_wider_than_the_box);
    FW_RUN(test_explicit_breaks_and_box_ascent);
    FW_RUN(test_centre_justification_centres_on_the_anchor);
    FW_RUN(test_right_justification_ends_at_the_anchor);
    FW_RUN(test_justified_lines_fill_the_box_but_the_last);
    FW_RUN(test_tracking_adds_the_expected_space);
    FW_RUN(test_baseline_shift_raises_and_line_height_spaces_lines);
    FW_RUN(test_outlines_are_closed_cubic_contours_above_the_baseline);
    FW_RUN(test_all_caps_upper_cases_letters);
    FW_RUN(test_small_caps_are_capitals_at_seventy_percent);
    FW_RUN(test_metrics_fonts_lay_out_without_outlines);
    FW_RUN(test_bad_requests_name_the_field);
    FW_RUN(test_arabic_and_hindi_glyphs_are_harfbuzz_own);
    FW_RUN(test_invalid_utf8_and_empty_text_do_not_break_layout);
    fw_fontset_free(&fonts);
    return fw_test_end();
}
