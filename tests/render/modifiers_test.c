/*
 * modifiers_test.c - trim paths, round corners, offset paths, pucker & bloat
 * and zig-zag, by numbers worked out from lottie-web's modifier code.
 *
 * The shapes are lottie-web's own (lt_path_rect and friends), so start
 * points and directions are the reference renderer's: a 100 x 100 square at
 * the origin starts at its top-right corner and runs down the right side.
 */
#include "server/render/cairo/modifiers.h"

#include "tests/fw_test.h"

static lt_pt at(const lt_path *p, size_t c, size_t k)
{
    return p->pts[p->contours[c].first + k];
}

static lt_pt last_pt(const lt_path *p, size_t c)
{
    return at(p, c, 3 * p->contours[c].segments);
}

#define CHECK_PT(p, ex, ey, tol)                                                                         \
    do {                                                                                                 \
        lt_pt q_ = (p);                                                                                  \
        FW_CHECK_NEAR(q_.x, (ex), tol);                                                                  \
        FW_CHECK_NEAR(q_.y, (ey), tol);                                                                  \
    } while (0)

static void square(lt_path *p)
{
    lt_path_init(p);
    lt_path_rect(p, 0, 0, 100, 100, 0, 1);
}

/* Area of the vertex polygon of all contours (straight-edged results). */
static double polygon_area(const lt_path *p)
{
    double a = 0;
    size_t c, k;
    for (c = 0; c < p->ncontours; c++) {
        for (k = 0; k < p->contours[c].segments; k++) {
            lt_pt u = at(p, c, 3 * k), v = at(p, c, 3 * k + 3);
            a += u.x * v.y - v.x * u.y;
        }
    }
    return a / 2;
}

/* ---- Trim paths ---- */

static void test_trim_first_half_of_square_starts_at_top_right(void)
{
    lt_path in, out;
    square(&in);
    lt_path_init(&out);
    lt_trim(&out, &in, 0, 50, 0, 0);
    FW_REQUIRE(out.ncontours == 1);
    FW_CHECK(!out.contours[0].closed);
    FW_CHECK_NEAR(lt_path_length(&out), 200, 1e-6);
    CHECK_PT(at(&out, 0, 0), 50, -50, 1e-9);
    CHECK_PT(at(&out, 0, 3), 50, 50, 1e-9);
    CHECK_PT(last_pt(&out, 0), -50, 50, 1e-6);
    lt_path_release(&in);
    lt_path_release(&out);
}

static void test_trim_offset_of_90_degrees_shifts_by_a_quarter(void)
{
    lt_path in, out, same;
    square(&in);
    lt_path_init(&out);
    lt_path_init(&same);
    lt_trim(&out, &in, 0, 50, 90, 0);
    FW_REQUIRE(out.ncontours == 1);
    FW_CHECK_NEAR(lt_path_length(&out), 200, 1e-6);
    CHECK_PT(at(&out, 0, 0), 50, 50, 1e-6);
    CHECK_PT(last_pt(&out, 0), -50, -50, 1e-6);
    /* Offsets wrap over whole turns, both ways; start > end is swapped. */
    lt_trim(&same, &in, 50, 0, 450, 0);
    FW_REQUIRE(same.ncontours == 1);
    FW_CHECK_INT(same.npts, out.npts);
    CHECK_PT(at(&same, 0, 0), 50, 50, 1e-6);
    lt_trim(&same, &in, 0, 50, -270, 0);
    FW_REQUIRE(same.ncontours == 1);
    CHECK_PT(last_pt(&same, 0), -50, -50, 1e-6);
    lt_path_release(&in);
    lt_path_release(&out);
    lt_path_release(&same);
}

static void test_trim_past_the_end_wraps_into_one_piece(void)
{
    lt_path in, out;
    square(&in);
    lt_path_init(&out);
    /* 50..100 % turned by a quarter: 75 % .. 125 %, across the start. */
    lt_trim(&out, &in, 50, 100, 90, 0);
    FW_REQUIRE(out.ncontours == 1);
    FW_CHECK(!out.contours[0].closed);
    FW_CHECK_NEAR(lt_path_length(&out), 200, 1e-6);
    CHECK_PT(at(&out, 0, 0), -50, -50, 1e-6);
    CHECK_PT(last_pt(&out, 0), 50, 50, 1e-6);
    lt_path_release(&in);
    lt_path_release(&out);
}

