/*
 * path_test.c - the Cairo engine's paths: building, growing, measuring, and
 * the rectangle, ellipse and polystar of lottie-web, point for point.
 *
 * Expected coordinates come from lottie-web's shape code worked by hand
 * (ShapeProperty.js: convertRectToPath, convertEllToPath, convertStarToPath,
 * convertPolygonToPath); trim paths and every other modifier depend on the
 * start point, the direction and the handles being exactly these.
 */
#include "server/render/cairo/path.h"

#include <stdint.h>

#include "tests/fw_test.h"

#define NEAR 1e-9

static lt_pt P(double x, double y)
{
    lt_pt r = {x, y};
    return r;
}

/* Point k of contour c (0 the start, then 3 per segment). */
static lt_pt at(const lt_path *p, size_t c, size_t k)
{
    return p->pts[p->contours[c].first + k];
}

#define CHECK_PT(p, ex, ey, tol)                                                                         \
    do {                                                                                                 \
        lt_pt q_ = (p);                                                                                  \
        FW_CHECK_NEAR(q_.x, (ex), tol);                                                                  \
        FW_CHECK_NEAR(q_.y, (ey), tol);                                                                  \
    } while (0)

/* Twice the signed area of the contour's vertex polygon: positive when it
 * runs clockwise on screen (y down). */
static double signed_area2(const lt_path *p, size_t c)
{
    const lt_contour *ct = &p->contours[c];
    double a = 0;
    size_t k;
    for (k = 0; k < ct->segments; k++) {
        lt_pt u = at(p, c, 3 * k), v = at(p, c, 3 * k + 3);
        a += u.x * v.y - v.x * u.y;
    }
    return a;
}

static void test_rect_starts_at_top_of_right_edge_and_runs_clockwise(void)
{
    lt_path p;
    lt_path_init(&p);
    lt_path_rect(&p, 0, 0, 100, 60, 0, 1);
    FW_REQUIRE(p.ncontours == 1);
    FW_CHECK(p.contours[0].closed);
    FW_CHECK_INT(p.contours[0].segments, 4);
    CHECK_PT(at(&p, 0, 0), 50, -30, NEAR);
    CHECK_PT(at(&p, 0, 3), 50, 30, NEAR);
    CHECK_PT(at(&p, 0, 6), -50, 30, NEAR);
    CHECK_PT(at(&p, 0, 9), -50, -30, NEAR);
    CHECK_PT(at(&p, 0, 12), 50, -30, NEAR);
    /* Straight sides keep their handles on their vertices. */
    CHECK_PT(at(&p, 0, 1), 50, -30, NEAR);
    CHECK_PT(at(&p, 0, 2), 50, 30, NEAR);
    FW_CHECK(signed_area2(&p, 0) > 0);
    FW_CHECK_NEAR(lt_path_length(&p), 320, 1e-9);
    lt_path_release(&p);
}

static void test_rect_reversed_and_rect_without_direction_run_counterclockwise(void)
{
    lt_path p;
    lt_path_init(&p);
    lt_path_rect(&p, 0, 0, 100, 60, 0, 3);
    lt_path_rect(&p, 0, 0, 100, 60, 0, 0); /* lottie-web reverses a rect with no "d" */
    FW_REQUIRE(p.ncontours == 2);
    CHECK_PT(at(&p, 0, 0), 50, -30, NEAR);
    CHECK_PT(at(&p, 0, 3), -50, -30, NEAR);
    CHECK_PT(at(&p, 0, 6), -50, 30, NEAR);
    FW_CHECK(signed_area2(&p, 0) < 0);
    CHECK_PT(at(&p, 1, 3), -50, -30, NEAR);
    lt_path_release(&p);
}

