/*
 * Prompt cancellation while libguestfs works.  A cancel used to wait for the
 * libguestfs call in flight (an initramfs rebuild runs minutes under TCG);
 * now the appliance is killed and the call fails at once.
 *
 *  - library: the fixer on an overlay of the Debian guest (which needs an
 *    initramfs rebuild) is cancelled from another thread once
 *    update-initramfs runs in the guest: H2K_ERR_CANCELLED naming the repair
 *    within 10 s, no child process left, the temporary folder empty, the
 *    source unchanged; the fixer ran all or nothing (atomic), so the disk it
 *    was given (that overlay) is unchanged too.
 *  - command line: `hyper2kvm local` gets SIGINT early in its fix stage,
 *    while the appliance launches: exit code 23 (CANCELLED) within 15 s, no
 *    output, no work folder, no qemu left behind.  `hyper2kvm fix` gets
 *    SIGINT inside update-initramfs: exit code 23 within 15 s and the image
 *    byte for byte as it was (all or nothing), no overlay left.
 * One appliance launch each.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testsupport.h"

#define CANCEL_LIMIT_LIB 10.0
#define CANCEL_LIMIT_CLI 15.0
/* seconds from "launching the libguestfs appliance" to SIGINT: qemu is up,
 * the launch (30-60 s under TCG) far from done */
#define LAUNCH_DELAY 5.0

static char *
debian_vmdk(void)
{
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/images/build-debian-guest.sh");
    const char *build[] = {"bash", script, NULL};
    char *out = NULL;
    if (ts_run(build, &out) != 0)
        fail_msg("building the Debian test guest failed:\n%s", out);
    char *vmdk = hk_strndup(out, strcspn(out, "\n"));
    free(out);
    free(script);
    return vmdk;
}

/* Temporary files (ours and libguestfs's) go to @tmp; the appliance cache stays
 * where it is, so that it is not rebuilt. */
static char *saved_tmpdir;

static void
use_tmpdir(const char *tmp)
{
    const char *t = getenv("TMPDIR");
    saved_tmpdir = t ? strdup(t) : NULL;
    if (!getenv("LIBGUESTFS_CACHEDIR"))
        setenv("LIBGUESTFS_CACHEDIR", t && *t ? t : "/var/tmp", 1);
    setenv("TMPDIR", tmp, 1);
}

static void
restore_tmpdir(void)
{
    if (saved_tmpdir)
        setenv("TMPDIR", saved_tmpdir, 1);
    else
        unsetenv("TMPDIR");
    free(saved_tmpdir);
    saved_tmpdir = NULL;
}

static char *
cmdline_of(const char *pid)
{
    char path[300];
    snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65537);
    size_t n = fread(buf, 1, 65536, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (!buf[i])
            buf[i] = ' ';
    return buf;
}

/* Processes that are children of this one, or whose command line names
 * @needle (when not NULL); their command lines are printed. */
static int
count_procs(const char *needle)
{
    DIR *d = opendir("/proc");
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    pid_t self = getpid();
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9' || atoi(e->d_name) == self)
            continue;
        char *cl = cmdline_of(e->d_name);
        if (!cl)
            continue;
        int ppid = -1;
        ts_proc_stat(e->d_name, NULL, 0, NULL, &ppid);
        if (ppid == self || (needle && strstr(cl, needle))) {
            print_error("left behind: pid %s: %.200s\n", e->d_name, cl);
            n++;
        }
        free(cl);
    }
    closedir(d);
    return n;
}

/* ------------------------------------------------------------ library */

typedef struct watch {
    h2k_ctx *ctx;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool rebuilding; /* update-initramfs started in the guest */
    bool done;       /* the fixer returned */
    double t_cancel;
} watch;