static void test_trim_edge_values(void)
{
    lt_path in, out;
    square(&in);
    lt_path_init(&out);
    /* Outside 0..100 is clamped: everything, untouched and closed. */
    lt_trim(&out, &in, -20, 150, 0, 0);
    FW_REQUIRE(out.ncontours == 1);
    FW_CHECK(out.contours[0].closed);
    FW_CHECK_INT(out.contours[0].segments, 4);
    /* Equal ends: nothing. */
    lt_trim(&out, &in, 30, 30, 45, 0);
    FW_CHECK_INT(out.ncontours, 0);
    lt_trim(&out, &in, NAN, NAN, NAN, 1);
    FW_CHECK_INT(out.ncontours, 0);
    /* A quarter of a circle ends on its right-hand vertex. */
    lt_path_clear(&in);
    lt_path_ellipse(&in, 0, 0, 200, 200, 1);
    lt_trim(&out, &in, 0, 25, 0, 0);
    FW_REQUIRE(out.ncontours == 1);
    CHECK_PT(at(&out, 0, 0), 0, -100, 1e-9);
    CHECK_PT(last_pt(&out, 0), 100, 0, 1e-6);
    /* A cut inside a curve lands at the right distance. */
    lt_trim(&out, &in, 0, 10, 0, 0);
    FW_CHECK_NEAR(lt_path_length(&out) / lt_path_length(&in), 0.1, 0.0005);
    /* Zero-length contours and lone points: no crash, nothing drawn. */
    lt_path_clear(&in);
    lt_path_move_to(&in, (lt_pt){5, 5});
    lt_path_rect(&in, 0, 0, 0, 0, 0, 1);
    lt_trim(&out, &in, 10, 60, 0, 1);
    FW_CHECK_NEAR(lt_path_length(&out), 0, 0);
    lt_trim(&out, &in, 10, 60, 0, 0);
    FW_CHECK_NEAR(lt_path_length(&out), 0, 0);
    lt_path_release(&in);
    lt_path_release(&out);
}

static void test_trim_simultaneously_cuts_each_shape_individually_cuts_the_sum(void)
{
    lt_path two, out, a, b, oa, ob;
    lt_path *outs[2] = {&oa, &ob};
    const lt_path *ins[2] = {&a, &b};
    lt_path_init(&two);
    lt_path_init(&out);
    lt_path_rect(&two, 0, 0, 100, 100, 0, 1);
    lt_path_rect(&two, 300, 0, 100, 100, 0, 1);

    /* Simultaneously: half of each square. */
    lt_trim(&out, &two, 0, 50, 0, 0);
    FW_REQUIRE(out.ncontours == 2);
    FW_CHECK_NEAR(lt_contour_length(&out, 0), 200, 1e-6);
    FW_CHECK_NEAR(lt_contour_length(&out, 1), 200, 1e-6);
    CHECK_PT(at(&out, 1, 0), 350, -50, 1e-9);

    /* Individually: half of the total is all of the first square. */
    lt_trim(&out, &two, 0, 50, 0, 1);
    FW_CHECK_NEAR(lt_path_length(&out), 400, 1e-6);
    FW_REQUIRE(out.ncontours >= 1);
    FW_CHECK(out.contours[0].closed);
    CHECK_PT(at(&out, 0, 0), 50, -50, 1e-9);
    /* ... and 25..75 % is the second half of one and the first of the other. */
    lt_trim(&out, &two, 25, 75, 0, 1);
    FW_REQUIRE(out.ncontours == 2);
    FW_CHECK_NEAR(lt_contour_length(&out, 0), 200, 1e-6);
    FW_CHECK_NEAR(lt_contour_length(&out, 1), 200, 1e-6);
    CHECK_PT(at(&out, 0, 0), -50, 50, 1e-6);
    CHECK_PT(at(&out, 1, 0), 350, -50, 1e-6);

    /* The same with one path per shape, as a group holds them. */
    lt_path_init(&a);
    lt_path_init(&b);
    lt_path_init(&oa);
    lt_path_init(&ob);
    lt_path_rect(&a, 0, 0, 100, 100, 0, 1);
    lt_path_rect(&b, 300, 0, 300, 100, 0, 1); /* 800 long: the sum is 1200 */
    lt_trim_paths(outs, ins, 2, 0, 50, 0, 0);
    FW_CHECK_NEAR(lt_path_length(&oa), 200, 1e-6);
    FW_CHECK_NEAR(lt_path_length(&ob), 400, 1e-6);
    lt_trim_paths(outs, ins, 2, 0, 50, 0, 1);
    FW_CHECK_NEAR(lt_path_length(&oa), 400, 1e-6);
    FW_CHECK_NEAR(lt_path_length(&ob), 200, 0.01); /* cut inside a side: sampled */
    FW_REQUIRE(ob.ncontours >= 1);
    CHECK_PT(at(&ob, 0, 0), 450, -50, 1e-9);
    /* Wrapping over the total: the end of b and the start of a. */
    lt_trim_paths(outs, ins, 2, 0, 25, 315, 1); /* 87.5 % .. 112.5 % of 1200 */
    FW_CHECK_NEAR(lt_path_length(&oa), 150, 1e-6);
    FW_CHECK_NEAR(lt_path_length(&ob), 150, 1e-6);
    FW_REQUIRE(ob.ncontours == 1);
    CHECK_PT(last_pt(&ob, 0), 450, -50, 1e-6);

    lt_path_release(&two);
    lt_path_release(&out);
    lt_path_release(&a);
    lt_path_release(&b);
    lt_path_release(&oa);
    lt_path_release(&ob);
}