static void test_rounded_rect_has_eight_segments_with_lottie_handles(void)
{
    lt_path p;
    double cp = 10 * (1 - 0.5519); /* handle end, measured from the corner */
    lt_path_init(&p);
    lt_path_rect(&p, 0, 0, 100, 100, 10, 1);
    FW_REQUIRE(p.ncontours == 1);
    FW_CHECK_INT(p.contours[0].segments, 8);
    CHECK_PT(at(&p, 0, 0), 50, -40, NEAR);
    CHECK_PT(at(&p, 0, 3), 50, 40, NEAR);   /* the right side, straight */
    CHECK_PT(at(&p, 0, 4), 50, 50 - cp, NEAR); /* bottom-right arc */
    CHECK_PT(at(&p, 0, 5), 50 - cp, 50, NEAR);
    CHECK_PT(at(&p, 0, 6), 40, 50, NEAR);
    CHECK_PT(at(&p, 0, 22), 50 - cp, -50, NEAR); /* closing arc into the start */
    CHECK_PT(at(&p, 0, 23), 50, -50 + cp, NEAR);
    CHECK_PT(at(&p, 0, 24), 50, -40, NEAR);
    lt_path_clear(&p);
    /* The radius is limited to half the shorter side. */
    lt_path_rect(&p, 0, 0, 100, 20, 50, 1);
    CHECK_PT(at(&p, 0, 0), 50, 0, NEAR);
    lt_path_release(&p);
}

static void test_ellipse_starts_at_top_with_handles_of_0_5519(void)
{
    lt_path p;
    lt_path_init(&p);
    lt_path_ellipse(&p, 10, 20, 200, 100, 1);
    lt_path_ellipse(&p, 10, 20, 200, 100, 3);
    FW_REQUIRE(p.ncontours == 2);
    FW_CHECK(p.contours[0].closed);
    FW_CHECK_INT(p.contours[0].segments, 4);
    CHECK_PT(at(&p, 0, 0), 10, -30, NEAR);
    CHECK_PT(at(&p, 0, 1), 10 + 100 * 0.5519, -30, NEAR);
    CHECK_PT(at(&p, 0, 2), 110, 20 - 50 * 0.5519, NEAR);
    CHECK_PT(at(&p, 0, 3), 110, 20, NEAR);
    CHECK_PT(at(&p, 0, 6), 10, 70, NEAR);
    CHECK_PT(at(&p, 0, 9), -90, 20, NEAR);
    CHECK_PT(at(&p, 0, 12), 10, -30, NEAR);
    FW_CHECK(signed_area2(&p, 0) > 0);
    /* Reversed: mirrored, going left first. */
    CHECK_PT(at(&p, 1, 0), 10, -30, NEAR);
    CHECK_PT(at(&p, 1, 1), 10 - 100 * 0.5519, -30, NEAR);
    CHECK_PT(at(&p, 1, 3), -90, 20, NEAR);
    FW_CHECK(signed_area2(&p, 1) < 0);
    lt_path_release(&p);
}

static void test_star_alternates_outer_and_inner_from_straight_up(void)
{
    lt_path p;
    double a = -M_PI / 2 + 2 * M_PI / 10;
    lt_path_init(&p);
    lt_path_polystar(&p, 0, 0, LT_POLYSTAR_STAR, 5.7, 0, 100, 50, 0, 0, 1);
    FW_REQUIRE(p.ncontours == 1);
    FW_CHECK(p.contours[0].closed);
    FW_CHECK_INT(p.contours[0].segments, 10); /* 5.7 points: floored */
    CHECK_PT(at(&p, 0, 0), 0, -100, 1e-9);
    CHECK_PT(at(&p, 0, 3), 50 * cos(a), 50 * sin(a), 1e-9);
    CHECK_PT(at(&p, 0, 6), 100 * cos(a + 2 * M_PI / 10), 100 * sin(a + 2 * M_PI / 10), 1e-9);
    CHECK_PT(at(&p, 0, 30), 0, -100, 1e-9);
    FW_CHECK(signed_area2(&p, 0) > 0);
    lt_path_release(&p);
}

