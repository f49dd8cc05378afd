/*
 * Runs killed outright, and signals.
 *
 *  - `hyper2kvm local` is killed with SIGKILL while it copies the OVA member
 *    into its work folder, and again while qemu-img writes the output; each
 *    time a rerun of the same command succeeds and leaves no work folder and
 *    no ".part" file, and its output is identical to the source.
 *  - `local` is also killed at the probe, at the XML, at the define and at the
 *    report stage (exactly there: see run_killed_at()); each time the rerun
 *    succeeds and leaves nothing behind, and the source is unchanged.
 *  - `hyper2kvm batch` (two VMs, two jobs) is killed while it writes; the
 *    rerun finishes both VMs, nothing is left over.
 *  - A run that is alive (stopped with SIGSTOP in the middle of its copy) keeps
 *    its work folder and its ".part" file while another output is migrated;
 *    a work folder whose owner file names a live process and the same output
 *    is never removed, one naming a dead process is.
 *  - SIGTERM stops `local` while it hashes the member (manifest check) and
 *    while qemu-img copies, and `batch` while it copies: exit code 23
 *    (cancelled) within a few seconds, nothing left behind.
 *  - A FIFO given as an input (disk, OVA, OVF, VMX) or as a qcow2 backing
 *    file never blocks a command: it is refused at once, naming the file.
 * The disks are raw members of a few dozen MiB: quick to make, slow enough to
 * be caught in the middle of a copy.
 */
#define _GNU_SOURCE
#include <dirent.h>
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

#include "ova_helpers.h"
#include "testsupport.h"

#define DISK_MIB 96
#define WAIT_LIMIT 60.0

/* ---------------------------------------------------------- helpers */

static pid_t
spawn(const char *const *argv, const char *log)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Exit status of @pid (128 + signal when killed). */
static int
wait_exit(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The first entry of @dir (recursively, one level of subfolders) whose name
 * contains @needle, with at least @min_size bytes; caller frees; NULL if none. */
static char *
find_entry(const char *dir, const char *needle, off_t min_size, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char *found = NULL;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || e->d_name[1] == '.'))
            continue;
        char *p = ts_join(dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0) {
            if (strstr(e->d_name, needle) && sb.st_size >= min_size)
                found = strdup(p);
            else if (S_ISDIR(sb.st_mode) && depth > 0)
                found = find_entry(p, needle, min_size, depth - 1);
        }
        free(p);
    }
    closedir(d);
    return found;
}

