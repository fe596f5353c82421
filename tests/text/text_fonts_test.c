/*
 * text_fonts_test.c - font files and the lookup of the fonts templates name,
 * with the DejaVu fonts Debian ships.
 */
#include "server/text/fonts.h"

#include <stdio.h>
#include <string.h>

#include "server/text/text_layout.h"

#include "tests/fw_test.h"

#define DEJAVU_DIR "/usr/share/fonts/truetype/dejavu"

static fw_fontset *dejavu_set(void)
{
    fw_fontset *set = NULL;
    fw_error err = {0};
    size_t added = 0;
    if (fw_fontset_new(&set, NULL, &err) != FW_OK)
        return NULL;
    if (fw_fontset_add_dir(set, DEJAVU_DIR, &added, &err) != FW_OK || added == 0)
        fw_fontset_free(&set);
    return set;
}

static void test_font_info_of_dejavu_sans_names_family_style_and_postscript(void)
{
    fw_font_info info;
    fw_error err = {0};
    FW_REQUIRE(fw_font_read_info(DEJAVU_DIR "/DejaVuSans-Bold.ttf", &info, &err) == FW_OK);
    FW_CHECK_STR(info.family, "DejaVu Sans");
    FW_CHECK_STR(info.style, "Bold");
    FW_CHECK_STR(info.postscript_name, "DejaVuSans-Bold");
    FW_CHECK_INT(info.face_count, 1);
}

static void test_font_info_of_missing_file_is_io_error(void)
{
    fw_font_info info;
    fw_error err = {0};
    FW_CHECK_INT(fw_font_read_info("/nonexistent/font.ttf", &info, &err), FW_ERR_IO);
    FW_CHECK_STR(err.field, "font");
    FW_CHECK_CONTAINS(err.message, "/nonexistent/font.ttf");
}

static void test_font_info_of_text_file_is_invalid(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/notafont.ttf", dir);
    FILE *f = fopen(path, "w");
    FW_REQUIRE(f);
    fputs("this is not a font\n", f);
    fclose(f);
    fw_font_info info;
    fw_error err = {0};
    FW_CHECK_INT(fw_font_read_info(path, &info, &err), FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "not a font file");
}

static void test_fontset_without_default_font_fails_clearly(void)
{
    fw_fontset *set = (fw_fontset *)1;
    fw_error err = {0};
    FW_CHECK_INT(fw_fontset_new(&set, "/nonexistent/default.ttf", &err), FW_ERR_IO);
    FW_CHECK(set == NULL);
    FW_CHECK_STR(err.field, "defaultFont");
}

static void test_fontset_default_is_dejavu_sans(void)
{
    fw_fontset *set = NULL;
    fw_error err = {0};
    FW_REQUIRE(fw_fontset_new(&set, NULL, &err) == FW_OK);
    FW_CHECK_STR(fw_font_family(fw_fontset_default(set)), "DejaVu Sans");
    FW_CHECK_INT(fw_fontset_count(set), 0);
    /* The default answers to its own name only. */
    FW_CHECK(fw_fontset_find(set, "DejaVuSans", NULL, NULL, NULL) == fw_fontset_default(set));
    FW_CHECK(fw_fontset_find(set, "Arial", NULL, NULL, NULL) == NULL);
    fw_fontset_free(&set);
    FW_CHECK(set == NULL);
    fw_fontset_free(&set); /* freeing NULL is harmless */
}

static void test_lookup_tolerates_case_spaces_and_hyphens(void)
{
    fw_fontset *set = dejavu_set();
    FW_REQUIRE(set);
    FW_CHECK(fw_fontset_count(set) >= 20);
    const char *bold_names[] = {"DejaVuSans-Bold", "dejavusans-bold", "DejaVu Sans Bold", "DejaVu_Sans-Bold",
                                "DEJAVU SANS BOLD"};
    for (size_t i = 0; i < sizeof(bold_names) / sizeof(bold_names[0]); i++) {
        const fw_font *f = fw_fontset_find(set, bold_names[i], NULL, NULL, NULL);
        FW_CHECK_MSG(f != NULL, "no font for %s", bold_names[i]);
        if (f) {
            FW_CHECK_STR(fw_font_postscript_name(f), "DejaVuSans-Bold");
            FW_CHECK_STR(fw_font_style(f), "Bold");
        }
    }
    fw_fontset_free(&set);
}

static void test_lookup_by_family_and_style_when_name_is_unknown(void)
{
    fw_fontset *set = dejavu_set();
    FW_REQUIRE(set);
    const fw_font *f = fw_fontset_find(set, "SomethingElse", "DejaVu Serif", "Bold Italic", NULL);
    FW_REQUIRE(f);
    FW_CHECK_STR(fw_font_postscript_name(f), "DejaVuSerif-BoldItalic");
    fw_fontset_free(&set);
}

