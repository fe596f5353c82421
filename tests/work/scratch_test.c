/*
 * scratch_test.c - a job's scratch folder outlives its worker only until the
 * next worker starts: a folder held by a live process survives a sweep, one
 * whose process died (however it died) or that nobody ever held goes, and
 * other names are left alone.
 */
#include <signal.h>
#include <sys/wait.h>

#include "server/work/scratch.h"
#include "tests/fw_test.h"

#define PREFIX "fw-job-"

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A file in folder, so that a sweep has something to remove inside. */
static void put_file(const char *folder, const char *name)
{
    char path[PATH_MAX];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", folder, name);
    f = fopen(path, "w");
    if (f) {
        fputs("partial output", f);
        fclose(f);
    }
}

static void test_a_folder_held_by_a_live_worker_survives_a_sweep(void)
{
    char root[PATH_MAX];
    fw_scratch scratch;
    fw_error err;

    snprintf(root, sizeof(root), "%s", fw_test_tmpdir());
    FW_REQUIRE(fw_scratch_make(&scratch, root, PREFIX, &err) == FW_OK);
    put_file(scratch.path, "output.mp4");
    FW_CHECK_INT(fw_scratch_sweep(root, PREFIX), 0);
    FW_CHECK(exists(scratch.path));
    fw_scratch_remove(&scratch);
}

static void test_remove_takes_the_folder_and_its_files(void)
{
    char root[PATH_MAX], path[PATH_MAX];
    fw_scratch scratch;
    fw_error err;

    snprintf(root, sizeof(root), "%s", fw_test_tmpdir());
    FW_REQUIRE(fw_scratch_make(&scratch, root, PREFIX, &err) == FW_OK);
    FW_CHECK(strncmp(scratch.path + strlen(root), "/" PREFIX, strlen(PREFIX) + 1) == 0);
    put_file(scratch.path, "template.json");
    snprintf(path, sizeof(path), "%s", scratch.path);
    fw_scratch_remove(&scratch);
    FW_CHECK(!exists(path));
    FW_CHECK_INT(scratch.fd, -1);
    fw_scratch_remove(&scratch); /* twice is harmless */
}

/* A worker killed mid-job: the child makes its folder and dies of SIGKILL. */
static void test_the_folder_of_a_killed_worker_is_swept(void)
{
    char root[PATH_MAX], made[PATH_MAX] = "";
    int pipe_fds[2], status = 0;
    pid_t pid;

    snprintf(root, sizeof(root), "%s", fw_test_tmpdir());
    FW_REQUIRE(pipe(pipe_fds) == 0);
    pid = fork();
    FW_REQUIRE(pid >= 0);
    if (pid == 0) {
        fw_scratch scratch;
        fw_error err;
        close(pipe_fds[0]);
        if (fw_scratch_make(&scratch, root, PREFIX, &err) == FW_OK) {
            put_file(scratch.path, "output.mp4");
            if (write(pipe_fds[1], scratch.path, strlen(scratch.path)) < 0)
                _exit(2);
        }
        close(pipe_fds[1]);
        raise(SIGKILL);
        _exit(1);
    }
    close(pipe_fds[1]);
    FW_CHECK(read(pipe_fds[0], made, sizeof(made) - 1) > 0);
    close(pipe_fds[0]);
    waitpid(pid, &status, 0);
    FW_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    FW_REQUIRE(made[0] && exists(made));
    FW_CHECK_INT(fw_scratch_sweep(root, PREFIX), 1);
    FW_CHECK(!exists(made));
}

static void test_a_folder_nobody_holds_is_swept_other_names_are_not(void)
{
    char root[PATH_MAX], stray[PATH_MAX], other[PATH_MAX];

    snprintf(root, sizeof(root), "%s", fw_test_tmpdir());
    snprintf(stray, sizeof(stray), "%s/" PREFIX "left", root);
    snprintf(other, sizeof(other), "%s/fw-render-kept", root);
    FW_REQUIRE(mkdir(stray, 0700) == 0 && mkdir(other, 0700) == 0);
    put_file(stray, "asset.png");
    FW_CHECK_INT(fw_scratch_sweep(root, PREFIX), 1);
    FW_CHECK(!exists(stray));
    FW_CHECK(exists(other));
    FW_CHECK_INT(fw_scratch_sweep(root, PREFIX), 0);
}

static void test_a_missing_root_sweeps_nothing(void)
{
    char root[PATH_MAX];
    snprintf(root, sizeof(root), "%s/not-there", fw_test_tmpdir());
    FW_CHECK_INT(fw_scratch_sweep(root, PREFIX), 0);
}

int main(void)
{
    FW_RUN(test_a_folder_held_by_a_live_worker_survives_a_sweep);
    FW_RUN(test_remove_takes_the_folder_and_its_files);
    FW_RUN(test_the_folder_of_a_killed_worker_is_swept);
    FW_RUN(test_a_folder_nobody_holds_is_swept_other_names_are_not);
    FW_RUN(test_a_missing_root_sweeps_nothing);
    return fw_test_end();
}
