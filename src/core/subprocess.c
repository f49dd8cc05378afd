/*
 * Running external programs (qemu-img, qemu-system, guest tools): an argv,
 * never a shell; stdout split into lines for progress parsing; the tail of
 * stderr kept for error messages; timeout and cancellation kill the whole
 * process group.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

#define TAIL_MAX 4096
#define LINE_MAX_LEN 65536

char *
hk_find_program(const char *prog)
{
    if (!prog || !*prog)
        return NULL;
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0 ? strdup(prog) : NULL;
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
    const char *p = path;
    while (*p) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *dir = n ? hk_strndup(p, n) : strdup(".");
        char *full = dir ? hk_path_join(dir, prog) : NULL;
        free(dir);
        struct stat st;
        if (full && stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
            return full;
        free(full);
        p += n;
        if (*p == ':')
            p++;
    }
    return NULL;
}

typedef struct stream {
    int fd;
    hk_buf line; /* partial line */
    char tail[TAIL_MAX];
    size_t tail_len;
} stream;

static void
tail_add(stream *s, const char *data, size_t n)
{
    if (n >= TAIL_MAX) {
        memcpy(s->tail, data + n - TAIL_MAX, TAIL_MAX);
        s->tail_len = TAIL_MAX;
        return;
    }
    if (s->tail_len + n > TAIL_MAX) {
        size_t drop = s->tail_len + n - TAIL_MAX;
        memmove(s->tail, s->tail + drop, s->tail_len - drop);
        s->tail_len -= drop;
    }
    memcpy(s->tail + s->tail_len, data, n);
    s->tail_len += n;
}

static void
emit_lines(stream *s, const char *data, size_t n, const hk_run_opts *o, bool flush)
{
    if (!o || !o->on_stdout_line)
        return;
    for (size_t i = 0; i < n; i++) {
        char c = data[i];
        if (c == '\n' || (o->split_cr && c == '\r')) {
            if (s->line.data && !s->line.oom)
                o->on_stdout_line(o->userdata, s->line.data);
            else if (!s->line.data)
                o->on_stdout_line(o->userdata, "");
            hk_buf_free(&s->line);
        } else if (s->line.len < LINE_MAX_LEN) {
            hk_buf_append(&s->line, &c, 1);
        }
    }
    if (flush && s->line.len) {
        o->on_stdout_line(o->userdata, s->line.data);
        hk_buf_free(&s->line);
    }
}

static char *
tail_string(const stream *s)
{
    return hk_strndup(s->tail, s->tail_len);
}

static void
kill_group(pid_t pid)
{
    kill(-pid, SIGTERM);
    for (int i = 0; i < 50; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid || r < 0)
            goto reaped;
        usleep(100 * 1000);
    }
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return;
reaped:
    kill(-pid, SIGKILL); /* stray grandchildren of the group */
}

void
hk_run_result_clear(hk_run_result *res)
{
    if (!res)
        return;
    free(res->stderr_tail);
    free(res->stdout_tail);
    memset(res, 0, sizeof(*res));
}

static char **
build_env(const char *const *extra)
{
    size_t n = 0, m = 0;
    while (environ[n])
        n++;
    while (extra && extra[m])
        m++;
    char **env = calloc(n + m + 1, sizeof(char *));
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool overridden = false;
        const char *eq = strchr(environ[i], '=');
        size_t klen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        for (size_t j = 0; j < m; j++)
            if (strncmp(extra[j], environ[i], klen) == 0 && extra[j][klen] == '=')
                overridden = true;
        if (!overridden)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++)
        env[k++] = (char *)extra[j];
    env[k] = NULL;
    return env;
}

