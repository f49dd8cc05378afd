/* Azure peers for integration tests (see azure.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "azure.h"

static char *
slurp(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    h2k_ctx *ctx = NULL;
    assert_int_equal(h2k_ctx_new(&ctx), 0);
    if (hk_read_file(ctx, path, 64u << 20, &text, &len) < 0)
        text = NULL;
    h2k_ctx_free(ctx);
    return text;
}

void
ts_azure_init(ts_azure *a)
{
    memset(a, 0, sizeof(*a));
    const char *dir = getenv("H2K_AZURITE_DIR");
    if (!dir || !*dir)
        fail_msg("H2K_AZURITE_DIR is not set: run this test through ctest (fixture "
                 "fixture/azurite-start starts Azurite)");
    char *pf = ts_join(dir, "port");
    char *port = slurp(pf);
    if (!port)
        fail_msg("Azurite is not running: %s is missing (fixture/azurite-start failed?)", pf);
    snprintf(a->azurite, sizeof(a->azurite), "https://127.0.0.1:%d/devstoreaccount1", atoi(port));
    a->ca = ts_join(dir, "cert.pem");
    free(port);
    free(pf);
}

uint64_t
ts_azure_seed(const ts_azure *a, const char *blob, const char *file)
{
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "tests/azure/arm_standin.py");
    char url[512];
    snprintf(url, sizeof(url), "%s/%s", a->azurite, blob);
    const char *argv[] = {"python3", script, "seed",   "--blob-url", url,
                          "--ca",    a->ca,  "--file", file,         NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0)
        fail_msg("seeding %s failed (%d): %s", blob, st, out);
    uint64_t n = strtoull(out, NULL, 10);
    free(out);
    free(script);
    return n;
}

void
ts_azure_start(ts_azure *a, const char *config)
{
    ts_require_program("python3");
    a->dir = ts_mkdtemp();
    hk_buf b = {0};
    for (const char *p = config; *p;) {
        const char *m = strstr(p, "@AZURITE@");
        if (!m) {
            hk_buf_puts(&b, p);
            break;
        }
        hk_buf_append(&b, p, (size_t)(m - p));
        hk_buf_puts(&b, a->azurite);
        p = m + strlen("@AZURITE@");
    }
    char *cfg = ts_join(a->dir, "config.json");
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fputs(b.data, f);
    fclose(f);
    hk_buf_free(&b);
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "tests/azure/arm_standin.py");
    char *portf = ts_join(a->dir, "port");
    char *events = ts_join(a->dir, "events");
    char *log = ts_join(a->dir, "log");
    char *key = strdup(a->ca);
    strcpy(strrchr(key, '/') + 1, "key.pem");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp("python3", "python3", script, "serve", "--config", cfg, "--cert", a->ca, "--key",
               key, "--port-file", portf, "--events", events, (char *)NULL);
        _exit(127);
    }
    a->pid = pid;
    char *port = NULL;
    for (int i = 0; i < 300 && !(port = slurp(portf)); i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            a->pid = 0;
            char *l = slurp(log);
            fail_msg("the ARM stand-in exited at start: %s", l ? l : "");
        }
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    if (!port)
        fail_msg("the ARM stand-in did not start in 30 s");
    snprintf(a->url, sizeof(a->url), "https://127.0.0.1:%d", atoi(port));
    free(port);
    free(script);
    free(portf);
    free(events);
    free(log);
    free(key);
    free(cfg);
}

void
ts_azure_stop(ts_azure *a)
{
    if (a->pid > 0) {
        kill(a->pid, SIGTERM);
        int st;
        for (int i = 0; i < 50; i++) {
            if (waitpid(a->pid, &st, WNOHANG) == a->pid) {
                a->pid = 0;
                break;
            }
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
        if (a->pid > 0) {
            kill(a->pid, SIGKILL);
            waitpid(a->pid, &st, 0);
        }
        a->pid = 0;
    }
    if (a->dir) {
        ts_rmtree(a->dir);
        free(a->dir);
        a->dir = NULL;
    }
    free(a->ca);
    a->ca = NULL;
}

char *
ts_azure_events(const ts_azure *a)
{
    char *p = ts_join(a->dir, "events");
    char *t = slurp(p);
    free(p);
    return t ? t : strdup("");
}

int
ts_azure_count(const ts_azure *a, const char *line)
{
    char *t = ts_azure_events(a);
    int n = 0;
    size_t l = strlen(line);
    for (char *p = t; p && *p;) {
        char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == l && strncmp(p, line, l) == 0)
            n++;
        p = e ? e + 1 : p + len;
    }
    free(t);
    return n;
}

void
ts_azure_clear_events(const ts_azure *a)
{
    char *p = ts_join(a->dir, "events");
    FILE *f = fopen(p, "w");
    if (f)
        fclose(f);
    free(p);
}