static void test_regular_names_match_the_book_face(void)
{
    fw_fontset *set = dejavu_set();
    FW_REQUIRE(set);
    const char *names[] = {"DejaVuSans-Regular", "DejaVu Sans", "DejaVuSans"};
    for (size_t i = 0; i < 3; i++) {
        const fw_font *f = fw_fontset_find(set, names[i], NULL, NULL, NULL);
        FW_CHECK_MSG(f && !strcmp(fw_font_postscript_name(f), "DejaVuSans"), "%s", names[i]);
    }
    const fw_font *f = fw_fontset_find(set, NULL, "DejaVu Sans", "Regular", NULL);
    FW_CHECK(f && !strcmp(fw_font_style(f), "Book"));
    fw_fontset_free(&set);
}

static void test_lookup_by_file_name(void)
{
    fw_fontset *set = dejavu_set();
    FW_REQUIRE(set);
    const fw_font *f = fw_fontset_find(set, "Unknown", NULL, NULL, "fonts/DejaVuSansMono-Oblique.ttf");
    FW_REQUIRE(f);
    FW_CHECK_STR(fw_font_postscript_name(f), "DejaVuSansMono-Oblique");
    FW_CHECK_CONTAINS(fw_font_path(f), "DejaVuSansMono-Oblique.ttf");
    fw_fontset_free(&set);
}

static void test_unknown_font_is_not_found(void)
{
    fw_fontset *set = dejavu_set();
    FW_REQUIRE(set);
    FW_CHECK(fw_fontset_find(set, "Helvetica-Bold", "Helvetica", "Bold", "font/Helvetica.ttf") == NULL);
    FW_CHECK(fw_fontset_find(set, NULL, NULL, NULL, NULL) == NULL);
    FW_CHECK(fw_fontset_find(set, "", "", "", "") == NULL);
    fw_fontset_free(&set);
}

static void test_add_file_and_missing_folder_errors(void)
{
    fw_fontset *set = NULL;
    fw_error err = {0};
    FW_REQUIRE(fw_fontset_new(&set, NULL, &err) == FW_OK);
    FW_CHECK_INT(fw_fontset_add_file(set, DEJAVU_DIR "/DejaVuSerif.ttf", &err), FW_OK);
    FW_CHECK_INT(fw_fontset_count(set), 1);
    FW_CHECK_INT(fw_fontset_add_file(set, "/nonexistent.ttf", &err), FW_ERR_IO);
    FW_CHECK_INT(fw_fontset_add_dir(set, "/nonexistent-folder", NULL, &err), FW_ERR_IO);
    FW_CHECK_STR(err.field, "fonts");
    FW_CHECK_INT(fw_fontset_count(set), 1);
    fw_fontset_free(&set);
}


/* ---- the machine's fonts (fontconfig, with the fonts setup installs) ---- */

static void test_machine_font_found_by_family_and_style(void)
{
    fw_system_font f;
    FW_REQUIRE(fw_font_system_lookup("DejaVuSerif-Bold", "DejaVu Serif", "Bold", &f));
    FW_CHECK_STR(f.family, "DejaVu Serif");
    FW_CHECK_STR(f.style, "Bold");
    FW_CHECK(f.exact);
    FW_CHECK(!f.synthetic_bold && !f.synthetic_italic);
    /* From a PostScript name alone: family before the hyphen, style after. */
    FW_REQUIRE(fw_font_system_lookup("DejaVuSans-BoldOblique", NULL, NULL, &f));
    FW_CHECK_STR(f.asked_family, "DejaVuSans");
    FW_CHECK_STR(f.family, "DejaVu Sans");
    FW_CHECK_STR(f.style, "Bold Oblique");
    FW_CHECK(f.exact);
}

static void test_machine_substitutes_keep_the_metrics_of_common_fonts(void)
{
    fw_system_font f;
    FW_REQUIRE(fw_font_system_lookup("ArialMT", "Arial", "Regular", &f));
    FW_CHECK_STR(f.family, "Liberation Sans");
    FW_CHECK(!f.exact);
    FW_REQUIRE(fw_font_system_lookup(NULL, "Times New Roman", "Italic", &f));
    FW_CHECK_STR(f.family, "Liberation Serif");
    FW_CHECK_STR(f.style, "Italic");
    FW_REQUIRE(fw_font_system_lookup(NULL, "Courier New", "Bold", &f));
    FW_CHECK_STR(f.family, "Liberation Mono");
    FW_CHECK_STR(f.style, "Bold");
}