/* ---- Round corners ---- */

static void test_round_corners_on_square_gives_eight_segments_ten_px_in(void)
{
    lt_path in, out;
    size_t k;
    square(&in);
    lt_path_init(&out);
    lt_round_corners(&out, &in, 10);
    FW_REQUIRE(out.ncontours == 1);
    FW_CHECK(out.contours[0].closed);
    FW_CHECK_INT(out.contours[0].segments, 8);
    /* The first corner becomes (40, -50) .. (50, -40) with 0.5519 handles. */
    CHECK_PT(at(&out, 0, 0), 40, -50, 1e-9);
    CHECK_PT(at(&out, 0, 1), 40 + 10 * 0.5519, -50, 1e-9);
    CHECK_PT(at(&out, 0, 2), 50, -40 - 10 * 0.5519, 1e-9);
    CHECK_PT(at(&out, 0, 3), 50, -40, 1e-9);
    CHECK_PT(at(&out, 0, 6), 50, 40, 1e-9);
    /* Every vertex is 10 px from a corner, along a side. */
    for (k = 0; k <= 8; k++) {
        lt_pt v = at(&out, 0, 3 * k);
        double dx = 50 - fabs(v.x), dy = 50 - fabs(v.y);
        FW_CHECK_NEAR(dx + dy, 10, 1e-9);
        FW_CHECK(dx == 0 || dy == 0);
    }
    /* Four sides of 80 and four quarter circles of radius 10. */
    FW_CHECK_NEAR(lt_path_length(&out), 320 + 2 * M_PI * 10, 0.1);
    lt_path_release(&in);
    lt_path_release(&out);
}

static void test_round_corners_leaves_curves_and_limits_the_radius(void)
{
    lt_path in, out;
    lt_path_init(&in);
    lt_path_init(&out);
    lt_path_ellipse(&in, 0, 0, 100, 50, 1);
    lt_round_corners(&out, &in, 10);
    FW_REQUIRE(out.ncontours == 1);
    FW_CHECK_INT(out.npts, in.npts);
    FW_CHECK(memcmp(out.pts, in.pts, in.npts * sizeof(lt_pt)) == 0);
    /* A radius beyond half a side stops at the side's middle. */
    lt_path_clear(&in);
    lt_path_rect(&in, 0, 0, 100, 100, 0, 1);
    lt_round_corners(&out, &in, 500);
    CHECK_PT(at(&out, 0, 0), 0, -50, 1e-9);
    CHECK_PT(at(&out, 0, 3), 50, 0, 1e-9);
    /* Open ends stay sharp. */
    lt_path_clear(&in);
    lt_path_move_to(&in, (lt_pt){0, 0});
    lt_path_line_to(&in, (lt_pt){100, 0});
    lt_path_line_to(&in, (lt_pt){100, 100});
    lt_round_corners(&out, &in, 10);
    FW_REQUIRE(out.ncontours == 1);
    FW_CHECK(!out.contours[0].closed);
    FW_CHECK_INT(out.contours[0].segments, 3);
    CHECK_PT(at(&out, 0, 0), 0, 0, 0);
    CHECK_PT(at(&out, 0, 3), 90, 0, 1e-9);
    CHECK_PT(at(&out, 0, 6), 100, 10, 1e-9);
    CHECK_PT(last_pt(&out, 0), 100, 100, 0);
    lt_path_release(&in);
    lt_path_release(&out);
}