/* Waits until find_entry() finds something (then returns it) or @pid ends. */
static char *
wait_for(pid_t pid, const char *dir, const char *needle, off_t min_size)
{
    double end = hk_now() + WAIT_LIMIT;
    while (hk_now() < end) {
        char *f = find_entry(dir, needle, min_size, 2);
        if (f)
            return f;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            fail_msg("the command ended before %s appeared in %s", needle, dir);
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("%s did not appear in %s within %.0f s", needle, dir, WAIT_LIMIT);
    return NULL;
}

static void
assert_clean(const char *tmp, const char *out)
{
    char *w = find_entry(tmp, "h2k-run-", 0, 0);
    if (w)
        fail_msg("work folder left behind: %s", w);
    char *p = find_entry(out, ".part", 0, 2);
    if (p)
        fail_msg("temporary output left behind: %s", p);
}

typedef struct env {
    char *dir, *tmp, *out, *saved_tmpdir;
} env;

static int
setup(void **state)
{
    env *e = calloc(1, sizeof(*e));
    e->dir = ts_mkdtemp();
    e->tmp = ts_join(e->dir, "tmp");
    e->out = ts_join(e->dir, "out");
    assert_int_equal(mkdir(e->tmp, 0700), 0);
    const char *t = getenv("TMPDIR");
    e->saved_tmpdir = t ? strdup(t) : NULL;
    setenv("TMPDIR", e->tmp, 1); /* the CLI's work folders */
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    env *e = *state;
    if (e->saved_tmpdir)
        setenv("TMPDIR", e->saved_tmpdir, 1);
    else
        unsetenv("TMPDIR");
    ts_rmtree(e->dir);
    free(e->saved_tmpdir);
    free(e->dir);
    free(e->tmp);
    free(e->out);
    free(e);
    return 0;
}

/* ------------------------------------------------------------ local */

static void
kill_local_at(env *e, const char *ova, const char *watch_dir, const char *needle, const char *stage)
{
    char *log = ts_join(e->dir, "kill.log");
    const char *argv[] = {ts_env("H2K_CLI"), "local", "--input", ova,
                          "--output-dir",    e->out,  "--name",  "vm",
                          "--fixes",         "none",  NULL};
    pid_t pid = spawn(argv, log);
    char *seen = wait_for(pid, watch_dir, needle, 1);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(wait_exit(pid), 128 + SIGKILL);
    print_message("killed `local` during %s (%s present)\n", stage, seen);
    free(seen);
    /* what the dead run left */
    char *w = find_entry(e->tmp, "h2k-run-", 0, 0);
    assert_non_null(w);
    free(w);
    /* the rerun cleans up and migrates */
    char *text = NULL;
    int st = ts_run(argv, &text);
    if (st != 0)
        print_error("%s\n", text);
    assert_int_equal(st, 0);
    free(text);
    assert_clean(e->tmp, e->out);
    char *disk = ts_join(e->out, "vm-disk1.qcow2");
    oh_compare(e->dir, "src", disk, "qcow2");
    /* for the next stage: a fresh output folder */
    ts_rmtree(e->out);
    free(disk);
    free(log);
}

static void
test_kill_local(void **state)
{
    env *e = *state;
    ts_require_program("qemu-img");
    char *ova = oh_make_ova_fmt(e->dir, "src", DISK_MIB, 5, OH_MF_GOOD, true);
    /* 1. once the overlay over the member (read in place) is in the work folder */
    kill_local_at(e, ova, e->tmp, "disk1.qcow2", "the work on the member read in place");
    /* 2. while qemu-img writes the output under its temporary name */
    kill_local_at(e, ova, e->out, ".part-", "the copy");
    free(ova);
}

/* ------------------------------------------- local, at a given stage */

/*
 * The probe, XML, define and report stages are short: a signal sent from
 * outside when a progress event is seen would land in whichever stage runs
 * by then.  To kill exactly there, the run is `local`'s own call
 * (h2k_orchestrator_run with the options the command passes) in a child
 * process whose progress callback sends itself SIGKILL at the Nth event of
 * the stage; the rerun is the command itself.
 */
typedef struct kill_point {
    const char *stage;
    int nth; /* kill at this occurrence of the stage's events (1 = first) */
    int seen;
} kill_point;

static void
kill_on_progress(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    (void)done;
    (void)total;
    kill_point *k = ud;
    if (stage && strcmp(stage, k->stage) == 0 && ++k->seen == k->nth)
        raise(SIGKILL);
}

/* Runs `local` of @ova into @out (defining at @define_uri when not NULL) in a
 * child killed at @k; returns when it is dead. */
static void
run_killed_at(env *e, const char *ova, const char *define_uri, kill_point *k)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        h2k_ctx *ctx = NULL;
        if (h2k_ctx_new(&ctx) < 0)
            _exit(120);
        h2k_ctx_set_progress(ctx, kill_on_progress, k);
        const char *inputs[] = {ova};
        h2k_run_options o = H2K_RUN_OPTIONS_INIT;
        o.inputs = inputs;
        o.n_inputs = 1;
        o.output_dir = e->out;
        o.name = "vm";
        o.fixes = 0;
        o.define_uri = define_uri;
        h2k_migration_result *res = NULL;
        int rc = h2k_orchestrator_run(ctx, &o, &res);
        /* not killed: the stage never came */
        fprintf(stderr, "run ended (rc %d) without reaching %s #%d\n", rc, k->stage, k->nth);
        _exit(121);
    }
    int st = wait_exit(pid);
    if (st != 128 + SIGKILL)
        fail_msg("the run was to be killed at %s #%d; it exited with %d", k->stage, k->nth, st);
}