static void test_polygon_roundness_gives_tangent_handles(void)
{
    lt_path p;
    double h = 2 * M_PI * 100 / 16 * 0.5; /* perimeter share of 4 points, 50 % */
    lt_path_init(&p);
    lt_path_polystar(&p, 0, 0, LT_POLYSTAR_POLYGON, 4, 0, 100, 999, 50, 999, 1);
    lt_path_polystar(&p, 0, 0, LT_POLYSTAR_POLYGON, 4, 90, 100, 0, 0, 0, 3);
    FW_REQUIRE(p.ncontours == 2);
    FW_CHECK_INT(p.contours[0].segments, 4);
    CHECK_PT(at(&p, 0, 0), 0, -100, 1e-9);
    CHECK_PT(at(&p, 0, 1), h, -100, 1e-9);
    CHECK_PT(at(&p, 0, 2), 100, -h, 1e-9);
    CHECK_PT(at(&p, 0, 3), 100, 0, 1e-9);
    /* Rotated a quarter turn and reversed: starts right, goes up. */
    CHECK_PT(at(&p, 1, 0), 100, 0, 1e-9);
    CHECK_PT(at(&p, 1, 3), 0, -100, 1e-9);
    lt_path_clear(&p);
    lt_path_polystar(&p, 0, 0, LT_POLYSTAR_STAR, 0.5, 0, 100, 50, 0, 0, 1);
    lt_path_polystar(&p, 0, 0, LT_POLYSTAR_POLYGON, NAN, 0, 100, 50, 0, 0, 1);
    FW_CHECK_INT(p.ncontours, 0);
    lt_path_release(&p);
}

static void test_circle_length_is_two_pi_r_within_a_thousandth(void)
{
    lt_path p;
    double len;
    lt_path_init(&p);
    lt_path_ellipse(&p, 0, 0, 200, 200, 1);
    len = lt_path_length(&p);
    FW_CHECK_NEAR(len / (2 * M_PI * 100), 1, 0.001);
    FW_CHECK_NEAR(lt_contour_length(&p, 0), len, 1e-12);
    lt_path_release(&p);
}

static void test_split_and_sub_keep_the_curve(void)
{
    lt_pt b[4] = {{0, 0}, {30, 80}, {70, 80}, {100, 0}}, l[4], r[4], mid[4];
    lt_pt q = lt_cubic_point(b, 0.3);
    lt_cubic_split(b, 0.3, l, r);
    CHECK_PT(l[0], 0, 0, NEAR);
    CHECK_PT(l[3], q.x, q.y, 1e-12);
    CHECK_PT(r[0], q.x, q.y, 1e-12);
    CHECK_PT(r[3], 100, 0, NEAR);
    /* The halves lie on the curve: their midpoints are curve points. */
    q = lt_cubic_point(l, 0.5);
    CHECK_PT(q, lt_cubic_point(b, 0.15).x, lt_cubic_point(b, 0.15).y, 1e-9);
    FW_CHECK_NEAR(lt_cubic_length(l) + lt_cubic_length(r), lt_cubic_length(b), 0.01);
    lt_cubic_sub(b, 0.2, 0.6, mid);
    q = lt_cubic_point(b, 0.2);
    CHECK_PT(mid[0], q.x, q.y, 1e-9);
    q = lt_cubic_point(b, 0.6);
    CHECK_PT(mid[3], q.x, q.y, 1e-9);
    q = lt_cubic_point(b, 0.4);
    CHECK_PT(lt_cubic_point(mid, 0.5), q.x, q.y, 1e-9);
    /* Derivative of the symmetric arch is horizontal at its top. */
    FW_CHECK_NEAR(lt_cubic_derivative(b, 0.5).y, 0, 1e-9);
}

static void test_length_fraction_maps_to_t_like_lottie_web(void)
{
    /* A straight segment with handles at its thirds is uniform in t. */
    lt_pt line[4] = {{0, 0}, {100, 0}, {200, 0}, {300, 0}};
    lt_pt tail[4] = {{0, 0}, {0, 0}, {300, 0}, {300, 0}};
    double t;
    FW_CHECK_NEAR(lt_cubic_length(line), 300, 1e-9);
    FW_CHECK_NEAR(lt_cubic_t_at_fraction(line, 0.5), 0.5, 1e-9);
    FW_CHECK_NEAR(lt_cubic_t_at_fraction(line, 0.3), 0.3, 1e-9);
    FW_CHECK_NEAR(lt_cubic_t_at_fraction(line, 1), 1, 0);
    /* lottie-web snaps the first 1/149 of a segment to its start. */
    FW_CHECK_NEAR(lt_cubic_t_at_fraction(line, 0.005), 0, 0);
    /* Handles on the vertices: not uniform, but the fraction still lands
     * on the right distance. */
    t = lt_cubic_t_at_fraction(tail, 0.3);
    FW_CHECK_NEAR(lt_cubic_point(tail, t).x, 90, 0.1);
    FW_CHECK(fabs(t - 0.3) > 0.01);
}

