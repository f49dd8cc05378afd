/*
 * The batch scheduler's gate (src/orchestrator/sched.c): a counting gate of
 * N slots that a batch (batch.c) lends each migration it runs
 * (hk_orch_run()), so that at most N VMs are at once in their
 * appliance-bound stages while the other VMs of the batch run their
 * I/O-bound ones.
 *
 * A migration holds a slot:
 *   - from the launch of its repair appliance to the end of its repairs and
 *     trim; when the appliance stays up for the boot probe (--test-boot on a
 *     single-disk Linux guest), until the boot test ends: the appliance is up
 *     during the copy, and the boot test's qemu runs right after;
 *   - during its boot test otherwise (the tester may launch an appliance to
 *     place its probe, then runs the guest under qemu);
 *   - during a virt-v2v conversion (the virt-v2v backend).
 * Everything else runs outside the gate: the export or download of a remote
 * source, the probe, the overlays, the copy (of a run whose appliance is
 * down), the XML, the define, the reports.  The batch keeps up to twice as
 * many VMs in flight as there are slots, so that the copy of one VM overlaps
 * the repairs of the next.
 *
 * A single migration (h2k_orchestrator_run()) has no gate: nothing changes
 * for it.
 *
 * Concurrency: one hk_sched is shared by every worker thread of a batch;
 * hk_sched_enter(), hk_sched_leave(), hk_sched_cancel() and hk_sched_event()
 * may run on any threads at once (one mutex and one condition variable guard
 * the count).  A waiter wakes at once when the gate is cancelled, and within
 * 100 ms when its own context is (h2k_ctx_cancel() may come from a signal
 * handler, which cannot signal a condition variable).  hk_sched_new() and
 * hk_sched_free() belong to the batch's own thread, before the workers start
 * and after they have all been joined.  The hooks are called on the worker
 * threads, with no lock of the gate held: they must be thread-safe.
 */
#ifndef HK_ORCH_SCHED_H
#define HK_ORCH_SCHED_H

#include "core/internal.h"

typedef struct hk_sched hk_sched;

/* Observers of a batch, for the tests (never set by the library itself, nor
 * reachable through its public interface).  Every member may be NULL. */
typedef struct hk_sched_hooks {
    /* An event of VM @vm at hk_now() @t: @what is "wait" (begin: the VM
     * waits for a slot; end: it stopped waiting, with a slot or cancelled),
     * "gate" (begin once it holds a slot, end before it gives it back, so
     * that the intervals seen never overlap more than the gate allows) or
     * "copy" (the copy stage of a run). */
    void (*event)(void *ud, const char *vm, const char *what, int begin, double t);
    /* Stands in for the repair appliance: a VM whose repairs are on calls it
     * inside the gate instead of launching an appliance (no repair runs; the
     * domain XML is made as for a run without repairs).  Returns 0 or a
     * negative h2k_code (with the error set in @ctx). */
    int (*stand_in_fix)(void *ud, h2k_ctx *ctx, const char *vm);
    void *ud;
} hk_sched_hooks;

/* A gate of @slots slots (at least 1); @hooks (copied; may be NULL).  NULL
 * when out of memory.  Free with hk_sched_free(). */
hk_sched *hk_sched_new(unsigned slots, const hk_sched_hooks *hooks);
void hk_sched_free(hk_sched *s);

/* Waits for a free slot and takes it: 0, or H2K_ERR_CANCELLED (error set in
 * @ctx) when the gate or @ctx is cancelled first.  @vm names the VM in events. */
int hk_sched_enter(hk_sched *s, h2k_ctx *ctx, const char *vm);

/* Gives back the slot hk_sched_enter() took. */
void hk_sched_leave(hk_sched *s, const char *vm);

/* Cancels the gate: every waiter, and every later hk_sched_enter(), returns
 * H2K_ERR_CANCELLED. */
void hk_sched_cancel(hk_sched *s);

/* Reports the event @what of @vm to the hooks (see hk_sched_hooks.event). */
void hk_sched_event(const hk_sched *s, const char *vm, const char *what, int begin);

/* The hooks of @s (all NULL when none were given). */
const hk_sched_hooks *hk_sched_hooks_of(const hk_sched *s);

#endif
