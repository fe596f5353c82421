/*
 * cli.c - framewright-client: the command line over the client library.
 *
 * One command per run, options anywhere on the line. Output is for people
 * (one line per thing, the id first) unless --json asks for the messages in
 * their proto3 JSON form, the same text the REST gateway serves. Errors go to
 * stderr as "framewright-client: field: message". Exit codes: 0 ok, 1 the
 * server refused or the job did not finish, 2 a bad command line.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "proto/json/pbjson.h"

#define PROG "framewright-client"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
    "usage: " PROG " [--server HOST:PORT] [--key KEY] [--ca FILE] [--timeout SECONDS] [--json] COMMAND ...\n"
    "\n"
    "  upload-template FILE [--name NAME] [--type json|lottie|zip]\n"
    "                          upload a template; the last line printed is its id\n"
    "  templates [--limit N] [--page-token T]\n"
    "                          list templates\n"
    "  template ID             a template, its compositions and layers\n"
    "  rename-template ID NAME change a template's display name\n"
    "  delete-template ID      delete a template\n"
    "  submit JOB.json [--watch]\n"
    "                          submit a job (a local template.src is uploaded first) and print its id;\n"
    "                          --watch follows it to the end and prints the output URL\n"
    "  watch ID                follow a job until it ends\n"
    "  get ID                  a job\n"
    "  list [--status S] [--template ID] [--limit N] [--page-token T]\n"
    "                          list jobs, newest first\n"
    "  cancel ID...            cancel jobs\n"
    "\n"
    "The server and key come from FRAMEWRIGHT_SERVER and FRAMEWRIGHT_KEY (and the CA file for TLS\n"
    "from FRAMEWRIGHT_CA) unless given as options. Exit codes: 0 ok, 1 refused or the job did not\n"
    "finish, 2 usage.\n";

typedef struct cli {
    const char *server, *key, *ca;
    long timeout_s;
    int json, watch;
    const char *name, *type, *status, *template_id, *page_token;
    long limit;
    const char **args; /* the command and its operands */
    int nargs;
    fw_client *client;
} cli;

