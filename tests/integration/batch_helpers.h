/*
 * Helpers of the batch tests on small generated disks (test_concurrency,
 * test_batch_sched): a plan of VMs vm0, vm1, ... and a record of how each
 * VM ended.  Included by one test program each (static functions).
 */
#ifndef H2K_TEST_BATCH_HELPERS_H
#define H2K_TEST_BATCH_HELPERS_H

#include <stdio.h>
#include <stdlib.h>

#include "testsupport.h"

#define BH_MAX_VMS 8

/* How the VMs of a batch ended (bh_on_vm, which the batch calls serialised). */
typedef struct bh_log {
    int n_done, n_failed, n_cancelled;
    char msg[BH_MAX_VMS][512]; /* the failures' messages */
} bh_log;

HK_UNUSED static void
bh_on_vm(void *ud, const h2k_plan_vm *vm, int rc, const h2k_migration_result *res)
{
    bh_log *l = ud;
    if (rc == 0) {
        l->n_done++;
    } else if (rc == H2K_ERR_CANCELLED) {
        l->n_cancelled++;
    } else {
        if (l->n_failed < BH_MAX_VMS)
            snprintf(l->msg[l->n_failed], sizeof(l->msg[0]), "%s: %s", vm->name,
                     res && res->error_message ? res->error_message : h2k_strerror(rc));
        l->n_failed++;
    }
}

/* Prints the failures of @l. */
HK_UNUSED static void
bh_print_failures(const bh_log *l)
{
    for (int i = 0; i < l->n_failed && i < BH_MAX_VMS; i++)
        print_error("%s\n", l->msg[i]);
}

/* Writes @dir/plan.json, the migration of @n VMs vm0 .. vm<n-1> into
 * @dir/out, VM i from the file "vm<i><ext>" of @dir, with the "defaults"
 * object @defaults (JSON text), and parses it (caller frees). */
HK_UNUSED static h2k_plan *
bh_plan(h2k_ctx *ctx, const char *dir, const char *defaults, int n, const char *ext)
{
    hk_buf plan = {0};
    hk_buf_printf(&plan, "{\"output_dir\": \"out\",\n \"defaults\": %s,\n \"vms\": [", defaults);
    for (int i = 0; i < n; i++)
        hk_buf_printf(&plan, "%s{\"name\": \"vm%d\", \"inputs\": [\"vm%d%s\"]}", i ? ",\n  " : "",
                      i, i, ext);
    hk_buf_puts(&plan, "]}\n");
    char *path = ts_join(dir, "plan.json");
    ts_write_file(path, plan.data, plan.len);
    hk_buf_free(&plan);
    h2k_plan *p = NULL;
    ts_assert_rc(ctx, h2k_plan_parse_file(ctx, path, &p), 0);
    free(path);
    return p;
}

#endif
