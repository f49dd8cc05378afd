/* hyper2kvm batch: migrate the VMs of a plan file, resumable through a state file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

static const cli_option batch_options[] = {
    {OPT_JOBS, "jobs", 0, NULL, "N", NULL, 0,
     "VMs in their appliance-bound stages (repairs, boot test) at once, while up to as many "
     "others export, probe or copy (1..64; default: the plan's)"},
    {OPT_STATE, "state", 0, NULL, "FILE", NULL, CLI_OPT_FILE,
     "state file (default: PLAN.state.json beside the plan)"},
    {OPT_VIRTIO_WIN, "virtio-win", 0, NULL, "ISO|DIR", NULL, CLI_OPT_FILE,
     "Windows guests: the virtio-win ISO or folder for every VM without its own "
     "\"virtio_win\" (instead of the plan's default)"},
    {0},
};

static const cli_option *const batch_tables[] = {batch_options, NULL};

static void
on_vm(void *ud, const h2k_plan_vm *vm, int rc, const h2k_migration_result *res)
{
    cli_env *env = ud;
    (void)res;
    if (env->json || env->quiet)
        return;
    cli_progress_finish(env);
    char *name = cli_escape(vm->name, false);
    fprintf(stderr, "hyper2kvm batch: %s: %s\n", name ? name : "?",
            rc == 0                   ? "done"
            : rc == H2K_ERR_CANCELLED ? "cancelled"
                                      : h2k_code_name(rc));
    free(name);
}

static int
run_batch(cli_env *env, const cli_parsed *p)
{
    unsigned jobs = 0;
    const char *state_arg = NULL;
    const char *virtio_win = NULL;
    for (size_t i = 0; i < p->n_items; i++) {
        const cli_item *it = &p->items[i];
        if (it->opt->id == OPT_JOBS) {
            unsigned long j;
            if (!cli_parse_uint(it->value, 1, 64, &j))
                return cli_usage_error(p->cmd, "--jobs must be 1 to 64, not '%s'", it->value);
            jobs = (unsigned)j;
        } else if (it->opt->id == OPT_STATE) {
            state_arg = it->value;
        } else if (it->opt->id == OPT_VIRTIO_WIN) {
            virtio_win = it->value;
        }
    }
    const char *plan_path = p->pos[0];
    h2k_plan *plan = NULL;
    int rc = h2k_plan_parse_file(env->ctx, plan_path, &plan);
    if (rc < 0)
        return cli_report_error(env, rc);
    if (virtio_win) {
        /* the command line's default wins over the plan's, a VM's own over both */
        char *vw = strdup(virtio_win);
        if (!vw) {
            h2k_plan_free(plan);
            return cli_exit_code(H2K_ERR_NO_MEMORY);
        }
        free(plan->virtio_win);
        plan->virtio_win = vw;
    }
    if (cli_migration_check_plan(p->cmd, plan_path, plan) != 0) {
        h2k_plan_free(plan);
        return CLI_EXIT_USAGE;
    }
    size_t len = strlen(plan_path);
    char *state_path = state_arg ? strdup(state_arg) : NULL;
    if (!state_path) {
        state_path = malloc(len + sizeof(".state.json"));
        if (state_path) {
            memcpy(state_path, plan_path, len);
            /* PLAN.json, PLAN.yaml or PLAN.yml -> PLAN.state.json */
            size_t base = len;
            static const char *const exts[] = {".json", ".yaml", ".yml"};
            for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
                size_t el = strlen(exts[i]);
                if (len > el && strcmp(plan_path + len - el, exts[i]) == 0)
                    base = len - el;
            }
            strcpy(state_path + base, ".state.json");
        }
    }
    if (!state_path) {
        h2k_plan_free(plan);
        return cli_exit_code(H2K_ERR_NO_MEMORY);
    }
    rc = h2k_batch_run(env->ctx, plan, state_path, jobs, on_vm, env);
    int exit_code = CLI_EXIT_OK;
    h2k_batch_state *st = NULL;
    if (h2k_batch_state_load(env->ctx, state_path, &st) == 0) {
        if (env->json) {
            json_object *root = json_object_new_object(), *arr = json_object_new_array();
            for (size_t i = 0; i < plan->n_vms; i++) {
                h2k_batch_entry *e = h2k_batch_state_find(st, plan->vms[i].name);
                json_object *o = json_object_new_object();
                json_object_object_add(o, "name", json_object_new_string(plan->vms[i].name));
                json_object_object_add(o, "state",
                                       json_object_new_string(
                                           h2k_vm_state_name(e ? e->state : H2K_VM_PENDING)));
                json_object_object_add(o, "seconds", json_object_new_double(e ? e->seconds : 0));
                if (e && e->message)
                    json_object_object_add(o, "message", json_object_new_string(e->message));
                json_object_array_add(arr, o);
            }
            json_object_object_add(root, "vms", arr);
            cli_print_json(
                json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
            json_object_put(root);
        } else if (!env->quiet) {
            printf("%-24s %-8s %8s  %s\n", "VM", "STATE", "SECONDS", "MESSAGE");
            for (size_t i = 0; i < plan->n_vms; i++) {
                h2k_batch_entry *e = h2k_batch_state_find(st, plan->vms[i].name);
                printf("%-24s %-8s %8.1f  %s\n", cli_safe(env, plan->vms[i].name),
                       h2k_vm_state_name(e ? e->state : H2K_VM_PENDING), e ? e->seconds : 0.0,
                       e && e->message ? cli_safe(env, e->message) : "");
            }
        }
    }
    h2k_batch_state_free(st);
    if (rc < 0)
        exit_code = cli_report_error(env, rc);
    free(state_path);
    h2k_plan_free(plan);
    return exit_code;
}

const cli_command cli_cmd_batch = {
    "batch",
    "PLAN.json|PLAN.yaml",
    "migrate the VMs of a plan (local or vSphere), resumable",
    1,
    1,
    batch_tables,
    run_batch,
};