/* ---- Pucker & bloat ---- */

static void test_pucker_bloat_plus_and_minus_100_on_square(void)
{
    lt_path in, out;
    square(&in);
    lt_path_init(&out);
    /* +100: vertices into the centre, handles out to twice the distance. */
    lt_pucker_bloat(&out, &in, 100);
    FW_REQUIRE(out.ncontours == 1);
    FW_CHECK_INT(out.contours[0].segments, 4);
    CHECK_PT(at(&out, 0, 0), 0, 0, 1e-9);
    CHECK_PT(at(&out, 0, 1), 100, -100, 1e-9);
    CHECK_PT(at(&out, 0, 2), 100, 100, 1e-9);
    CHECK_PT(at(&out, 0, 3), 0, 0, 1e-9);
    /* -100: vertices out to twice the distance, handles at the centre. */
    lt_pucker_bloat(&out, &in, -100);
    CHECK_PT(at(&out, 0, 0), 100, -100, 1e-9);
    CHECK_PT(at(&out, 0, 1), 0, 0, 1e-9);
    CHECK_PT(at(&out, 0, 2), 0, 0, 1e-9);
    CHECK_PT(at(&out, 0, 3), 100, 100, 1e-9);
    /* 0: unchanged. */
    lt_pucker_bloat(&out, &in, 0);
    FW_CHECK(out.npts == in.npts && memcmp(out.pts, in.pts, in.npts * sizeof(lt_pt)) == 0);
    lt_path_release(&in);
    lt_path_release(&out);
}

/* ---- Zig-zag ---- */

static void test_zig_zag_on_square_alternates_sides(void)
{
    lt_path in, out;
    double d = 10 / sqrt(2);
    square(&in);
    lt_path_init(&out);
    lt_zig_zag(&out, &in, 10, 3, LT_ZIGZAG_CORNER);
    FW_REQUIRE(out.ncontours == 1);
    FW_CHECK(out.contours[0].closed);
    /* 1 + 4 sides x (3 ridges + 1 corner) vertices, then the closing one. */
    FW_CHECK_INT(out.contours[0].segments, 17);
    CHECK_PT(at(&out, 0, 0), 50 - d, -50 + d, 1e-9); /* first corner pulled in */
    CHECK_PT(at(&out, 0, 3), 60, -25, 1e-9);          /* then out, in, out */
    CHECK_PT(at(&out, 0, 6), 40, 0, 1e-9);
    CHECK_PT(at(&out, 0, 9), 60, 25, 1e-9);
    CHECK_PT(at(&out, 0, 12), 50 - d, 50 - d, 1e-9);
    CHECK_PT(at(&out, 0, 48), 50 - d, -50 + d, 1e-9); /* back at the start */
    /* Corner points: straight segments. */
    CHECK_PT(at(&out, 0, 4), 60, -25, 1e-9);
    /* Smooth: handles along the path, an eighth of the side long. */
    lt_zig_zag(&out, &in, 10, 3, LT_ZIGZAG_SMOOTH);
    CHECK_PT(at(&out, 0, 2), 60, -25 - 12.5, 1e-9);
    CHECK_PT(at(&out, 0, 4), 60, -25 + 12.5, 1e-9);
    /* Size 0: unchanged; ridges round and stay >= 0. */
    lt_zig_zag(&out, &in, 0, 3, LT_ZIGZAG_CORNER);
    FW_CHECK_INT(out.contours[0].segments, 4);
    lt_zig_zag(&out, &in, 5, 1.6, LT_ZIGZAG_CORNER);
    FW_CHECK_INT(out.contours[0].segments, 1 + 4 * 3);
    lt_zig_zag(&out, &in, 5, -3, LT_ZIGZAG_CORNER);
    FW_CHECK_INT(out.contours[0].segments, 1 + 4 * 1);
    lt_path_release(&in);
    lt_path_release(&out);
}

