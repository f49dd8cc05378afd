/*
 * Supervised VM processes: qemu runs in its own process group and receives
 * SIGKILL if the thread that started it dies (crash, abort, sanitizer exit),
 * so that no VM is ever left behind.  Stopped by pid, never by name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot_internal.h"

extern char **environ;

int
hk_proc_spawn(h2k_ctx *ctx, const char *const *argv, const char *log_path, pid_t *pid_out)
{
    *pid_out = -1;
    char *prog = hk_find_program(argv[0]);
    if (!prog)
        return hk_error(ctx, H2K_ERR_NOT_FOUND, "program not found in PATH: %s", argv[0]);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = log_path ? open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
                       : open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (in < 0 || out < 0) {
        int e = errno;
        if (in >= 0)
            close(in);
        if (out >= 0)
            close(out);
        free(prog);
        return hk_error_errno(ctx, e, log_path, "cannot open");
    }
    {
        hk_buf cmd = {0};
        for (size_t i = 0; argv[i]; i++)
            hk_buf_printf(&cmd, "%s%s", i ? " " : "", argv[i]);
        hk_debug(ctx, "test", "running: %s", cmd.data ? cmd.data : argv[0]);
        hk_buf_free(&cmd);
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* child: async-signal-safe calls only */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_DFL;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGPIPE, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
            _exit(127);
        execve(prog, (char *const *)argv, environ);
        _exit(127);
    }
    int e = errno;
    close(in);
    close(out);
    free(prog);
    if (pid < 0)
        return hk_error_errno(ctx, e, NULL, "fork");
    setpgid(pid, pid); /* also from here, so the group exists before any kill */
    *pid_out = pid;
    return 0;
}

bool
hk_proc_exited(pid_t pid, int *status)
{
    /* WNOWAIT: the child stays a zombie until hk_proc_stop(), so its pid and
     * group id cannot be reused by another process before we are done */
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    int r;
    do
        r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        if (status)
            *status = -1;
        return true;
    }
    if (si.si_pid == 0)
        return false;
    if (status)
        *status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
    return true;
}

void
hk_proc_stop(pid_t pid, unsigned grace_ms)
{
    if (pid <= 0)
        return;
    if (!hk_proc_exited(pid, NULL)) {
        kill(-pid, SIGTERM);
        for (unsigned waited = 0; waited < grace_ms; waited += 50) {
            if (hk_proc_exited(pid, NULL))
                break;
            usleep(50 * 1000);
        }
    }
    /* the leader is alive or a zombie: the group id is still ours */
    kill(-pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}