int
hk_run(h2k_ctx *ctx, const char *const *argv, const hk_run_opts *opts, hk_run_result *res)
{
    memset(res, 0, sizeof(*res));
    if (!argv || !argv[0])
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "hk_run: empty argv");
    char *prog = hk_find_program(argv[0]);
    if (!prog)
        return hk_error(ctx, H2K_ERR_NOT_FOUND, "program not found in PATH: %s", argv[0]);

    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    int rc = 0;
    char **env = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    bool fa_init = false, attr_init = false;
    pid_t pid = -1;
    stream so = {.fd = -1}, se = {.fd = -1};

    if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
        rc = hk_error_errno(ctx, errno, NULL, "pipe");
        goto out;
    }
    if (posix_spawn_file_actions_init(&fa) != 0) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    fa_init = true;
    posix_spawn_file_actions_addopen(&fa, 0,
                                     opts && opts->stdin_file ? opts->stdin_file : "/dev/null",
                                     O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
    if (opts && opts->cwd)
        posix_spawn_file_actions_addchdir_np(&fa, opts->cwd);
    if (posix_spawnattr_init(&attr) != 0) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    attr_init = true;
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    posix_spawnattr_setsigdefault(&attr, &def);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETSIGMASK);
    env = build_env(opts ? opts->envp : NULL);
    if (!env) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    {
        hk_buf cmd = {0};
        for (size_t i = 0; argv[i]; i++)
            hk_buf_printf(&cmd, "%s%s", i ? " " : "", argv[i]);
        hk_debug(ctx, "run", "running: %s", cmd.data ? cmd.data : argv[0]);
        hk_buf_free(&cmd);
    }
    int sp = posix_spawn(&pid, prog, &fa, &attr, (char *const *)argv, env);
    if (sp != 0) {
        pid = -1;
        rc = hk_error(ctx, H2K_ERR_IO, "cannot start %s: %s", argv[0], strerror(sp));
        goto out;
    }
    close(out_pipe[1]);
    out_pipe[1] = -1;
    close(err_pipe[1]);
    err_pipe[1] = -1;
    so.fd = out_pipe[0];
    se.fd = err_pipe[0];
    out_pipe[0] = err_pipe[0] = -1;

    double deadline = (opts && opts->timeout_seconds) ? hk_now() + opts->timeout_seconds : 0;
    char chunk[8192];
    while (so.fd >= 0 || se.fd >= 0) {
        struct pollfd pfd[2];
        int np = 0;
        if (so.fd >= 0)
            pfd[np++] = (struct pollfd){.fd = so.fd, .events = POLLIN};
        if (se.fd >= 0)
            pfd[np++] = (struct pollfd){.fd = se.fd, .events = POLLIN};
        int pr = poll(pfd, (nfds_t)np, 200);
        if (pr < 0 && errno != EINTR) {
            rc = hk_error_errno(ctx, errno, NULL, "poll");
            break;
        }
        for (int i = 0; i < np && pr > 0; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            stream *s = pfd[i].fd == so.fd ? &so : &se;
            ssize_t n = read(s->fd, chunk, sizeof(chunk));
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0) {
                if (s == &so)
                    emit_lines(s, NULL, 0, opts, true);
                close(s->fd);
                s->fd = -1;
                continue;
            }
            tail_add(s, chunk, (size_t)n);
            if (s == &so)
                emit_lines(s, chunk, (size_t)n, opts, false);
        }
        if (!(opts && opts->ignore_cancel) && h2k_ctx_is_cancelled(ctx)) {
            res->cancelled = true;
            break;
        }
        if (deadline && hk_now() > deadline) {
            res->timed_out = true;
            break;
        }
    }
    if (res->cancelled || res->timed_out || rc < 0) {
        kill_group(pid);
        res->exit_status = -1;
    } else {
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        res->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    pid = -1;
    res->stderr_tail = tail_string(&se);
    res->stdout_tail = tail_string(&so);
    if (rc == 0 && res->cancelled)
        rc = hk_error(ctx, H2K_ERR_CANCELLED, "%s: cancelled", argv[0]);
    else if (rc == 0 && res->timed_out)
        rc = hk_error(ctx, H2K_ERR_TIMEOUT, "%s: timed out after %u s", argv[0],
                      opts->timeout_seconds);

out:
    if (pid > 0)
        kill_group(pid);
    for (int i = 0; i < 2; i++) {
        if (out_pipe[i] >= 0)
            close(out_pipe[i]);
        if (err_pipe[i] >= 0)
            close(err_pipe[i]);
    }
    if (so.fd >= 0)
        close(so.fd);
    if (se.fd >= 0)
        close(se.fd);
    hk_buf_free(&so.line);
    hk_buf_free(&se.line);
    if (fa_init)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_init)
        posix_spawnattr_destroy(&attr);
    free(env);
    free(prog);
    return rc;
}

int
hk_run_qemu_img(h2k_ctx *ctx, const char *const *argv, const hk_run_opts *opts, const char *path,
                const char *what)
{
    hk_run_result rr;
    memset(&rr, 0, sizeof(rr));
    int rc = hk_run(ctx, argv, opts, &rr);
    if (rc == 0 && rr.exit_status != 0)
        rc = hk_error_at(ctx, H2K_ERR_IO, path, -1, NULL, "qemu-img %s failed (exit %d): %s", what,
                         rr.exit_status, rr.stderr_tail ? rr.stderr_tail : "");
    hk_run_result_clear(&rr);
    return rc;
}

/* qemu-img create of a qcow2 @overlay whose header names @backing_name (of
 * format @backing_fmt); errors name @path, the file the backing is read from. */
static int
create_overlay(h2k_ctx *ctx, const char *backing_name, const char *path, const char *backing_fmt,
               const char *overlay)
{
    const char *argv[] = {"qemu-img",  "create", "-q",         "-f",    "qcow2", "-F",
                          backing_fmt, "-b",     backing_name, overlay, NULL};
    hk_run_opts ro = {0};
    ro.timeout_seconds = 120;
    char *what = hk_asprintf("create of the overlay %s", overlay);
    int rc = hk_run_qemu_img(ctx, argv, &ro, path, what ? what : "create of the overlay");
    free(what);
    /* it exposes the source's data: private, whatever the umask */
    if (rc == 0)
        rc = hk_output_mode_path(ctx, overlay, 0600, NULL);
    /* its backing file is ours to follow when the overlay is probed again */
    if (rc == 0)
        rc = hk_ctx_trust_file(ctx, overlay);
    return rc;
}

int
hk_qcow2_overlay_window(h2k_ctx *ctx, const char *container, uint64_t offset, uint64_t size,
                        const char *backing_fmt, const char *overlay)
{
    char *abs = hk_abspath(container);
    if (!abs)
        return hk_error_nomem(ctx);
    char *name = hk_window_json(backing_fmt, abs, offset, size);
    if (!name) {
        int rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, abs, (int64_t)offset, NULL,
                             "the image at offset %llu cannot be named for qemu in place "
                             "(its file name needs escaping)",
                             (unsigned long long)offset);
        free(abs);
        return rc;
    }
    int rc = create_overlay(ctx, name, abs, backing_fmt, overlay);
    free(name);
    free(abs);
    return rc;
}

int
hk_qcow2_overlay(h2k_ctx *ctx, const char *backing, const char *backing_fmt, const char *overlay)
{
    /* The overlay's header pins its backing file: an absolute file name (qemu
     * takes a relative one against the overlay's folder) that qemu cannot read
     * as a protocol, and its format (-F). */
    if (!backing_fmt || !*backing_fmt)
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, backing, -1, NULL,
                           "an overlay needs the format of its backing file");
    char *abs = hk_abspath(backing);
    if (!abs)
        return hk_error_nomem(ctx);
    int rc = create_overlay(ctx, abs, abs, backing_fmt, overlay);
    free(abs);
    return rc;
}