static void test_zig_zag_on_open_line_counts_vertices(void)
{
    lt_path in, out;
    lt_path_init(&in);
    lt_path_init(&out);
    lt_path_move_to(&in, (lt_pt){0, 0});
    lt_path_line_to(&in, (lt_pt){100, 0});
    lt_zig_zag(&out, &in, 5, 2, LT_ZIGZAG_CORNER);
    FW_REQUIRE(out.ncontours == 1);
    FW_CHECK(!out.contours[0].closed);
    FW_CHECK_INT(out.contours[0].segments, 3); /* 4 vertices */
    CHECK_PT(at(&out, 0, 3), 100.0 / 3, -5, 1e-9);
    CHECK_PT(at(&out, 0, 6), 200.0 / 3, 5, 1e-9);
    lt_path_release(&in);
    lt_path_release(&out);
}

/* ---- Offset paths ---- */

static void bounds(const lt_path *p, double *x0, double *y0, double *x1, double *y1)
{
    size_t c, k;
    int i;
    *x0 = *y0 = INFINITY;
    *x1 = *y1 = -INFINITY;
    for (c = 0; c < p->ncontours; c++) {
        for (k = 0; k < p->contours[c].segments; k++) {
            for (i = 0; i <= 20; i++) {
                lt_pt q = lt_cubic_point(p->pts + p->contours[c].first + 3 * k, i / 20.0);
                *x0 = fmin(*x0, q.x);
                *y0 = fmin(*y0, q.y);
                *x1 = fmax(*x1, q.x);
                *y1 = fmax(*y1, q.y);
            }
        }
    }
}

static void test_offset_square_out_and_in(void)
{
    lt_path in, out, scratch;
    double x0, y0, x1, y1;
    square(&in);
    lt_path_init(&out);
    lt_path_init(&scratch);

    /* Out by 10 with mitred corners: a 120 x 120 square. */
    lt_offset_path(&out, &in, 10, LT_JOIN_MITER, 100, &scratch);
    FW_REQUIRE(out.ncontours == 1);
    FW_CHECK(out.contours[0].closed);
    FW_CHECK_NEAR(polygon_area(&out), 120 * 120, 1e-6);
    CHECK_PT(at(&out, 0, 0), 60, -50, 1e-9);
    bounds(&out, &x0, &y0, &x1, &y1);
    FW_CHECK_NEAR(x0, -60, 1e-9);
    FW_CHECK_NEAR(y1, 60, 1e-9);

    /* lottie-web's miter limit is a distance: 4 px is too short for the
     * 10 px corner, so the corners are bevelled. */
    lt_offset_path(&out, &in, 10, LT_JOIN_MITER, 4, &scratch);
    FW_CHECK_NEAR(polygon_area(&out), 120 * 120 - 4 * 50, 1e-6);
    lt_offset_path(&out, &in, 10, LT_JOIN_BEVEL, 100, &scratch);
    FW_CHECK_NEAR(polygon_area(&out), 120 * 120 - 4 * 50, 1e-6);

    /* Round joins stay between the bevel and the miter. */
    lt_offset_path(&out, &in, 10, LT_JOIN_ROUND, 100, &scratch);
    FW_REQUIRE(out.ncontours == 1);
    bounds(&out, &x0, &y0, &x1, &y1);
    FW_CHECK(x1 > 59.9 && x1 < 62);
    FW_CHECK(y0 < -59.9 && y0 > -62);

    /* In by 10: the sides cross and are cut, an 80 x 80 square. */
    lt_offset_path(&out, &in, -10, LT_JOIN_MITER, 100, &scratch);
    FW_REQUIRE(out.ncontours == 1);
    FW_CHECK_NEAR(polygon_area(&out), 80 * 80, 80 * 80 * 0.01);
    bounds(&out, &x0, &y0, &x1, &y1);
    FW_CHECK_NEAR(x1, 40, 0.5);
    FW_CHECK_NEAR(y0, -40, 0.5);

    /* Amount 0: unchanged. */
    lt_offset_path(&out, &in, 0, LT_JOIN_MITER, 100, &scratch);
    FW_CHECK(out.npts == in.npts && memcmp(out.pts, in.pts, in.npts * sizeof(lt_pt)) == 0);
    lt_path_release(&in);
    lt_path_release(&out);
    lt_path_release(&scratch);
}