static void
on_log(void *ud, h2k_log_level level, const char *domain, const char *msg)
{
    watch *w = ud;
    if (level <= H2K_LOG_WARNING || getenv("H2K_TEST_DEBUG"))
        fprintf(stderr, "[%s] %s: %s\n", domain, level <= H2K_LOG_WARNING ? "warning" : "info",
                msg);
    if (strcmp(domain, "fix") == 0 && strstr(msg, "running in the guest: update-initramfs")) {
        pthread_mutex_lock(&w->lock);
        w->rebuilding = true;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
    }
}

static void *
canceller(void *arg)
{
    watch *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->rebuilding && !w->done)
        pthread_cond_wait(&w->cond, &w->lock);
    bool go = w->rebuilding && !w->done;
    pthread_mutex_unlock(&w->lock);
    if (!go)
        return NULL;
    usleep(1500 * 1000); /* well inside the rebuild (minutes under TCG) */
    w->t_cancel = hk_now();
    h2k_ctx_cancel(w->ctx);
    return NULL;
}

static void
test_fixer_cancel_during_initramfs(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    char *vmdk = debian_vmdk();
    char sha_before[65], sha_after[65];
    ts_sha256_file(vmdk, sha_before);
    char *dir = ts_mkdtemp();
    char *tmp = ts_join(dir, "tmp");
    assert_int_equal(mkdir(tmp, 0700), 0);
    use_tmpdir(tmp);
    char *overlay = ts_join(dir, "overlay.qcow2");
    const char *mk[] = {"qemu-img", "create", "-q",   "-f",    "qcow2", "-b",
                        vmdk,       "-F",     "vmdk", overlay, NULL};
    ts_run_ok(mk);

    watch w = {0};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    assert_int_equal(h2k_ctx_new(&w.ctx), 0);
    h2k_ctx *ctx = w.ctx;
    h2k_ctx_set_log(ctx, on_log, &w, H2K_LOG_INFO);
    assert_int_equal(h2k_ctx_set_tmpdir(ctx, tmp), 0);
    ts_allow_dir_of(ctx, vmdk); /* the overlay's backing file lies in the image cache */
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, canceller, &w), 0);

    h2k_fix_options fo = H2K_FIX_OPTIONS_INIT;
    fo.fixes = H2K_FIX_INITRAMFS; /* straight to the long call */
    fo.force_initramfs = 1;
    fo.atomic = 1; /* the disk (our overlay) must come out unchanged */
    char ov_before[65], ov_after[65];
    ts_sha256_file(overlay, ov_before);
    const char *disks[] = {overlay};
    const char *fmts[] = {"qcow2"};
    h2k_offline_fixer *fx = NULL;
    ts_assert_rc(ctx, h2k_offline_fixer_open(ctx, disks, fmts, 1, &fo, &fx), 0);
    int rc = h2k_offline_fixer_run_all(fx);
    double t_ret = hk_now();
    pthread_mutex_lock(&w.lock);
    w.done = true;
    pthread_cond_broadcast(&w.cond);
    pthread_mutex_unlock(&w.lock);
    pthread_join(tid, NULL);
    if (w.t_cancel == 0)
        fail_msg("the fixer never reached update-initramfs (rc %d: %s)", rc,
                 h2k_ctx_last_error(ctx)->message);
    ts_assert_rc(ctx, rc, H2K_ERR_CANCELLED);
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_non_null(e->stage);
    assert_string_equal(e->stage, "fix");
    if (!strstr(e->message, "initramfs"))
        fail_msg("the error does not name the repair: %s", e->message);
    double took = t_ret - w.t_cancel;
    print_message("cancel honoured in %.1f s: %s\n", took, e->message);
    if (took > CANCEL_LIMIT_LIB)
        fail_msg("the cancel took %.1f s (limit %.0f)", took, CANCEL_LIMIT_LIB);
    const h2k_fix_result *fr = h2k_offline_fixer_result_at(fx, 0);
    assert_non_null(fr);
    assert_int_equal(fr->status, H2K_FIX_STATUS_FAILED);
    /* a commit after the cancel commits nothing */
    ts_assert_rc(ctx, h2k_offline_fixer_commit(fx), H2K_ERR_CANCELLED);
    double t_close = hk_now();
    ts_assert_rc(ctx, h2k_offline_fixer_close(fx), 0);
    if (hk_now() - t_close > 5.0)
        fail_msg("closing the cancelled fixer took %.1f s", hk_now() - t_close);

    /* nothing left: no appliance, no temporary file, the source as it was */
    assert_int_equal(count_procs(NULL), 0);
    assert_int_equal(ts_count_dir(tmp), 0); /* the fixer's overlays are gone too */
    ts_sha256_file(vmdk, sha_after);
    assert_string_equal(sha_before, sha_after);
    ts_sha256_file(overlay, ov_after);
    assert_string_equal(ov_before, ov_after); /* all or nothing: nothing */

    restore_tmpdir();
    h2k_ctx_free(ctx);
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    ts_rmtree(dir);
    free(overlay);
    free(tmp);
    free(dir);
    free(vmdk);
}

