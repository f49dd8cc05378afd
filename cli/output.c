/* hyper2kvm command-line tool: logging, progress bar, JSON events, errors. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"

static double
now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

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
    case H2K_LOG_ERROR:
        return "error";
    case H2K_LOG_WARNING:
        return "warning";
    case H2K_LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

void
cli_progress_finish(cli_env *env)
{
    if (env && env->out.bar_drawn) {
        fputc('\n', stderr);
        env->out.bar_drawn = false;
    }
}

static void
on_log(void *ud, h2k_log_level level, const char *domain, const char *msg)
{
    cli_env *env = ud;
    if (env->out.events_json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "event", json_object_new_string("log"));
        json_object_object_add(o, "level", json_object_new_string(level_name(level)));
        json_object_object_add(o, "domain", json_object_new_string(domain ? domain : ""));
        json_object_object_add(o, "message", json_object_new_string(msg ? msg : ""));
        fprintf(stderr, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return;
    }
    cli_progress_finish(env);
    char *d = cli_escape(domain ? domain : "", false), *m = cli_escape(msg ? msg : "", false);
    fprintf(stderr, "hyper2kvm: %s: %s: %s\n", level_name(level), d ? d : "?", m ? m : "?");
    free(d);
    free(m);
}

static void
on_progress(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    cli_env *env = ud;
    cli_output_state *st = &env->out;
    int permille = total ? (int)((done * 1000) / total) : 0;
    if (permille > 1000)
        permille = 1000;
    if (!stage)
        stage = "";
    bool stage_changed = strncmp(stage, st->last_stage, sizeof(st->last_stage)) != 0;
    if (st->events_json) {
        double now = now_seconds();
        if (!stage_changed && permille != 1000 && now - st->last_event < 0.5 &&
            permille - st->last_permille < 50)
            return;
        st->last_event = now;
        snprintf(st->last_stage, sizeof(st->last_stage), "%s", stage);
        st->last_permille = permille;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "event", json_object_new_string("progress"));
        json_object_object_add(o, "stage", json_object_new_string(stage));
        json_object_object_add(o, "done", json_object_new_int64((int64_t)done));
        json_object_object_add(o, "total", json_object_new_int64((int64_t)total));
        fprintf(stderr, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return;
    }
    if (!st->bar_is_tty)
        return;
    if (permille == st->last_permille && !stage_changed)
        return;
    st->last_permille = permille;
    snprintf(st->last_stage, sizeof(st->last_stage), "%s", stage);
    int width = 40, fill = permille * width / 1000;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    char *safe = cli_escape(stage, false);
    fprintf(stderr, "\r%-10s [%s] %5.1f%%", safe ? safe : "?", bar, permille / 10.0);
    free(safe);
    fflush(stderr);
    st->bar_drawn = true;
}

void
cli_setup_output(cli_env *env)
{
    env->out.events_json = env->json;
    env->out.bar_is_tty = !env->quiet && isatty(STDERR_FILENO);
    env->out.last_permille = -1;
    h2k_log_level lvl = env->quiet          ? H2K_LOG_ERROR
                        : env->verbose >= 2 ? H2K_LOG_DEBUG
                        : env->verbose == 1 ? H2K_LOG_INFO
                                            : H2K_LOG_WARNING;
    h2k_ctx_set_log(env->ctx, on_log, env, lvl);
    if (!env->quiet)
        h2k_ctx_set_progress(env->ctx, on_progress, env);
}

int
cli_report_error(cli_env *env, int rc)
{
    const h2k_error *e = h2k_ctx_last_error(env->ctx);
    const char *msg = (e->message && *e->message) ? e->message : h2k_strerror(rc);
    cli_progress_finish(env);
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
        cli_print_json(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else {
        fprintf(stderr, "hyper2kvm: error [%s]: %s\n", h2k_code_name(rc), cli_safe(env, msg));
        if (e->console_tail)
            fprintf(stderr, "--- console tail ---\n%s\n", cli_safe_lines(env, e->console_tail));
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

void
cli_print_json_free(json_object *o)
{
    cli_print_json(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
    json_object_put(o);
}

int
cli_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text ? text : "", f);
    return fclose(f);
}

void
cli_json_add_string(json_object *o, const char *key, const char *s)
{
    json_object_object_add(o, key, s ? json_object_new_string(s) : NULL);
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
        case 'k':
        case 'K':
            mul = 1ULL << 10;
            break;
        case 'm':
        case 'M':
            mul = 1ULL << 20;
            break;
        case 'g':
        case 'G':
            mul = 1ULL << 30;
            break;
        case 't':
        case 'T':
            mul = 1ULL << 40;
            break;
        default:
            return false;
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

bool
cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int
cli_apply_globals(cli_env *env, const cli_parsed *p, int pass)
{
    for (size_t i = 0; i < p->n_items; i++) {
        const cli_item *it = &p->items[i];
        if (pass == 0) {
            switch (it->opt->id) {
            case OPT_JSON:
                env->json = true;
                break;
            case OPT_VERBOSE:
                env->verbose++;
                break;
            case OPT_QUIET:
                env->quiet = true;
                break;
            default:
                break;
            }
        } else if (it->opt->id == OPT_ALLOW_PATH && env->ctx) {
            int rc = h2k_ctx_allow_path(env->ctx, it->value);
            if (rc < 0)
                return cli_report_error(env, rc);
        }
    }
    return 0;
}

void
cli_env_release(cli_env *env)
{
    for (size_t i = 0; i < env->n_strpool; i++)
        free(env->strpool[i]);
    free(env->strpool);
    env->strpool = NULL;
    env->n_strpool = env->cap_strpool = 0;
}

/* ---- untrusted text ---------------------------------------------------- */