static void
test_kill_local_stages(void **state)
{
    env *e = *state;
    ts_require_program("qemu-img");
    char *ova = oh_make_ova_fmt(e->dir, "src", 8, 11, OH_MF_GOOD, true);
    char sum_before[65], sum_after[65];
    ts_sha256_file(ova, sum_before);
    char *disk = ts_join(e->out, "vm-disk1.qcow2");
    char *xml = ts_join(e->out, "vm.xml");
    char *report = ts_join(e->out, "vm.report.json");
    char *report_md = ts_join(e->out, "vm.report.md");
    static const struct {
        const char *what, *stage, *define;
        int nth;
        bool work_left, disk_left, xml_left;
    } cases[] = {
        /* the second "probe" event: the OVA and its manifest read, the disk probed */
        {"the probe", "probe", NULL, 2, false, false, false},
        /* the disks are complete, the XML is about to be written */
        {"the XML", "xml", NULL, 1, true, true, false},
        /* the XML is written, the domain about to be defined */
        {"the define", "define", "test:///default", 1, true, true, true},
        /* the XML is written, the reports about to be */
        {"the report", "report", NULL, 1, true, true, true},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(cases); i++) {
        kill_point k = {cases[i].stage, cases[i].nth, 0};
        run_killed_at(e, ova, cases[i].define, &k);
        /* what the dead run left shows where it died */
        char *w = find_entry(e->tmp, "h2k-run-", 0, 0);
        print_message("killed `local` at %s: work folder %s, disk %s, XML %s\n", cases[i].what,
                      w ? "left" : "none", ts_exists(disk) ? "present" : "absent",
                      ts_exists(xml) ? "present" : "absent");
        assert_int_equal(w != NULL, cases[i].work_left);
        free(w);
        assert_int_equal(ts_exists(disk) != 0, cases[i].disk_left);
        assert_int_equal(ts_exists(xml) != 0, cases[i].xml_left);
        assert_false(ts_exists(report));
        /* the rerun (the command, same options) cleans up and migrates */
        const char *argv[] = {ts_env("H2K_CLI"),
                              "local",
                              "--input",
                              ova,
                              "--output-dir",
                              e->out,
                              "--name",
                              "vm",
                              "--fixes",
                              "none",
                              cases[i].define ? "--define" : NULL,
                              cases[i].define,
                              NULL};
        char *text = NULL;
        int st = ts_run(argv, &text);
        if (st != 0)
            print_error("rerun after a kill at %s: exit %d\n%s\n", cases[i].what, st, text);
        assert_int_equal(st, 0);
        free(text);
        assert_clean(e->tmp, e->out);
        assert_true(ts_exists(xml));
        assert_true(ts_exists(report));
        assert_true(ts_exists(report_md));
        oh_compare(e->dir, "src", disk, "qcow2");
        ts_sha256_file(ova, sum_after);
        assert_string_equal(sum_before, sum_after);
        ts_rmtree(e->out);
    }
    free(report_md);
    free(report);
    free(xml);
    free(disk);
    free(ova);
}

/* ------------------------------------------------------------ batch */

static void
test_kill_batch(void **state)
{
    env *e = *state;
    ts_require_program("qemu-img");
    free(oh_make_ova_fmt(e->dir, "a", DISK_MIB / 2, 6, OH_MF_GOOD, true));
    free(oh_make_ova_fmt(e->dir, "b", DISK_MIB / 2, 7, OH_MF_GOOD, true));
    const char *plan = "{\"output_dir\": \"out\", \"jobs\": 2,\n"
                       " \"defaults\": {\"fixes\": \"none\"},\n"
                       " \"vms\": [{\"name\": \"a\", \"inputs\": [\"a.ova\"]},\n"
                       "         {\"name\": \"b\", \"inputs\": [\"b.ova\"]}]}\n";
    char *plan_path = ts_join(e->dir, "plan.json");
    ts_write_file(plan_path, plan, strlen(plan));
    char *log = ts_join(e->dir, "batch.log");
    const char *argv[] = {ts_env("H2K_CLI"), "batch", plan_path, "--jobs", "2", NULL};
    pid_t pid = spawn(argv, log);
    char *seen = wait_for(pid, e->out, ".part-", 1);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(wait_exit(pid), 128 + SIGKILL);
    print_message("killed `batch` during the copy (%s present)\n", seen);
    free(seen);
    char *text = NULL;
    int st = ts_run(argv, &text);
    if (st != 0)
        print_error("%s\n", text);
    assert_int_equal(st, 0);
    free(text);
    assert_clean(e->tmp, e->out);
    char *da = ts_join(e->out, "a/a-disk1.qcow2");
    char *db = ts_join(e->out, "b/b-disk1.qcow2");
    oh_compare(e->dir, "a", da, "qcow2");
    oh_compare(e->dir, "b", db, "qcow2");
    free(da);
    free(db);
    free(log);
    free(plan_path);
}

/* ------------------------------------------------------- live runs */

static unsigned long long
my_start_time(void)
{
    FILE *f = fopen("/proc/self/stat", "r");
    assert_non_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    assert_non_null(p);
    int field = 2;
    for (char *q = p + 1; *q && field < 22; q++)
        if (*q == ' ')
            field++, p = q + 1;
    return strtoull(p, NULL, 10);
}

