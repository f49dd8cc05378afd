/*
 * The batch scheduler (src/orchestrator/sched.h): `jobs` slots for the
 * appliance-bound stages, twice as many VMs in flight, so that the copy of
 * one VM overlaps the repairs of the next.
 *
 *  - Four VMs (32 MiB raw disks of random data, every repair on) with jobs 1:
 *    all succeed and every output equals its source (qemu-img compare); the
 *    gate's events show at most one VM inside it at any time, and the copy of
 *    one VM running while another VM is inside.  With jobs 2, at most two.
 *  - Cancelling the batch while a VM holds the slot and another waits at the
 *    gate ends the batch promptly: the waiter leaves the gate at once, no
 *    other VM enters it, nothing is left in the output or work folders.
 *  - The gate alone: a waiter whose own context is cancelled leaves within a
 *    second; a cancelled gate refuses even a free slot.
 * The appliance is replaced by a stand-in that holds the slot for a while
 * (hk_sched_hooks.stand_in_fix: a test hook the library does not export), so
 * the batch runs in seconds; the probes, overlays, copies, XML and reports are
 * the real ones.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_helpers.h"
#include "orchestrator/orch_internal.h"
#include "orchestrator/sched.h"

#define N_VMS 4
#define DISK_SIZE "32M"
#define MAX_EVENTS 256
#define HOLD_SECONDS 0.5 /* how long the stand-in holds the slot */

typedef struct sched_event {
    int vm;
    char what[8];
    int begin;
    double t;
} sched_event;

typedef struct recorder {
    pthread_mutex_t lock;
    sched_event ev[MAX_EVENTS];
    size_t n;
    int in_fix, max_in_fix, n_fix;
    int block; /* the stand-in holds the slot until its context is cancelled */
} recorder;

static int
vm_index(const char *vm)
{
    int i = -1;
    if (!vm || sscanf(vm, "vm%d", &i) != 1 || i < 0 || i >= N_VMS)
        return -1;
    return i;
}

static void
on_event(void *ud, const char *vm, const char *what, int begin, double t)
{
    recorder *r = ud;
    pthread_mutex_lock(&r->lock);
    if (r->n < MAX_EVENTS) {
        sched_event *e = &r->ev[r->n++];
        e->vm = vm_index(vm);
        snprintf(e->what, sizeof(e->what), "%s", what);
        e->begin = begin;
        e->t = t;
    }
    pthread_mutex_unlock(&r->lock);
}

static int
stand_in_fix(void *ud, h2k_ctx *ctx, const char *vm)
{
    recorder *r = ud;
    (void)vm;
    pthread_mutex_lock(&r->lock);
    r->n_fix++;
    if (++r->in_fix > r->max_in_fix)
        r->max_in_fix = r->in_fix;
    int block = r->block;
    pthread_mutex_unlock(&r->lock);
    double until = hk_now() + (block ? 120.0 : HOLD_SECONDS);
    int rc = 0;
    while (hk_now() < until) {
        if (h2k_ctx_is_cancelled(ctx)) {
            rc = hk_error(ctx, H2K_ERR_CANCELLED, "stand-in repairs cancelled");
            break;
        }
        usleep(20 * 1000);
    }
    pthread_mutex_lock(&r->lock);
    r->in_fix--;
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* The interval [*b, *e] of event @what of VM @vm (the first one); 0 when none. */
static int
interval(const recorder *r, int vm, const char *what, double *b, double *e)
{
    int found = 0;
    *b = *e = -1;
    for (size_t i = 0; i < r->n; i++) {
        const sched_event *ev = &r->ev[i];
        if (ev->vm != vm || strcmp(ev->what, what) != 0)
            continue;
        if (ev->begin && !found) {
            *b = ev->t;
            found = 1;
        } else if (!ev->begin && found && *e < 0) {
            *e = ev->t;
        }
    }
    return found && *e >= *b;
}

/* How many events @what of VM @vm begin. */
static int
count_begins(const recorder *r, int vm, const char *what)
{
    int n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->ev[i].vm == vm && r->ev[i].begin && strcmp(r->ev[i].what, what) == 0;
    return n;
}

/* The most VMs inside the gate at once, from the events. */
static int
max_inside(const recorder *r)
{
    int in = 0, max = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->ev[i].what, "gate") != 0)
            continue;
        in += r->ev[i].begin ? 1 : -1;
        if (in > max)
            max = in;
    }
    return max;
}

static void
print_timeline(const recorder *r, double t0)
{
    for (size_t i = 0; i < r->n; i++)
        print_message("  %7.3f vm%d %s %s\n", r->ev[i].t - t0, r->ev[i].vm, r->ev[i].what,
                      r->ev[i].begin ? "begin" : "end");
}

/* N_VMS raw disks of random data in @dir and the plan of their migration
 * (every repair on, so that each VM goes through the gate). */
