/* hyper2kvm batch: migrate the VMs of a plan file, resumable through a state file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

#define BATCH_USAGE                                                                                \
    "usage: hyper2kvm batch PLAN.json|PLAN.yaml [--jobs N] [--state FILE] [--json]\n"

static void
on_vm(void *ud, const h2k_plan_vm *vm, int rc, const h2k_migration_result *res)
{
    cli_env *env = ud;
    (void)res;
    if (env->json || env->quiet)
        return;
    cli_progress_finish();
    fprintf(stderr, "hyper2kvm batch: %s: %s\n", vm->name,
            rc == 0                   ? "done"
            : rc == H2K_ERR_CANCELLED ? "cancelled"
                                      : h2k_code_name(rc));
}

int
cmd_batch(cli_env *env, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"jobs", required_argument, NULL, 'J'},
        {"state", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned jobs = 0;
    const char *state_arg = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "J:s:jh", longopts, NULL)) != -1) {
        switch (c) {
        case 'J': {
            char *end = NULL;
            unsigned long j = strtoul(optarg, &end, 10);
            if (!*optarg || *end || j < 1 || j > 64) {
                fprintf(stderr, "hyper2kvm batch: --jobs must be 1 to 64\n");
                return CLI_EXIT_USAGE;
            }
            jobs = (unsigned)j;
            break;
        }
        case 's':
            state_arg = optarg;
            break;
        case 'j':
            env->json = true;
            break;
        case 'h':
            printf(BATCH_USAGE);
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, BATCH_USAGE);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, BATCH_USAGE);
        return CLI_EXIT_USAGE;
    }
    const char *plan_path = argv[optind];
    cli_setup_output(env);
    h2k_plan *plan = NULL;
    int rc = h2k_plan_parse_file(env->ctx, plan_path, &plan);
    if (rc < 0)
        return cli_report_error(env, rc);
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
                json_object_object_add(
                    o, "state",
                    json_object_new_string(h2k_vm_state_name(e ? e->state : H2K_VM_PENDING)));
                json_object_object_add(o, "seconds", json_object_new_double(e ? e->seconds : 0));
                if (e && e->message)
                    json_object_object_add(o, "message", json_object_new_string(e->message));
                json_object_array_add(arr, o);
            }
            json_object_object_add(root, "vms", arr);
            cli_print_json(json_object_to_json_string_ext(
                root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
            json_object_put(root);
        } else if (!env->quiet) {
            printf("%-24s %-8s %8s  %s\n", "VM", "STATE", "SECONDS", "MESSAGE");
            for (size_t i = 0; i < plan->n_vms; i++) {
                h2k_batch_entry *e = h2k_batch_state_find(st, plan->vms[i].name);
                printf("%-24s %-8s %8.1f  %s\n", plan->vms[i].name,
                       h2k_vm_state_name(e ? e->state : H2K_VM_PENDING), e ? e->seconds : 0.0,
                       e && e->message ? e->message : "");
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