static int usage_error(const char *fmt, const char *what)
{
    fprintf(stderr, PROG ": ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, "\n(" PROG " --help shows the commands)\n");
    return EXIT_USAGE;
}

static int fail(const fw_error *err)
{
    char text[FW_ERROR_FIELD_MAX + FW_ERROR_MESSAGE_MAX + 4];
    fprintf(stderr, PROG ": %s\n", fw_error_text(err, text, sizeof(text)));
    return EXIT_REFUSED;
}

static int parse_number(const char *text, long min, long max, long *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Options anywhere; everything else is the command and its operands. Returns
 * -1 after printing help, EXIT_USAGE on a bad line, 0 otherwise. */
static int parse_args(cli *c, int argc, char **argv)
{
    static const struct {
        const char *name;
        size_t offset;
    } valued[] = {
        {"--server", offsetof(cli, server)},   {"--key", offsetof(cli, key)},
        {"--ca", offsetof(cli, ca)},           {"--name", offsetof(cli, name)},
        {"--type", offsetof(cli, type)},       {"--status", offsetof(cli, status)},
        {"--template", offsetof(cli, template_id)}, {"--page-token", offsetof(cli, page_token)},
    };
    c->args = calloc((size_t)argc + 1, sizeof(*c->args));
    if (!c->args)
        return EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *value = NULL;
        const char *eq = strchr(a, '=');
        char name[32];
        size_t n;
        int matched = 0;

        if (strcmp(a, "--") == 0) {
            while (++i < argc)
                c->args[c->nargs++] = argv[i];
            break;
        }
        if (strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return -1;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            c->args[c->nargs++] = a;
            continue;
        }
        /* --name=value or --name value */
        n = eq ? (size_t)(eq - a) : strlen(a);
        if (n >= sizeof(name))
            return usage_error("unknown option %s", a);
        memcpy(name, a, n);
        name[n] = '\0';
        if (strcmp(name, "--help") == 0) {
            fputs(usage_text, stdout);
            return -1;
        }
        if (strcmp(name, "--json") == 0 || strcmp(name, "--watch") == 0) {
            if (eq)
                return usage_error("%s takes no value", name);
            *(strcmp(name, "--json") == 0 ? &c->json : &c->watch) = 1;
            continue;
        }
        if (eq)
            value = eq + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        else
            return usage_error("%s needs a value", name);
        for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
            if (strcmp(name, valued[k].name) == 0) {
                *(const char **)((char *)c + valued[k].offset) = value;
                matched = 1;
            }
        if (matched)
            continue;
        if (strcmp(name, "--limit") == 0) {
            if (parse_number(value, 1, 1000, &c->limit))
                return usage_error("--limit takes a number from 1 to 1000, not '%s'", value);
        } else if (strcmp(name, "--timeout") == 0) {
            if (parse_number(value, 1, 86400, &c->timeout_s))
                return usage_error("--timeout takes seconds from 1 to 86400, not '%s'", value);
        } else {
            return usage_error("unknown option %s", name);
        }
    }
    return 0;
}

/* ---- output ------------------------------------------------------------------------------- */

static int print_json(const void *msg, unsigned flags)
{
    fw_error err;
    char *text = NULL;
    if (fw_pbjson_format((const ProtobufCMessage *)msg, flags, &text, &err))
        return fail(&err);
    printf("%s\n", text);
    free(text);
    return EXIT_OK;
}

static const char *time_text(const Google__Protobuf__Timestamp *t, char buf[32])
{
    time_t s;
    struct tm tm;
    if (!t || (!t->seconds && !t->nanos))
        return "-";
    s = (time_t)t->seconds;
    if (!gmtime_r(&s, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return "-";
    return buf;
}

static const char *text_or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static const char *wrapped(const Google__Protobuf__StringValue *v)
{
    return v && v->value && *v->value ? v->value : NULL;
}

static void print_template_line(const Framewright__V1__Template *t)
{
    printf("%s  %-15s  %-6s  %s\n", t->id, t->status, text_or_dash(t->type), text_or_dash(t->display_name));
}

static void print_template(const Framewright__V1__Template *t)
{
    char when[32];
    printf("id:           %s\n", t->id);
    printf("name:         %s\n", text_or_dash(t->display_name));
    printf("type:         %s\n", text_or_dash(t->type));
    printf("status:       %s\n", t->status);
    printf("size:         %lld bytes\n", (long long)t->size);
    printf("created:      %s\n", time_text(t->created_at, when));
    if (wrapped(t->error))
        printf("error:        %s\n", wrapped(t->error));
    if (t->details) {
        for (size_t i = 0; i < t->details->n_compositions; i++) {
            const Framewright__V1__Composition *comp = t->details->compositions[i];
            printf("composition:  %s%s  %dx%d  %g fps  %d frames\n", comp->name, comp->is_root ? " (root)" : "",
                   comp->width, comp->height, comp->fps, comp->frames);
            for (size_t k = 0; k < comp->n_layers; k++) {
                const Framewright__V1__Layer *l = comp->layers[k];
                const Framewright__V1__Replaceable *r = l->replaceable;
                printf("  layer %-3d %-8s %s%s%s\n", l->index, l->type, l->name,
                       r && r->text ? "  [text]" : "", r && r->image ? "  [image]" : "");
            }
        }
        for (size_t i = 0; i < t->details->n_fonts; i++)
            printf("font:         %s (%s %s)\n", t->details->fonts[i]->name, t->details->fonts[i]->family,
                   t->details->fonts[i]->style);
    } else {
        for (size_t i = 0; i < t->n_compositions; i++)
            printf("composition:  %s\n", t->compositions[i]);
        for (size_t i = 0; i < t->n_layers; i++)
            printf("layer:        %s\n", t->layers[i]);
    }
}

static void print_job_line(const Framewright__V1__Job *j)
{
    char when[32];
    printf("%s  %-18s  %5.1f%%  %s  %s\n", j->id, j->status, j->progress, text_or_dash(wrapped(j->template_id)),
           time_text(j->stats ? j->stats->created_at : NULL, when));
}

static void print_job(const Framewright__V1__Job *j)
{
    char when[32];
    const Framewright__V1__JobStats *s = j->stats;
    printf("id:           %s\n", j->id);
    printf("status:       %s\n", j->status);
    printf("progress:     %.1f%%\n", j->progress);
    printf("template:     %s\n", text_or_dash(wrapped(j->template_id)));
    if (s) {
        printf("created:      %s\n", time_text(s->created_at, when));
        if (s->started_at)
            printf("started:      %s\n", time_text(s->started_at, when));
        if (s->finished_at)
            printf("finished:     %s\n", time_text(s->finished_at, when));
        if (s->render_duration)
            printf("render time:  %.2f s\n", s->render_duration->value);
        if (wrapped(s->error))
            printf("error:        %s\n", wrapped(s->error));
    }
    if (strcmp(j->status, FW_JOB_FINISHED) == 0 && wrapped(j->output_url))
        printf("output:       %s\n", wrapped(j->output_url));
    for (size_t i = 0; i < j->n_missing_fonts; i++)
        printf("missing font: %s\n", j->missing_fonts[i]);
    for (size_t i = 0; i < j->n_children; i++)
        printf("child:        %s\n", j->children[i]);
}

/* ---- commands ----------------------------------------------------------------------------- */

static int need_operands(const cli *c, int min, int max, const char *shape)
{
    if (c->nargs - 1 < min || (max >= 0 && c->nargs - 1 > max))
        return usage_error("usage: " PROG " %s", shape);
    return 0;
}

static int cmd_upload_template(cli *c)
{
    Framewright__V1__Template *t = NULL;
    fw_error err;
    int rc;
    if ((rc = need_operands(c, 1, 1, "upload-template FILE [--name NAME] [--type json|lottie|zip]")))
        return rc;
    if (fw_client_upload_template(c->client, c->args[1], c->type, c->name, &t, &err))
        return fail(&err);
    if (c->json) {
        rc = print_json(t, FW_PBJSON_PRETTY);
    } else {
        printf("uploaded %s (%lld bytes, %s): %zu composition%s, %zu layer%s\n", text_or_dash(t->display_name),
               (long long)t->size, text_or_dash(t->type), t->n_compositions, t->n_compositions == 1 ? "" : "s",
               t->n_layers, t->n_layers == 1 ? "" : "s");
        printf("%s\n", t->id);
    }
    fw_client_message_free(&t);
    return rc;
}

static int cmd_templates(cli *c)
{
    Framewright__V1__ListTemplatesResponse *page = NULL;
    fw_error err;
    int rc;
    if ((rc = need_operands(c, 0, 0, "templates [--limit N] [--page-token T]")))
        return rc;
    if (fw_client_list_templates(c->client, (int32_t)c->limit, c->page_token, &page, &err))
        return fail(&err);
    if (c->json) {
        rc = print_json(page, FW_PBJSON_PRETTY);
    } else {
        for (size_t i = 0; i < page->n_templates; i++)
            print_template_line(page->templates[i]);
        if (page->next_page_token && *page->next_page_token)
            fprintf(stderr, "(more: --page-token %s)\n", page->next_page_token);
    }
    fw_client_message_free(&page);
    return rc;
}

static int cmd_template(cli *c)
{
    Framewright__V1__Template *t = NULL;
    fw_error err;
    int rc;
    if ((rc = need_operands(c, 1, 1, "template ID")))
        return rc;
    if (fw_client_get_template(c->client, c->args[1], &t, &err))
        return fail(&err);
    if (c->json)
        rc = print_json(t, FW_PBJSON_PRETTY);
    else
        print_template(t);
    fw_client_message_free(&t);
    return rc;
}

static int cmd_rename_template(cli *c)
{
    Framewright__V1__Template *t = NULL;
    fw_error err;
    int rc;
    if ((rc = need_operands(c, 2, 2, "rename-template ID NAME")))
        return rc;
    if (fw_client_rename_template(c->client, c->args[1], c->args[2], &t, &err))
        return fail(&err);
    if (c->json)
        rc = print_json(t, FW_PBJSON_PRETTY);
    else
        print_template_line(t);
    fw_client_message_free(&t);
    return rc;
}

static int cmd_delete_template(cli *c)
{
    fw_error err;
    int rc;
    if ((rc = need_operands(c, 1, 1, "delete-template ID")))
        return rc;
    if (fw_client_delete_template(c->client, c->args[1], &err))
        return fail(&err);
    if (!c->json)
        printf("deleted %s\n", c->args[1]);
    return EXIT_OK;
}

typedef struct watch_state {
    int json;
} watch_state;

static int on_event(const Framewright__V1__JobEvent *ev, void *ctx)
{
    const watch_state *ws = ctx;
    if (ws->json)
        print_json(ev, 0);
    else if (ev->job)
        printf("%s %.0f%% %s\n", ev->job->status, ev->job->progress, text_or_dash(ev->stage));
    fflush(stdout);
    return 0;
}

static int follow(cli *c, const char *id)
{
    Framewright__V1__Job *last = NULL;
    watch_state ws = {c->json};
    fw_error err;
    int rc = EXIT_OK;

    if (fw_client_watch_job(c->client, id, on_event, &ws, &last, &err)) {
        rc = fail(&err);
    } else if (!c->json) {
        const char *url = wrapped(last->output_url);
        printf("%s\n", url ? url : "(the job finished without an output URL)");
    }
    fw_client_message_free(&last);
    return rc;
}

static int cmd_submit(cli *c)
{
    Framewright__V1__Job *job = NULL;
    char *uploaded = NULL;
    fw_error err;
    int rc;
    if ((rc = need_operands(c, 1, 1, "submit JOB.json [--watch]")))
        return rc;
    if (fw_client_submit_job_file(c->client, c->args[1], &job, &uploaded, &err))
        return fail(&err);
    if (uploaded && !c->json)
        fprintf(stderr, "uploaded the job's template as %s\n", uploaded);
    if (c->json)
        rc = print_json(job, c->watch ? 0 : FW_PBJSON_PRETTY);
    else
        printf("%s\n", job->id);
    fflush(stdout);
    if (rc == EXIT_OK && c->watch)
        rc = follow(c, job->id);
    free(uploaded);
    fw_client_message_free(&job);
    return rc;
}

static int cmd_watch(cli *c)
{
    int rc;
    if ((rc = need_operands(c, 1, 1, "watch ID")))
        return rc;
    return follow(c, c->args[1]);
}

static int cmd_get(cli *c)
{
    Framewright__V1__Job *job = NULL;
    fw_error err;
    int rc;
    if ((rc = need_operands(c, 1, 1, "get ID")))
        return rc;
    if (fw_client_get_job(c->client, c->args[1], &job, &err))
        return fail(&err);
    if (c->json)
        rc = print_json(job, FW_PBJSON_PRETTY);
    else
        print_job(job);
    fw_client_message_free(&job);
    return rc;
}

static int cmd_list(cli *c)
{
    Framewright__V1__ListJobsResponse *page = NULL;
    fw_job_filter filter;
    fw_error err;
    int rc;
    if ((rc = need_operands(c, 0, 0, "list [--status S] [--template ID] [--limit N] [--page-token T]")))
        return rc;
    memset(&filter, 0, sizeof(filter));
    filter.status = c->status;
    filter.template_id = c->template_id;
    filter.page_size = (int32_t)c->limit;
    filter.page_token = c->page_token;
    if (fw_client_list_jobs(c->client, &filter, &page, &err))
        return fail(&err);
    if (c->json) {
        rc = print_json(page, FW_PBJSON_PRETTY);
    } else {
        for (size_t i = 0; i < page->n_jobs; i++)
            print_job_line(page->jobs[i]);
        if (page->next_page_token && *page->next_page_token)
            fprintf(stderr, "(more: --page-token %s)\n", page->next_page_token);
    }
    fw_client_message_free(&page);
    return rc;
}

/* One CancelJob per id, so each refusal is reported with its reason. */
static int cmd_cancel(cli *c)
{
    int rc, status = EXIT_OK;
    if ((rc = need_operands(c, 1, -1, "cancel ID...")))
        return rc;
    for (int i = 1; i < c->nargs; i++) {
        Framewright__V1__Job *job = NULL;
        fw_error err;
        if (fw_client_cancel_job(c->client, c->args[i], &job, &err)) {
            fprintf(stderr, PROG ": %s: ", c->args[i]);
            fprintf(stderr, "%s\n", err.message);
            status = EXIT_REFUSED;
            continue;
        }
        if (c->json)
            print_json(job, 0);
        else
            printf("%s %s\n", job->id, job->status);
        fw_client_message_free(&job);
    }
    return status;
}

static const struct {
    const char *name;
    int (*run)(cli *c);
} commands[] = {
    {"upload-template", cmd_upload_template},
    {"templates", cmd_templates},
    {"template", cmd_template},
    {"rename-template", cmd_rename_template},
    {"delete-template", cmd_delete_template},
    {"submit", cmd_submit},
    {"watch", cmd_watch},
    {"get", cmd_get},
    {"list", cmd_list},
    {"cancel", cmd_cancel},
};

int main(int argc, char **argv)
{
    fw_client_options opts;
    int (*run)(cli *c) = NULL;
    fw_error err;
    cli c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.server = getenv("FRAMEWRIGHT_SERVER");
    c.key = getenv("FRAMEWRIGHT_KEY");
    c.ca = getenv("FRAMEWRIGHT_CA");
    if ((rc = parse_args(&c, argc, argv))) {
        free(c.args);
        return rc < 0 ? EXIT_OK : rc;
    }
    if (c.nargs == 0) {
        fputs(usage_text, stderr);
        free(c.args);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(c.args[0], commands[i].name) == 0)
            run = commands[i].run;
    if (!run)
        rc = usage_error("unknown command '%s'", c.args[0]);
    else if (!c.server || !*c.server)
        rc = usage_error("%s", "no server: set FRAMEWRIGHT_SERVER or pass --server HOST:PORT");
    if (rc) {
        free(c.args);
        return rc;
    }

    memset(&opts, 0, sizeof(opts));
    opts.address = c.server;
    opts.key = c.key;
    opts.ca_file = c.ca && *c.ca ? c.ca : NULL;
    opts.timeout_ms = c.timeout_s * 1000;
    if (fw_client_new(&c.client, &opts, &err)) {
        free(c.args);
        return fail(&err);
    }
    rc = run(&c);
    fw_client_free(&c.client);
    free(c.args);
    return rc;
}