static void test_machine_substitute_follows_the_generic_family(void)
{
    fw_system_font f;
    FW_REQUIRE(fw_font_system_lookup("Montserrat-SemiBold", "Montserrat", "SemiBold", &f));
    FW_CHECK(!f.exact);
    FW_CHECK_MSG(strstr(f.family, "Sans") && !strstr(f.family, "Mono"), "sans for Montserrat, got %s", f.family);
    FW_CHECK_MSG(strstr(f.style, "Bold") != NULL, "a bold face for SemiBold, got %s", f.style);
    FW_REQUIRE(fw_font_system_lookup(NULL, "Playfair Display", "Regular", &f));
    FW_CHECK_MSG(strstr(f.family, "Serif") && !strstr(f.family, "Sans"), "serif for Playfair, got %s", f.family);
    FW_REQUIRE(fw_font_system_lookup(NULL, "Fira Code", "Regular", &f));
    FW_CHECK_MSG(strstr(f.family, "Mono") != NULL, "monospace for Fira Code, got %s", f.family);
}

static double ink_width(const fw_font *font, double *min_x)
{
    fw_text_request rq = {.text = "IIII", .font = font, .size = 100};
    fw_text_layout *l = NULL;
    fw_error err = {0};
    double w = -1;
    if (fw_text_layout_new(&rq, &l, &err) == FW_OK) {
        w = l->max_x - l->min_x;
        *min_x = l->min_x;
    }
    fw_text_layout_free(&l);
    return w;
}

static void test_bold_and_italic_a_family_lacks_are_made_synthetically(void)
{
    fw_fontset *set = NULL;
    fw_error err = {0};
    fw_system_font plain, bold, italic;
    double plain_min, bold_min, italic_min;

    FW_REQUIRE(fw_fontset_new(&set, NULL, &err) == FW_OK);
    /* Lohit Devanagari has one upright regular face. */
    const fw_font *p = fw_fontset_match_system(set, NULL, "Lohit Devanagari", "Regular", &plain);
    const fw_font *b = fw_fontset_match_system(set, NULL, "Lohit Devanagari", "Bold", &bold);
    const fw_font *i = fw_fontset_match_system(set, NULL, "Lohit Devanagari", "Italic", &italic);
    FW_REQUIRE(p && b && i);
    FW_CHECK(plain.exact && !plain.synthetic_bold && !plain.synthetic_italic);
    FW_CHECK(bold.exact && bold.synthetic_bold && !bold.synthetic_italic);
    FW_CHECK(italic.exact && !italic.synthetic_bold && italic.synthetic_italic);
    FW_CHECK(p != b && p != i && b != i);
    /* Asked again: the same faces, not new copies. */
    FW_CHECK(fw_fontset_match_system(set, NULL, "Lohit Devanagari", "Bold", &bold) == b);
    /* The thickened Is are wider by about em/32 each side; the slanted lean right. */
    double wp = ink_width(p, &plain_min), wb = ink_width(b, &bold_min), wi = ink_width(i, &italic_min);
    FW_CHECK_MSG(wb > wp + 2.0 && wb < wp + 8.0, "bold ink %.2f px against %.2f", wb, wp);
    FW_CHECK_MSG(wi > wp + 10.0, "italic ink %.2f px against %.2f", wi, wp);
    /* A name that finds the plain face is not given the synthetic copies. */
    FW_CHECK(fw_fontset_find(set, "LohitDevanagari", NULL, NULL, NULL) == p);
    fw_fontset_free(&set);
}

int main(void)
{
    FW_RUN(test_font_info_of_dejavu_sans_names_family_style_and_postscript);
    FW_RUN(test_font_info_of_missing_file_is_io_error);
    FW_RUN(test_font_info_of_text_file_is_invalid);
    FW_RUN(test_fontset_without_default_font_fails_clearly);
    FW_RUN(test_fontset_default_is_dejavu_sans);
    FW_RUN(test_lookup_tolerates_case_spaces_and_hyphens);
    FW_RUN(test_lookup_by_family_and_style_when_name_is_unknown);
    FW_RUN(test_regular_names_match_the_book_face);
    FW_RUN(test_lookup_by_file_name);
    FW_RUN(test_unknown_font_is_not_found);
    FW_RUN(test_add_file_and_missing_folder_errors);
    FW_RUN(test_machine_font_found_by_family_and_style);
    FW_RUN(test_machine_substitutes_keep_the_metrics_of_common_fonts);
    FW_RUN(test_machine_substitute_follows_the_generic_family);
    FW_RUN(test_bold_and_italic_a_family_lacks_are_made_synthetically);
    return fw_test_end();
}