static void test_point_at_length_walks_the_contour(void)
{
    lt_path p;
    lt_pt q, tan;
    lt_path_init(&p);
    lt_path_rect(&p, 0, 0, 100, 100, 0, 1);
    FW_CHECK_INT(lt_contour_point_at_length(&p, 0, 150, &q, &tan), 0);
    CHECK_PT(q, 0, 50, 0.01);
    CHECK_PT(tan, -1, 0, 1e-9);
    FW_CHECK_INT(lt_contour_point_at_length(&p, 0, 1000, &q, NULL), 0);
    CHECK_PT(q, 50, -50, 1e-9);
    lt_path_clear(&p);
    lt_path_move_to(&p, P(3, 4));
    FW_CHECK_INT(lt_contour_point_at_length(&p, 0, 10, &q, &tan), -1);
    CHECK_PT(q, 3, 4, 0);
    lt_path_release(&p);
}

static void test_drawing_follows_cairo_current_point_rules(void)
{
    lt_path p;
    lt_path_init(&p);
    lt_path_line_to(&p, P(1, 2)); /* no current point: starts a contour */
    lt_path_line_to(&p, P(5, 2));
    lt_path_line_to(&p, P(5, 6));
    lt_path_close(&p);
    FW_REQUIRE(p.ncontours == 1);
    FW_CHECK_INT(p.contours[0].segments, 3); /* the close added the way back */
    FW_CHECK(p.contours[0].closed);
    lt_path_close(&p); /* twice is once */
    FW_CHECK_INT(p.contours[0].segments, 3);
    lt_path_line_to(&p, P(9, 9)); /* after a close: from the closed start */
    FW_REQUIRE(p.ncontours == 2);
    CHECK_PT(at(&p, 1, 0), 1, 2, 0);
    CHECK_PT(at(&p, 1, 3), 9, 9, 0);
    FW_CHECK(!p.contours[1].closed);
    lt_path_release(&p);
}

static void test_vertices_with_relative_tangents_become_segments(void)
{
    lt_path p;
    lt_pt v[3] = {{0, 0}, {100, 0}, {100, 100}};
    lt_pt in[3] = {{0, 0}, {-10, 0}, {0, -10}};
    lt_pt out[3] = {{20, 0}, {0, 0}, {0, 0}};
    lt_path_init(&p);
    lt_path_add_vertices(&p, v, in, out, 3, 1);
    FW_REQUIRE(p.ncontours == 1);
    FW_CHECK_INT(p.contours[0].segments, 3); /* the closing segment is written out */
    CHECK_PT(at(&p, 0, 1), 20, 0, 0);
    CHECK_PT(at(&p, 0, 2), 90, 0, 0);
    CHECK_PT(at(&p, 0, 5), 100, 90, 0);
    CHECK_PT(at(&p, 0, 9), 0, 0, 0);
    lt_path_release(&p);
}

static void test_append_transforms_and_keeps_contours(void)
{
    lt_path a, b;
    lt_matrix m = {2, 0, 0, 3, 10, 20}; /* scale 2 x 3, then move */
    lt_path_init(&a);
    lt_path_init(&b);
    lt_path_rect(&a, 0, 0, 10, 10, 0, 1);
    lt_path_move_to(&b, P(0, 0));
    lt_path_append(&b, &a, &m);
    lt_path_append(&b, &a, NULL);
    FW_REQUIRE(b.ncontours == 3);
    FW_CHECK_INT(b.contours[1].first, 1);
    FW_CHECK(b.contours[1].closed);
    CHECK_PT(at(&b, 1, 0), 20, 5, 0);
    CHECK_PT(at(&b, 1, 3), 20, 35, 0);
    CHECK_PT(at(&b, 2, 0), 5, -5, 0);
    lt_path_release(&a);
    lt_path_release(&b);
}