/* ------------------------------------------------------ command line */

typedef struct cli_run {
    int status;  /* as waitpid() gives it */
    double took; /* seconds from the SIGINT to the exit */
    hk_buf out;  /* stdout and stderr */
} cli_run;

/* Runs the CLI with @args (after argv[0], NULL-terminated), stdout and stderr
 * into r->out; @delay seconds after its output first contains @trigger it
 * gets SIGINT.  Fails the test when the trigger never comes (600 s) or the
 * CLI is still running 60 s after the SIGINT. */
static void
sigint_cli(const char *const *args, const char *trigger, double delay, cli_run *r)
{
    const char *cli = ts_env("H2K_CLI");
    const char *argv[16] = {cli};
    size_t na = 1;
    for (size_t i = 0; args[i] && na < HK_ARRAY_LEN(argv) - 1; i++)
        argv[na++] = args[i];
    memset(r, 0, sizeof(*r));
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        dup2(fds[1], STDOUT_FILENO);
        int null = open("/dev/null", O_RDWR);
        dup2(null, STDIN_FILENO);
        close(fds[0]);
        execv(cli, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    char buf[4096];
    double t_sig = 0, t_trigger = 0, t0 = hk_now();
    for (;;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        int n = poll(&p, 1, 200);
        if (n < 0 && errno == EINTR)
            continue;
        if (t_sig == 0 && hk_now() - t0 > 600) {
            kill(pid, SIGKILL);
            fail_msg("no \"%s\" after 600 s:\n%s", trigger, r->out.data ? r->out.data : "");
        }
        if (t_sig && hk_now() - t_sig > 60) {
            kill(pid, SIGKILL);
            fail_msg("still running 60 s after SIGINT:\n%s", r->out.data ? r->out.data : "");
        }
        if (t_sig == 0 && t_trigger && hk_now() - t_trigger >= delay) {
            t_sig = hk_now();
            assert_int_equal(kill(pid, SIGINT), 0);
        }
        if (n == 0)
            continue;
        ssize_t got = read(fds[0], buf, sizeof(buf));
        if (got <= 0)
            break;
        size_t from = r->out.len > strlen(trigger) ? r->out.len - strlen(trigger) : 0;
        hk_buf_append(&r->out, buf, (size_t)got);
        if (t_trigger == 0 && strstr(r->out.data + from, trigger))
            t_trigger = hk_now();
    }
    close(fds[0]);
    assert_int_equal(waitpid(pid, &r->status, 0), pid);
    if (t_sig == 0)
        fail_msg("exited before \"%s\" was seen:\n%s", trigger, r->out.data ? r->out.data : "");
    r->took = hk_now() - t_sig;
    print_message("SIGINT honoured in %.1f s\n", r->took);
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 23)
        fail_msg("exit status %d (want 23, CANCELLED):\n%s", r->status, r->out.data);
    if (r->took > CANCEL_LIMIT_CLI)
        fail_msg("the cancel took %.1f s (limit %.0f):\n%s", r->took, CANCEL_LIMIT_CLI,
                 r->out.data);
}