static h2k_plan *
make_plan(h2k_ctx *ctx, const char *dir)
{
    for (int i = 0; i < N_VMS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "vm%d.raw", i);
        char *disk = ts_join(dir, name);
        ts_make_random_raw(disk, DISK_SIZE);
        free(disk);
    }
    return bh_plan(ctx, dir, "{\"fixes\": \"all\", \"compress\": false}", N_VMS, ".raw");
}

static void
run_batch(unsigned jobs)
{
    ts_require_program("qemu-img");
    ts_require_program("qemu-io");
    char *dir = ts_mkdtemp();
    h2k_ctx *ctx = ts_ctx();
    h2k_plan *p = make_plan(ctx, dir);
    recorder rec;
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);
    hk_sched_hooks hooks = {on_event, stand_in_fix, &rec};
    bh_log log;
    memset(&log, 0, sizeof(log));
    double t0 = hk_now();
    int rc = hk_batch_run_hooked(ctx, p, NULL, jobs, bh_on_vm, &log, &hooks);
    print_message("batch of %d VMs (%s each), jobs %u: %.2f s\n", N_VMS, DISK_SIZE, jobs,
                  hk_now() - t0);
    print_timeline(&rec, t0);
    bh_print_failures(&log);
    ts_assert_rc(ctx, rc, 0);
    assert_int_equal(log.n_done, N_VMS);
    assert_int_equal(rec.n_fix, N_VMS);

    /* every output is its source */
    for (int i = 0; i < N_VMS; i++) {
        char *src = hk_asprintf("%s/vm%d.raw", dir, i);
        char *out = hk_asprintf("%s/out/vm%d/vm%d-disk1.qcow2", dir, i, i);
        ts_qemu_img_compare(src, "raw", out, "qcow2");
        free(src);
        free(out);
    }

    /* at most @jobs VMs in the gate, by the stand-in's count and by the events */
    assert_true(rec.max_in_fix >= 1 && rec.max_in_fix <= (int)jobs);
    assert_true(max_inside(&rec) <= (int)jobs);
    /* each VM went through the gate once, then copied outside it */
    double gb[N_VMS], ge[N_VMS], cb[N_VMS], ce[N_VMS];
    for (int i = 0; i < N_VMS; i++) {
        assert_int_equal(count_begins(&rec, i, "gate"), 1);
        assert_true(interval(&rec, i, "gate", &gb[i], &ge[i]));
        assert_true(interval(&rec, i, "copy", &cb[i], &ce[i]));
        assert_true(cb[i] >= ge[i]);
    }
    if (jobs == 1) {
        /* the gate's intervals never overlap ... */
        for (int i = 0; i < N_VMS; i++)
            for (int k = i + 1; k < N_VMS; k++)
                if (gb[i] < ge[k] && gb[k] < ge[i])
                    fail_msg("vm%d and vm%d were inside the gate at once", i, k);
        /* ... while the copy of one VM overlaps another VM's stay inside */
        int overlap = 0;
        for (int i = 0; i < N_VMS; i++)
            for (int k = 0; k < N_VMS; k++)
                if (i != k && cb[i] < ge[k] && gb[k] < ce[i]) {
                    print_message("vm%d copied while vm%d was in the gate\n", i, k);
                    overlap = 1;
                }
        assert_true(overlap);
    }

    pthread_mutex_destroy(&rec.lock);
    h2k_plan_free(p);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(dir);
}

static void
test_batch_jobs1_overlaps(void **state)
{
    (void)state;
    run_batch(1);
}

static void
test_batch_jobs2(void **state)
{
    (void)state;
    run_batch(2);
}

typedef struct batch_thread_arg {
    h2k_ctx *ctx;
    const h2k_plan *plan;
    hk_sched_hooks *hooks;
    bh_log *log;
    int rc;
    double ended;
} batch_thread_arg;

static void *
batch_thread(void *p)
{
    batch_thread_arg *a = p;
    a->rc = hk_batch_run_hooked(a->ctx, a->plan, NULL, 1, bh_on_vm, a->log, a->hooks);
    a->ended = hk_now();
    return NULL;
}

/* One VM holds the slot (its stand-in waits for the cancel), another waits at
 * the gate: a cancel ends the batch at once. */