static void test_offset_circle_grows_its_radius(void)
{
    lt_path in, out, scratch;
    double x0, y0, x1, y1;
    lt_path_init(&in);
    lt_path_init(&out);
    lt_path_init(&scratch);
    lt_path_ellipse(&in, 0, 0, 200, 200, 1);
    lt_offset_path(&out, &in, 20, LT_JOIN_ROUND, 4, &scratch);
    FW_REQUIRE(out.ncontours == 1);
    FW_CHECK_NEAR(lt_path_length(&out) / (2 * M_PI * 120), 1, 0.01);
    bounds(&out, &x0, &y0, &x1, &y1);
    FW_CHECK_NEAR(x1, 120, 0.5);
    FW_CHECK_NEAR(y0, -120, 0.5);
    lt_path_release(&in);
    lt_path_release(&out);
    lt_path_release(&scratch);
}

static void test_offset_open_line_outlines_both_sides(void)
{
    lt_path in, out, scratch;
    lt_path_init(&in);
    lt_path_init(&out);
    lt_path_init(&scratch);
    lt_path_move_to(&in, (lt_pt){0, 0});
    lt_path_line_to(&in, (lt_pt){100, 0});
    lt_offset_path(&out, &in, 10, LT_JOIN_MITER, 100, &scratch);
    FW_REQUIRE(out.ncontours == 1);
    FW_CHECK(!out.contours[0].closed);
    FW_CHECK_INT(out.contours[0].segments, 3);
    CHECK_PT(at(&out, 0, 0), 0, -10, 1e-9);
    CHECK_PT(at(&out, 0, 3), 100, -10, 1e-9);
    CHECK_PT(at(&out, 0, 6), 100, 10, 1e-9);
    CHECK_PT(at(&out, 0, 9), 0, 10, 1e-9);
    lt_path_release(&in);
    lt_path_release(&out);
    lt_path_release(&scratch);
}

/* ---- Failure ---- */

/* Odd shapes (repeated points, cusps, S-curves, loops) through every
 * modifier: nothing crashes and finite input gives finite output. */
static unsigned rng_state = 12345;

static double rnd(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (double)((rng_state >> 8) % 2001) / 10.0 - 100.0;
}

static int all_finite(const lt_path *p)
{
    size_t i;
    for (i = 0; i < p->npts; i++)
        if (!isfinite(p->pts[i].x) || !isfinite(p->pts[i].y))
            return 0;
    return 1;
}

static void test_every_modifier_survives_odd_shapes(void)
{
    lt_path in, out, scratch;
    int round, bad = 0;
    lt_path_init(&in);
    lt_path_init(&out);
    lt_path_init(&scratch);
    for (round = 0; round < 300; round++) {
        int k, n = 1 + round % 5;
        lt_pt first = {rnd(), rnd()};
        lt_path_clear(&in);
        lt_path_move_to(&in, first);
        for (k = 0; k < n; k++) {
            lt_pt c1 = {rnd(), rnd()}, c2 = {rnd(), rnd()}, e = {rnd(), rnd()};
            if (round % 7 == 0)
                c1 = in.pts[in.npts - 1]; /* handle on its vertex */
            if (round % 11 == 0)
                e = c2;
            if (round % 13 == 0)
                c1 = c2 = e = first; /* all one point */
            lt_path_cubic_to(&in, c1, c2, e);
        }
        if (round % 2)
            lt_path_close(&in);
        lt_trim(&out, &in, rnd(), rnd(), rnd() * 7, round % 3 == 0);
        bad += !all_finite(&out);
        lt_round_corners(&out, &in, fabs(rnd()));
        bad += !all_finite(&out);
        lt_offset_path(&out, &in, rnd() / 5, 1 + round % 3, fabs(rnd()), &scratch);
        bad += !all_finite(&out) || out.oom;
        lt_pucker_bloat(&out, &in, rnd() * 2);
        bad += !all_finite(&out);
        lt_zig_zag(&out, &in, rnd() / 10, fabs(rnd()) / 10, 1 + round % 2);
        bad += !all_finite(&out);
    }
    FW_CHECK_INT(bad, 0);
    lt_path_release(&in);
    lt_path_release(&out);
    lt_path_release(&scratch);
}

