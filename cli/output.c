/* hyper2kvm command-line tool: logging, progress bar, JSON events, errors. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"

static bool bar_drawn;
static bool bar_is_tty;
static bool events_json;
static char last_stage[64];
static int last_permille = -1;
static struct timespec last_event;

int
cli_exit_code(int code)
{
    if (code >= 0)
        return CLI_EXIT_OK;
    return 10 + (-code);
}

static const char *
level_name(h2k_log_level l)
{
    switch (l) {
    case H2K_LOG_ERROR: return "error";
    case H2K_LOG_WARNING: return "warning";
    case H2K_LOG_INFO: return "info";
    default: return "debug";
    }
}

void
cli_progress_finish(void)
{
    if (bar_drawn) {
        fputc('\n', stderr);
        bar_drawn = false;
    }
}

static void
on_log(void *ud, h2k_log_level level, const char *domain, const char *msg)
{
    (void)ud;
    if (events_json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "event", json_object_new_string("log"));
        json_object_object_add(o, "level", json_object_new_string(level_name(level)));
        json_object_object_add(o, "domain", json_object_new_string(domain));
        json_object_object_add(o, "message", json_object_new_string(msg));
        fprintf(stderr, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return;
    }
    cli_progress_finish();
    fprintf(stderr, "hyper2kvm: %s: %s: %s\n", level_name(level), domain, msg);
}

static void
on_progress(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    (void)ud;
    int permille = total ? (int)((done * 1000) / total) : 0;
    if (permille > 1000)
        permille = 1000;
    if (events_json) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double dt = (double)(now.tv_sec - last_event.tv_sec) +
                    (double)(now.tv_nsec - last_event.tv_nsec) / 1e9;
        bool stage_changed = strncmp(stage, last_stage, sizeof(last_stage)) != 0;
        if (!stage_changed && permille != 1000 && dt < 0.5 && permille - last_permille < 50)
            return;
        last_event = now;
        snprintf(last_stage, sizeof(last_stage), "%s", stage);
        last_permille = permille;
        fprintf(stderr,
                "{\"event\":\"progress\",\"stage\":\"%s\",\"done\":%" PRIu64
                ",\"total\":%" PRIu64 "}\n",
                stage, done, total);
        return;
    }
    if (!bar_is_tty)
        return;
    if (permille == last_permille && strncmp(stage, last_stage, sizeof(last_stage)) == 0)
        return;
    last_permille = permille;
    snprintf(last_stage, sizeof(last_stage), "%s", stage);
    int width = 40, fill = permille * width / 1000;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r%-10s [%s] %5.1f%%", stage, bar, permille / 10.0);
    fflush(stderr);
    bar_drawn = true;
}

void
cli_setup_output(cli_env *env)
{
    events_json = env->json;
    bar_is_tty = !env->quiet && isatty(STDERR_FILENO);
    h2k_log_level lvl = env->quiet ? H2K_LOG_ERROR
                        : env->verbose >= 2 ? H2K_LOG_DEBUG
                        : env->verbose == 1 ? H2K_LOG_INFO
                                            : H2K_LOG_WARNING;
    h2k_ctx_set_log(env->ctx, on_log, NULL, lvl);
    if (!env->quiet)
        h2k_ctx_set_progress(env->ctx, on_progress, NULL);
}

int
cli_report_error(cli_env *env, int rc)
{
    const h2k_error *e = h2k_ctx_last_error(env->ctx);
    const char *msg = (e->message && *e->message) ? e->message : h2k_strerror(rc);
    cli_progress_finish();
    if (env->json) {
        json_object *o = json_object_new_object();
        json_object *je = json_object_new_object();
        json_object_object_add(je, "code", json_object_new_string(h2k_code_name(rc)));
        json_object_object_add(je, "message", json_object_new_string(msg));
        if (e->source_path)
            json_object_object_add(je, "source_path", json_object_new_string(e->source_path));
        if (e->output_path)
            json_object_object_add(je, "output_path", json_object_new_string(e->output_path));
        if (e->offset >= 0)
            json_object_object_add(je, "offset", json_object_new_int64(e->offset));
        if (e->field)
            json_object_object_add(je, "field", json_object_new_string(e->field));
        if (e->stage)
            json_object_object_add(je, "stage", json_object_new_string(e->stage));
        if (e->console_tail)
            json_object_object_add(je, "console_tail", json_object_new_string(e->console_tail));
        json_object_object_add(o, "error", je);
        cli_print_json(json_object_to_json_string_ext(
            o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else {
        fprintf(stderr, "hyper2kvm: error [%s]: %s\n", h2k_code_name(rc), msg);
        if (e->console_tail)
            fprintf(stderr, "--- console tail ---\n%s\n", e->console_tail);
    }
    return cli_exit_code(rc);
}

void
cli_print_json(const char *json)
{
    fputs(json ? json : "null", stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

bool
cli_parse_size(const char *s, unsigned long long *out)
{
    char *end = NULL;
    if (!s || !*s)
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned long long mul = 1;
    if (end == s)
        return false;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': mul = 1ULL << 10; break;
        case 'm': case 'M': mul = 1ULL << 20; break;
        case 'g': case 'G': mul = 1ULL << 30; break;
        case 't': case 'T': mul = 1ULL << 40; break;
        default: return false;
        }
        if (end[1] && !(end[1] == 'i' && end[2] == 'B' && !end[3]) &&
            !((end[1] == 'B' || end[1] == 'b') && !end[2]))
            return false;
    }
    if (v > ~0ULL / mul)
        return false;
    *out = v * mul;
    return true;
}