static void
test_cli_local_sigint_in_fix(void **state)
{
    (void)state;
    char *vmdk = debian_vmdk();
    char *dir = ts_mkdtemp();
    char *tmp = ts_join(dir, "tmp");
    char *out = ts_join(dir, "out");
    assert_int_equal(mkdir(tmp, 0700), 0);
    use_tmpdir(tmp);

    /* events and log on stderr, the error document on stdout */
    const char *args[] = {"--json", "-v",     "local",    "--input", vmdk,        "--output-dir",
                          out,      "--name", "cancelvm", "--fixes", "initramfs", NULL};
    cli_run r;
    sigint_cli(args, "launching the libguestfs appliance", LAUNCH_DELAY, &r);
    const char *fix_event = strstr(r.out.data, "\"event\":\"progress\",\"stage\":\"fix\"");
    const char *launch = strstr(r.out.data, "launching the libguestfs appliance");
    if (!fix_event || fix_event > launch)
        fail_msg("the appliance launches outside the fix stage:\n%s", r.out.data);
    if (!strstr(r.out.data, "\"CANCELLED\""))
        fail_msg("no CANCELLED error reported:\n%s", r.out.data);

    /* no partial output, no work folder, no appliance left running */
    if (ts_exists(out) && ts_count_dir(out) != 0)
        fail_msg("partial outputs left in %s", out);
    assert_int_equal(ts_count_dir(tmp), 0);
    assert_int_equal(count_procs(dir), 0);

    restore_tmpdir();
    hk_buf_free(&r.out);
    ts_rmtree(dir);
    free(out);
    free(tmp);
    free(dir);
    free(vmdk);
}

/* `hyper2kvm fix` is all or nothing: SIGINT inside the initramfs rebuild
 * leaves the image it was repairing byte for byte as it was. */
static void
test_cli_fix_sigint_leaves_image(void **state)
{
    (void)state;
    char *vmdk = debian_vmdk();
    char *dir = ts_mkdtemp();
    char *tmp = ts_join(dir, "tmp");
    assert_int_equal(mkdir(tmp, 0700), 0);
    use_tmpdir(tmp);
    char *image = ts_join(dir, "guest.qcow2");
    const char *mk[] = {"qemu-img", "create", "-q",   "-f",  "qcow2", "-b",
                        vmdk,       "-F",     "vmdk", image, NULL};
    ts_run_ok(mk);
    char before[65], after[65];
    ts_sha256_file(image, before);

    char *cache = ts_dir_of(vmdk); /* the overlay's backing file lies there */
    const char *args[] = {"-v",        "--allow-path",      cache, "fix", image, "--only",
                          "initramfs", "--force-initramfs", NULL};
    cli_run r;
    sigint_cli(args, "running in the guest: update-initramfs", 1.5, &r);
    if (!strstr(r.out.data, "CANCELLED"))
        fail_msg("no CANCELLED error reported:\n%s", r.out.data);
    if (strstr(r.out.data, "repairs written into"))
        fail_msg("the cancelled repair was committed:\n%s", r.out.data);

    ts_sha256_file(image, after);
    assert_string_equal(before, after);
    assert_int_equal(ts_count_dir(tmp), 0); /* the overlays are gone */
    assert_int_equal(count_procs(dir), 0);

    restore_tmpdir();
    hk_buf_free(&r.out);
    ts_rmtree(dir);
    free(image);
    free(tmp);
    free(dir);
    free(vmdk);
    free(cache);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixer_cancel_during_initramfs),
        cmocka_unit_test(test_cli_local_sigint_in_fix),
        cmocka_unit_test(test_cli_fix_sigint_leaves_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
