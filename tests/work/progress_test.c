/*
 * progress_test.c - how often a worker writes a job's progress: every 2 % or
 * 250 ms of movement, whichever comes first, never closer than 50 ms apart
 * except for a new stage, and at least once a second to renew the lease.
 * A simulated render drives the pace on a simulated clock.
 */
#include <stdint.h>

#include "server/work/progress.h"
#include "tests/fw_test.h"

/* A render that moves `step` percent every `every_ms` over `ms`: the writes
 * the pace makes, and the largest gaps between them in time and percent. */
typedef struct run_figures {
    int writes;
    int64_t longest_ms;
    double widest;
} run_figures;

static run_figures simulate(double step, int64_t every_ms, int64_t ms)
{
    fw_progress_pace pace = {0};
    run_figures f = {0};
    double progress = 0;
    int64_t last_at = 0;
    double last = 0;

    for (int64_t now = 0; now <= ms; now++) {
        if (now > 0 && now % every_ms == 0 && progress < 100)
            progress = progress + step > 100 ? 100 : progress + step;
        if (fw_progress_due_in(&pace, progress, 0, now) == 0) {
            if (f.writes) {
                if (now - last_at > f.longest_ms)
                    f.longest_ms = now - last_at;
            }
            if (progress - last > f.widest)
                f.widest = progress - last;
            fw_progress_written(&pace, progress, now);
            last_at = now;
            last = progress;
            f.writes++;
        }
    }
    return f;
}

static fw_progress_pace pace;

static void first_write_at_once(void)
{
    FW_CHECK_INT(fw_progress_due_in(&pace, 0, 0, 5000), 0);
    fw_progress_written(&pace, 0, 5000);
}

static void idle_lease_renewed_after_a_second(void)
{
    FW_CHECK_INT(fw_progress_due_in(&pace, 0, 0, 5000), 1000);
    FW_CHECK_INT(fw_progress_due_in(&pace, 0, 0, 5600), 400);
    FW_CHECK_INT(fw_progress_due_in(&pace, 0, 0, 6000), 0);
}

static void small_move_after_250_ms(void)
{
    FW_CHECK_INT(fw_progress_due_in(&pace, 0.5, 0, 5010), 240);
    FW_CHECK_INT(fw_progress_due_in(&pace, 0.5, 0, 5250), 0);
}

static void two_percent_at_once_but_50_ms_apart(void)
{
    FW_CHECK_INT(fw_progress_due_in(&pace, 2.0, 0, 5010), 40);
    FW_CHECK_INT(fw_progress_due_in(&pace, 2.0, 0, 5050), 0);
    FW_CHECK_INT(fw_progress_due_in(&pace, 1.99, 0, 5050), 200);
}

static void new_stage_at_once(void)
{
    FW_CHECK_INT(fw_progress_due_in(&pace, 0, 1, 5001), 0);
}

static void slow_render_every_250_ms(void)
{
    /* 0.1 % every 20 ms, about 3 minutes in all: written every 250 ms,
     * which is also about 1.25 % apart. */
    run_figures f = simulate(0.1, 20, 20000);
    FW_CHECK(f.longest_ms <= 250);
    FW_CHECK(f.writes >= 20000 / 250);
    FW_CHECK(f.writes <= 20000 / 250 + 2);
}

static void quick_render_every_2_percent_at_most_every_50_ms(void)
{
    /* 1 % every 5 ms, half a second in all. */
    run_figures f = simulate(1.0, 5, 600);
    FW_CHECK(f.longest_ms <= 50);
    FW_CHECK(f.writes >= 10);
    FW_CHECK(f.writes <= 600 / 50 + 1);
}

static void each_step_of_2_percent(void)
{
    run_figures f = simulate(2.0, 100, 5000);
    FW_CHECK(f.widest <= 2.0);
    FW_CHECK_INT(f.writes, 51);
}

static void idle_job_once_a_second(void)
{
    run_figures f = simulate(0, 1000000, 10000);
    FW_CHECK_INT(f.writes, 11);
    FW_CHECK_INT(f.longest_ms, 1000);
}

int main(void)
{
    FW_RUN(first_write_at_once);
    FW_RUN(idle_lease_renewed_after_a_second);
    FW_RUN(small_move_after_250_ms);
    FW_RUN(two_percent_at_once_but_50_ms_apart);
    FW_RUN(new_stage_at_once);
    FW_RUN(slow_render_every_250_ms);
    FW_RUN(quick_render_every_2_percent_at_most_every_50_ms);
    FW_RUN(each_step_of_2_percent);
    FW_RUN(idle_job_once_a_second);
    return fw_test_end();
}