static char *
fake_run_dir(env *e, const char *name, long pid, unsigned long long start, const char *target)
{
    char *d = ts_join(e->tmp, name);
    assert_int_equal(mkdir(d, 0700), 0);
    char boot[64] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    assert_non_null(f);
    assert_non_null(fgets(boot, sizeof(boot), f));
    fclose(f);
    boot[strcspn(boot, "\n")] = '\0';
    char *text = hk_asprintf("pid=%ld\nstart=%llu\nboot=%s\ntarget=%s\n", pid, start, boot, target);
    char *owner = ts_join(d, "owner");
    ts_write_file(owner, text, strlen(text));
    char *junk = ts_join(d, "source0.raw");
    ts_write_file(junk, "x", 1);
    free(junk);
    free(owner);
    free(text);
    return d;
}

static void
test_live_runs_untouched(void **state)
{
    env *e = *state;
    ts_require_program("qemu-img");
    char *big = oh_make_ova_fmt(e->dir, "big", DISK_MIB, 8, OH_MF_GOOD, true);
    char *small = oh_make_ova_fmt(e->dir, "small", 4, 9, OH_MF_GOOD, true);
    char *out_a = ts_join(e->out, "a");
    char *out_b = ts_join(e->out, "b");
    char *log = ts_join(e->dir, "a.log");
    const char *run_a[] = {ts_env("H2K_CLI"), "local", "--input", big,
                           "--output-dir",    out_a,   "--name",  "a",
                           "--fixes",         "none",  NULL};
    pid_t pid = spawn(run_a, log);
    char *part = wait_for(pid, e->out, ".part-", 1);
    assert_int_equal(kill(pid, SIGSTOP), 0); /* alive, but frozen */
    char *work = find_entry(e->tmp, "h2k-run-", 0, 0);
    assert_non_null(work);
    /* another output, same temporary folder */
    const char *run_b[] = {ts_env("H2K_CLI"), "local", "--input", small,
                           "--output-dir",    out_b,   "--name",  "b",
                           "--fixes",         "none",  NULL};
    ts_run_ok(run_b);
    assert_true(ts_exists(part));
    assert_true(ts_exists(work));
    char *owner = ts_join(work, "owner");
    assert_true(ts_exists(owner));
    /* a run of output c while folders of c say: one owner alive (this test),
       one dead (the stopped child's pid with another start time) */
    char *out_c = ts_join(e->out, "c");
    char *target_c = ts_join(out_c, "c.xml");
    char *live = fake_run_dir(e, "h2k-run-liveXX", (long)getpid(), my_start_time(), target_c);
    char *dead = fake_run_dir(e, "h2k-run-deadXX", (long)pid, 1, target_c);
    const char *run_c[] = {ts_env("H2K_CLI"), "local", "--input", small,
                           "--output-dir",    out_c,   "--name",  "c",
                           "--fixes",         "none",  NULL};
    ts_run_ok(run_c);
    assert_true(ts_exists(live));
    assert_false(ts_exists(dead));
    assert_true(ts_exists(part));
    assert_true(ts_exists(work));
    ts_rmtree(live);
    /* the frozen run goes on and finishes */
    assert_int_equal(kill(pid, SIGCONT), 0);
    assert_int_equal(wait_exit(pid), 0);
    char *da = ts_join(out_a, "a-disk1.qcow2");
    oh_compare(e->dir, "big", da, "qcow2");
    assert_clean(e->tmp, e->out);
    free(da);
    free(dead);
    free(live);
    free(target_c);
    free(out_c);
    free(owner);
    free(work);
    free(part);
    free(log);
    free(out_b);
    free(out_a);
    free(small);
    free(big);
}

/* ---------------------------------------------------------- signals */

#define STOP_LIMIT 5.0

/* Waits up to @limit seconds for @pid; its exit status, or -1 (then it is
 * killed). */
static int
wait_exit_within(pid_t pid, double limit, double *secs)
{
    double t0 = hk_now();
    while (hk_now() - t0 < limit) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            *secs = hk_now() - t0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    *secs = hk_now() - t0;
    kill(pid, SIGKILL);
    wait_exit(pid);
    return -1;
}

static void
term_at(env *e, const char *const *argv, const char *watch_dir, const char *needle,
        const char *stage)
{
    char *log = ts_join(e->dir, "term.log");
    pid_t pid = spawn(argv, log);
    char *seen = wait_for(pid, watch_dir, needle, 1);
    assert_int_equal(kill(pid, SIGTERM), 0);
    double secs = 0;
    int st = wait_exit_within(pid, STOP_LIMIT, &secs);
    char *text = ts_read_file(log, NULL);
    print_message("SIGTERM during %s (%s present): exit %d after %.2f s\n", stage, seen, st, secs);
    if (st != 23)
        print_error("%s\n", text);
    assert_int_equal(st, 23);
    assert_clean(e->tmp, e->out);
    free(text);
    free(seen);
    free(log);
}