/* Length of the UTF-8 sequence at @s (1..4), or 0 when it is not valid UTF-8;
 * *cp receives the code point. */
static size_t
utf8_seq(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, c &= 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, c &= 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, c &= 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

char *
cli_escape(const char *s, bool keep_newlines)
{
    if (!s)
        s = "";
    size_t len = strlen(s);
    /* worst case: every byte becomes "\xNN" (4 bytes), or a 2-byte C1 "\u00NN" (6) */
    char *out = malloc(len * 4 + 1);
    if (!out)
        return NULL;
    char *o = out;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp;
        size_t n = utf8_seq(p, &cp);
        if (n == 0) {
            o += sprintf(o, "\\x%02x", *p);
            p++;
        } else if (cp == '\\') {
            *o++ = '\\';
            *o++ = '\\';
            p++;
        } else if (keep_newlines && (cp == '\n' || cp == '\t')) {
            *o++ = (char)cp;
            p++;
        } else if (cp < 0x20 || cp == 0x7f) {
            o += sprintf(o, "\\x%02x", cp);
            p++;
        } else if (cp >= 0x80 && cp <= 0x9f) {
            o += sprintf(o, "\\u%04x", cp);
            p += n;
        } else {
            memcpy(o, p, n);
            o += n;
            p += n;
        }
    }
    *o = '\0';
    return out;
}

static const char *
pool_keep(cli_env *env, char *s)
{
    if (!s)
        return "?";
    if (env->n_strpool == env->cap_strpool) {
        size_t cap = env->cap_strpool ? env->cap_strpool * 2 : 16;
        char **n = realloc(env->strpool, cap * sizeof(*n));
        if (!n) {
            free(s);
            return "?";
        }
        env->strpool = n;
        env->cap_strpool = cap;
    }
    env->strpool[env->n_strpool++] = s;
    return s;
}

const char *
cli_safe(cli_env *env, const char *s)
{
    return s ? pool_keep(env, cli_escape(s, false)) : "-";
}

const char *
cli_safe_lines(cli_env *env, const char *s)
{
    return s ? pool_keep(env, cli_escape(s, true)) : "-";
}

/* ---- secrets ----------------------------------------------------------- */

int
cli_take_secret_env(const char *var, char **out)
{
    *out = NULL;
    char *v = getenv(var);
    if (!v)
        return -1;
    char *copy = strdup(v);
    if (!copy)
        return -2;
    /* wipe the value where it lies (also what /proc/PID/environ shows), then
     * drop the variable so that no child process inherits it */
    explicit_bzero(v, strlen(v));
    unsetenv(var);
    *out = copy;
    return 0;
}

void
cli_secret_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

char *
cli_read_secret_file(const char *path, const char *what)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "hyper2kvm: cannot read the %s file %s: %s\n", what, path, strerror(errno));
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (n <= 0) {
        if (line)
            explicit_bzero(line, cap);
        free(line);
        fprintf(stderr, "hyper2kvm: the %s file %s is empty\n", what, path);
        return NULL;
    }
    return line;
}