static void test_clear_keeps_buffers_so_refilling_does_not_allocate(void)
{
    lt_path p;
    lt_pt *buf;
    size_t cap, i;
    lt_path_init(&p);
    lt_path_move_to(&p, P(0, 0));
    for (i = 0; i < 10000; i++)
        lt_path_line_to(&p, P((double)i, (double)(i % 7)));
    FW_CHECK_INT(p.contours[0].segments, 10000);
    FW_CHECK_INT(p.npts, 30001);
    FW_CHECK(!p.oom);
    buf = p.pts;
    cap = p.pts_cap;
    lt_path_clear(&p);
    FW_CHECK_INT(p.npts, 0);
    FW_CHECK_INT(p.ncontours, 0);
    lt_path_move_to(&p, P(0, 0));
    for (i = 0; i < 10000; i++)
        lt_path_line_to(&p, P((double)i, 0));
    FW_CHECK(p.pts == buf);
    FW_CHECK_INT(p.pts_cap, cap);
    lt_path_release(&p);
    FW_CHECK(p.pts == NULL && p.npts == 0 && p.pts_cap == 0);
}

static void test_out_of_memory_marks_the_path_and_ignores_appends(void)
{
    lt_path p, q;
    lt_path_init(&p);
    lt_path_init(&q);
    lt_path_rect(&p, 0, 0, 10, 10, 0, 1);
    FW_CHECK_INT(lt_path_reserve(&p, LT_PATH_MAX_POINTS, 0), -1);
    FW_CHECK(p.oom);
    FW_CHECK_INT(lt_path_reserve(&p, SIZE_MAX, SIZE_MAX), -1);
    lt_path_move_to(&p, P(1, 1));
    lt_path_line_to(&p, P(2, 2));
    lt_path_cubic_to(&p, P(1, 1), P(2, 2), P(3, 3));
    lt_path_close(&p);
    lt_path_ellipse(&p, 0, 0, 10, 10, 1);
    lt_path_polystar(&p, 0, 0, LT_POLYSTAR_STAR, 5, 0, 10, 5, 0, 0, 1);
    FW_CHECK_INT(p.ncontours, 1);
    FW_CHECK_INT(p.npts, 13);
    lt_path_append(&q, &p, NULL); /* an incomplete path makes its copy incomplete */
    FW_CHECK(q.oom);
    lt_path_clear(&p); /* a new frame may try again */
    FW_CHECK(!p.oom);
    lt_path_rect(&p, 0, 0, 10, 10, 0, 1);
    FW_CHECK_INT(p.ncontours, 1);
    lt_path_release(&p);
    lt_path_release(&q);
}

int main(void)
{
    FW_RUN(test_rect_starts_at_top_of_right_edge_and_runs_clockwise);
    FW_RUN(test_rect_reversed_and_rect_without_direction_run_counterclockwise);
    FW_RUN(test_rounded_rect_has_eight_segments_with_lottie_handles);
    FW_RUN(test_ellipse_starts_at_top_with_handles_of_0_5519);
    FW_RUN(test_star_alternates_outer_and_inner_from_straight_up);
    FW_RUN(test_polygon_roundness_gives_tangent_handles);
    FW_RUN(test_circle_length_is_two_pi_r_within_a_thousandth);
    FW_RUN(test_split_and_sub_keep_the_curve);
    FW_RUN(test_length_fraction_maps_to_t_like_lottie_web);
    FW_RUN(test_point_at_length_walks_the_contour);
    FW_RUN(test_drawing_follows_cairo_current_point_rules);
    FW_RUN(test_vertices_with_relative_tangents_become_segments);
    FW_RUN(test_append_transforms_and_keeps_contours);
    FW_RUN(test_clear_keeps_buffers_so_refilling_does_not_allocate);
    FW_RUN(test_out_of_memory_marks_the_path_and_ignores_appends);
    return fw_test_end();
}