static void
test_sigterm(void **state)
{
    env *e = *state;
    ts_require_program("qemu-img");
    char *ova = oh_make_ova_fmt(e->dir, "src", DISK_MIB, 5, OH_MF_GOOD, true);
    const char *local[] = {ts_env("H2K_CLI"), "local", "--input", ova,
                           "--output-dir",    e->out,  "--name",  "vm",
                           "--fixes",         "none",  NULL};
    term_at(e, local, e->tmp, "disk1.qcow2", "the work on the member read in place");
    term_at(e, local, e->out, ".part-", "the copy by qemu-img");
    free(oh_make_ova_fmt(e->dir, "b", DISK_MIB / 2, 7, OH_MF_GOOD, true));
    const char *plan = "{\"output_dir\": \"out\", \"jobs\": 2,\n"
                       " \"defaults\": {\"fixes\": \"none\"},\n"
                       " \"vms\": [{\"name\": \"a\", \"inputs\": [\"src.ova\"]},\n"
                       "         {\"name\": \"b\", \"inputs\": [\"b.ova\"]}]}\n";
    char *plan_path = ts_join(e->dir, "plan.json");
    ts_write_file(plan_path, plan, strlen(plan));
    const char *batch[] = {ts_env("H2K_CLI"), "batch", plan_path, NULL};
    term_at(e, batch, e->out, ".part-", "a batch's copy");
    free(plan_path);
    free(ova);
}

/* Runs @argv, which must end within STOP_LIMIT seconds with an error that
 * names @fifo. */
static void
refused_at_once(const char *const *argv, const char *fifo, const char *what)
{
    char *log = ts_join(getenv("TMPDIR"), "fifo.log");
    pid_t pid = spawn(argv, log);
    double secs = 0;
    int st = wait_exit_within(pid, STOP_LIMIT, &secs);
    char *text = ts_read_file(log, NULL);
    print_message("%s: exit %d after %.2f s: %s", what, st, secs, text);
    assert_true(st > 0 && st != 23); /* ended by itself, with an error */
    assert_non_null(strstr(text, fifo));
    assert_non_null(strstr(text, "FIFO"));
    free(text);
    unlink(log);
    free(log);
}

static void
test_fifo_inputs(void **state)
{
    env *e = *state;
    ts_require_program("qemu-img");
    const char *names[] = {"disk.vmdk", "vm.ova", "vm.ovf", "vm.vmx", "base.raw"};
    char *fifos[5];
    for (int i = 0; i < 5; i++) {
        fifos[i] = ts_join(e->dir, names[i]);
        assert_int_equal(mkfifo(fifos[i], 0600), 0);
    }
    const char *local[] = {ts_env("H2K_CLI"), "local", "--input", fifos[0], "--output-dir", e->out,
                           "--fixes",         "none",  NULL};
    refused_at_once(local, fifos[0], "local, a FIFO as the disk");
    const char *ova[] = {ts_env("H2K_CLI"), "ovf", fifos[1], NULL};
    refused_at_once(ova, fifos[1], "ovf, a FIFO as the OVA");
    const char *ovf[] = {ts_env("H2K_CLI"), "ovf", fifos[2], NULL};
    refused_at_once(ovf, fifos[2], "ovf, a FIFO as the OVF");
    const char *vmx[] = {ts_env("H2K_CLI"), "ovf", fifos[3], NULL};
    refused_at_once(vmx, fifos[3], "ovf, a FIFO as the VMX");
    /* a qcow2 whose backing file is a FIFO (-u: qemu-img does not open it) */
    char *child = ts_join(e->dir, "child.qcow2");
    const char *mk[] = {"qemu-img", "create", "-q",  "-f",  "qcow2", "-u", "-b",
                        fifos[4],   "-F",     "raw", child, "64M",   NULL};
    ts_run_ok(mk);
    const char *probe[] = {ts_env("H2K_CLI"), "probe", child, NULL};
    refused_at_once(probe, fifos[4], "probe, a FIFO as the backing file");
    const char *local2[] = {ts_env("H2K_CLI"), "local", "--input", child, "--output-dir", e->out,
                            "--fixes",         "none",  NULL};
    refused_at_once(local2, fifos[4], "local, a FIFO as the backing file");
    assert_clean(e->tmp, e->out);
    free(child);
    for (int i = 0; i < 5; i++)
        free(fifos[i]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill_local, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_local_stages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_runs_untouched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_inputs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