static void test_out_of_memory_input_never_crashes_a_modifier(void)
{
    lt_path in, out, scratch, other, oo;
    lt_path *outs[2] = {&out, &oo};
    const lt_path *ins[2] = {&in, &other};
    square(&in);
    square(&other);
    lt_path_init(&out);
    lt_path_init(&oo);
    lt_path_init(&scratch);
    FW_CHECK_INT(lt_path_reserve(&in, (size_t)-1, 0), -1);
    FW_REQUIRE(in.oom);

    lt_trim(&out, &in, 10, 60, 0, 0);
    FW_CHECK(out.oom);
    lt_trim_paths(outs, ins, 2, 10, 60, 0, 1);
    FW_CHECK(out.oom);
    FW_CHECK(!oo.oom);
    FW_CHECK(oo.ncontours == 1);
    lt_round_corners(&out, &in, 5);
    FW_CHECK(out.oom);
    lt_offset_path(&out, &in, 5, LT_JOIN_ROUND, 4, &scratch);
    FW_CHECK(out.oom);
    lt_pucker_bloat(&out, &in, 50);
    FW_CHECK(out.oom);
    lt_zig_zag(&out, &in, 5, 3, LT_ZIGZAG_SMOOTH);
    FW_CHECK(out.oom);
    /* A healthy input after that works in the same out. */
    lt_zig_zag(&out, &other, 5, 3, LT_ZIGZAG_SMOOTH);
    FW_CHECK(!out.oom);
    FW_CHECK_INT(out.contours[0].segments, 17);

    /* Empty paths and lone points pass through everything. */
    lt_path_clear(&in);
    lt_path_move_to(&in, (lt_pt){1, 1});
    lt_path_close(&in);
    lt_round_corners(&out, &in, 5);
    lt_offset_path(&out, &in, 5, LT_JOIN_MITER, 4, &scratch);
    lt_pucker_bloat(&out, &in, 50);
    lt_zig_zag(&out, &in, 5, 3, LT_ZIGZAG_CORNER);
    lt_trim(&out, &in, 0, 50, 0, 0);
    FW_CHECK(!out.oom);
    lt_path_clear(&in);
    lt_offset_path(&out, &in, 5, LT_JOIN_MITER, 4, &scratch);
    FW_CHECK_INT(out.ncontours, 0);

    lt_path_release(&in);
    lt_path_release(&other);
    lt_path_release(&out);
    lt_path_release(&oo);
    lt_path_release(&scratch);
}

int main(void)
{
    FW_RUN(test_trim_first_half_of_square_starts_at_top_right);
    FW_RUN(test_trim_offset_of_90_degrees_shifts_by_a_quarter);
    FW_RUN(test_trim_past_the_end_wraps_into_one_piece);
    FW_RUN(test_trim_edge_values);
    FW_RUN(test_trim_simultaneously_cuts_each_shape_individually_cuts_the_sum);
    FW_RUN(test_round_corners_on_square_gives_eight_segments_ten_px_in);
    FW_RUN(test_round_corners_leaves_curves_and_limits_the_radius);
    FW_RUN(test_pucker_bloat_plus_and_minus_100_on_square);
    FW_RUN(test_zig_zag_on_square_alternates_sides);
    FW_RUN(test_zig_zag_on_open_line_counts_vertices);
    FW_RUN(test_offset_square_out_and_in);
    FW_RUN(test_offset_circle_grows_its_radius);
    FW_RUN(test_offset_open_line_outlines_both_sides);
    FW_RUN(test_every_modifier_survives_odd_shapes);
    FW_RUN(test_out_of_memory_input_never_crashes_a_modifier);
    return fw_test_end();
}