static void
test_batch_cancel_at_gate(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    ts_require_program("qemu-io");
    char *dir = ts_mkdtemp();
    char *tmp = ts_join(dir, "tmp");
    assert_int_equal(mkdir(tmp, 0700), 0);
    h2k_ctx *ctx = ts_ctx();
    assert_int_equal(h2k_ctx_set_tmpdir(ctx, tmp), 0);
    h2k_plan *p = make_plan(ctx, dir);
    recorder rec;
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);
    rec.block = 1;
    hk_sched_hooks hooks = {on_event, stand_in_fix, &rec};
    bh_log log;
    memset(&log, 0, sizeof(log));
    batch_thread_arg a = {ctx, p, &hooks, &log, 0, 0};
    pthread_t tid;
    double t0 = hk_now();
    assert_int_equal(pthread_create(&tid, NULL, batch_thread, &a), 0);

    /* wait until one VM is inside and another waits at the gate */
    int holder = -1, waiter = -1;
    for (int tries = 0; tries < 6000 && waiter < 0; tries++) {
        usleep(20 * 1000);
        pthread_mutex_lock(&rec.lock);
        for (int i = 0; i < N_VMS; i++) {
            double b, e;
            if (count_begins(&rec, i, "gate"))
                holder = i;
            else if (count_begins(&rec, i, "wait") && !interval(&rec, i, "wait", &b, &e))
                waiter = i;
        }
        if (holder < 0 || rec.in_fix != 1)
            waiter = -1;
        pthread_mutex_unlock(&rec.lock);
    }
    if (waiter < 0) {
        h2k_ctx_cancel(ctx);
        pthread_join(tid, NULL);
        print_timeline(&rec, t0);
        fail_msg("no VM waited at the gate while another held it");
    }
    usleep(200 * 1000); /* the waiter is asleep in the gate */
    double tc = hk_now();
    h2k_ctx_cancel(ctx);
    assert_int_equal(pthread_join(tid, NULL), 0);
    print_message("vm%d held the slot, vm%d waited; the batch ended %.3f s after the cancel\n",
                  holder, waiter, a.ended - tc);
    print_timeline(&rec, t0);
    assert_int_equal(a.rc, H2K_ERR_CANCELLED);
    assert_true(a.ended - tc < 5.0);
    /* the waiter left the gate at once, without a slot; nobody else entered */
    double wb, we;
    assert_true(interval(&rec, waiter, "wait", &wb, &we));
    assert_true(we >= tc && we - tc < 1.0);
    for (int i = 0; i < N_VMS; i++)
        assert_int_equal(count_begins(&rec, i, "gate"), i == holder);
    assert_int_equal(rec.n_fix, 1);
    assert_int_equal(log.n_done, 0);
    assert_int_equal(log.n_failed, 0);
    assert_int_equal(log.n_cancelled, 2); /* the holder and the waiter */
    /* nothing left: no output, no work folder */
    for (int i = 0; i < N_VMS; i++) {
        char *out = hk_asprintf("%s/out/vm%d", dir, i);
        assert_true(!ts_exists(out) || ts_count_dir(out) == 0);
        free(out);
    }
    assert_int_equal(ts_count_dir(tmp), 0);

    pthread_mutex_destroy(&rec.lock);
    h2k_plan_free(p);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(tmp);
    free(dir);
}

typedef struct enter_arg {
    hk_sched *s;
    h2k_ctx *ctx;
    int rc;
    double ended;
} enter_arg;

static void *
enter_thread(void *p)
{
    enter_arg *a = p;
    a->rc = hk_sched_enter(a->s, a->ctx, "waiter");
    a->ended = hk_now();
    return NULL;
}

/* The gate alone: a cancelled context leaves the wait (the gate is not
 * cancelled: the waiter sees its own context); a cancelled gate refuses. */
static void
test_gate_context_cancel(void **state)
{
    (void)state;
    hk_sched *s = hk_sched_new(1, NULL);
    assert_non_null(s);
    h2k_ctx *a = ts_ctx(), *b = ts_ctx();
    assert_int_equal(hk_sched_enter(s, a, "holder"), 0);
    enter_arg w = {s, b, 1, 0};
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, enter_thread, &w), 0);
    usleep(300 * 1000);
    double tc = hk_now();
    h2k_ctx_cancel(b);
    assert_int_equal(pthread_join(tid, NULL), 0);
    print_message("the waiter left %.3f s after its context was cancelled\n", w.ended - tc);
    assert_int_equal(w.rc, H2K_ERR_CANCELLED);
    assert_true(w.ended >= tc && w.ended - tc < 1.0);
    assert_non_null(strstr(h2k_ctx_last_error(b)->message, "waiting for an appliance slot"));
    hk_sched_leave(s, "holder");
    /* the slot is free again: taken at once */
    assert_int_equal(hk_sched_enter(s, a, "again"), 0);
    hk_sched_leave(s, "again");
    /* a cancelled gate refuses even a free slot */
    hk_sched_cancel(s);
    assert_int_equal(hk_sched_enter(s, a, "late"), H2K_ERR_CANCELLED);
    h2k_ctx_free(a);
    h2k_ctx_free(b);
    hk_sched_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate_context_cancel),
        cmocka_unit_test(test_batch_jobs1_overlaps),
        cmocka_unit_test(test_batch_jobs2),
        cmocka_unit_test(test_batch_cancel_at_gate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
