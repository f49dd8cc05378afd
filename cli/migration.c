/* hyper2kvm command-line tool: the options every migration shares (local,
 * vsphere, and the fields of batch plans), parsed and validated in one place,
 * and the repair options shared with "fix". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const cli_option cli_repair_options[] = {
    {OPT_FIXES, "fixes", 0, "only", "LIST", NULL, 0,
     "repairs to run: all (default), none, or a list of fstab, grub, network, "
     "initramfs, vmware_tools, selinux, virtio_win"},
    {OPT_SKIP, "skip", 0, NULL, "LIST", NULL, 0, "repairs not to run (applied after --fixes)"},
    {OPT_VIRTIO_WIN, "virtio-win", 0, NULL, "ISO|DIR", NULL, CLI_OPT_FILE,
     "Windows guests: the virtio-win ISO or folder to take drivers from (default "
     "/usr/share/virtio-win when present)"},
    {OPT_NEW_MAC, "new-mac", 0, NULL, NULL, NULL, 0,
     "the KVM guest gets new MACs: rename NICs and drop MAC pins"},
    {OPT_DRY_RUN, "dry-run", 0, NULL, NULL, NULL, 0, "compute and report, write nothing"},
    {OPT_REPORT, "report", 0, NULL, "FILE", NULL, CLI_OPT_FILE, "write the JSON report to FILE"},
    {0},
};

const cli_option cli_migration_options[] = {
    {OPT_OUTPUT_DIR, "output-dir", 0, NULL, "DIR", NULL, CLI_OPT_DIR,
     "folder of the converted VM (created if missing)"},
    {OPT_NAME, "name", 0, NULL, "NAME", NULL, 0, "VM name (default: the source's)"},
    {OPT_OUTPUT_FORMAT, "output-format", 'O', "format", "FMT", "qcow2|raw", 0,
     "format of the output disks (default qcow2)"},
    {OPT_INPUT_FORMAT, "input-format", 0, NULL, "FMT", "raw|vmdk|vhd|vhdx|qcow2", 0,
     "read every input disk as this format (default: detected; a disk whose name claims "
     "a format its content lacks is migrated as raw only with --input-format raw)"},
    {OPT_COMPRESS, "compress", 0, NULL, NULL, NULL, 0, "compress the qcow2 output with zstd"},
    {OPT_NETWORK_MAP, "network-map", 0, NULL, "SRC=network:NAME|SRC=bridge:NAME", NULL,
     CLI_OPT_REPEAT, "attach the NICs of source network SRC (* for all) to NAME"},
    {OPT_MAC, "mac", 0, NULL, "MAC", NULL, CLI_OPT_REPEAT,
     "MAC of a NIC when the source has no descriptor (one per NIC)"},
    {OPT_TEST_BOOT, "test-boot", 0, NULL, NULL, NULL, 0, "boot the result and prove it comes up"},
    {OPT_BOOT_TIMEOUT, "boot-timeout", 0, NULL, "SEC", NULL, 0,
     "seconds the boot test may take (1..86400, default 600)"},
    {OPT_DEFINE, "define", 0, NULL, NULL, NULL, CLI_OPT_OPTVAL,
     "define the domain in libvirt (at --connect's URI; \"--define URI\" is the old spelling)"},
    {OPT_CONNECT, "connect", 'c', NULL, "URI", NULL, 0,
     "libvirt URI for --define (default $LIBVIRT_DEFAULT_URI or qemu:///system)"},
    {OPT_KEEP_PARTIAL, "keep-partial", 0, NULL, NULL, NULL, 0,
     "on failure keep the outputs already finished"},
    {OPT_BACKEND, "backend", 0, NULL, "NAME", "native|virt-v2v", 0,
     "conversion engine (default native)"},
    {0},
};

const cli_option cli_source_options[] = {
    {OPT_LIST, "list", 0, NULL, NULL, NULL, 0, "list the VMs"},
    {OPT_VM, "vm", 0, NULL, "NAME", NULL, 0, "migrate (or with --export-only, export) this VM"},
    {OPT_INSECURE, "insecure", 0, NULL, NULL, NULL, 0, "do not verify the server certificate"},
    {OPT_CA_FILE, "ca-file", 0, NULL, "FILE", NULL, CLI_OPT_FILE,
     "trust the CA certificates in FILE (PEM)"},
    {OPT_SNAPSHOT, "snapshot", 0, NULL, NULL, NULL, 0,
     "copy a running VM from a temporary snapshot"},
    {OPT_STREAMS, "streams", 0, NULL, "N", NULL, 0, "parallel download streams (1..16)"},
    {OPT_EXPORT_ONLY, "export-only", 0, NULL, NULL, NULL, 0,
     "only fetch the disks and convert them to qcow2, no repair (with --vm)"},
    {OPT_KEEP_EXPORT, "keep-export", 0, NULL, NULL, NULL, 0,
     "keep the fetched files (OUTPUT_DIR/.NAME.export)"},
    {0},
};

const cli_option *
cli_table_option(const cli_option *table, int id)
{
    for (const cli_option *o = table; o && o->id; o++)
        if (o->id == id)
            return o;
    return NULL;
}

int
cli_check_choice(const cli_option *table, int id, const char *value)
{
    const cli_option *o = cli_table_option(table, id);
    if (!o || !o->choices || !value)
        return 0;
    size_t len = strlen(value);
    for (const char *p = o->choices; *p;) {
        const char *e = strchr(p, '|');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == len && strncmp(p, value, len) == 0)
            return 0;
        if (!e)
            break;
        p = e + 1;
    }
    return -1;
}

/* "SRC=network:NAME" or "SRC=bridge:NAME"; SRC "*" matches every NIC. */
bool
cli_parse_network_map(const char *arg, h2k_network_mapping *m, char **storage)
{
    char *copy = strdup(arg);
    if (!copy)
        return false;
    char *eq = strchr(copy, '=');
    const char *rest = eq ? eq + 1 : NULL;
    if (!eq || eq == copy)
        goto bad;
    *eq = '\0';
    if (strncmp(rest, "network:", 8) == 0) {
        m->kind = H2K_NET_NETWORK;
        m->target = rest + 8;
    } else if (strncmp(rest, "bridge:", 7) == 0) {
        m->kind = H2K_NET_BRIDGE;
        m->target = rest + 7;
    } else {
        goto bad;
    }
    if (*m->target == '\0')
        goto bad;
    m->source_name = strcmp(copy, "*") == 0 ? NULL : copy;
    *storage = copy;
    return true;
bad:
    free(copy);
    return false;
}

int
cli_parse_fixes(const char *s, unsigned *out)
{
    if (strcmp(s, "all") == 0) {
        *out = H2K_FIX_ALL;
        return 0;
    }
    if (strcmp(s, "none") == 0) {
        *out = 0;
        return 0;
    }
    int bits = h2k_fix_kinds_parse(s);
    if (bits < 0)
        return -1;
    *out = (unsigned)bits;
    return 0;
}

void
cli_repair_init(cli_repair *r)
{
    memset(r, 0, sizeof(*r));
    r->fixes = H2K_FIX_ALL;
    r->keep_mac = 1;
}

/* "fstab, grub, ..." from the library's names, into @buf. */
static const char *
fix_names(char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned bit = 0; bit < 32; bit++) {
        const char *n = h2k_fix_kind_name((h2k_fix_kind)(1u << bit));
        if (n && len < size)
            len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", n);
    }
    return buf;
}

int
cli_repair_apply(const cli_command *cmd, cli_repair *r, const cli_item *it)
{
    switch (it->opt->id) {
    case OPT_FIXES:
    case OPT_SKIP: {
        unsigned bits;
        if (cli_parse_fixes(it->value, &bits) < 0) {
            char names[256];
            return cli_usage_error(cmd,
                                   "unknown repair in %s '%s' (all, none, or a comma-separated "
                                   "list of %s)",
                                   it->spelled, it->value, fix_names(names, sizeof(names)));
        }
        if (it->opt->id == OPT_FIXES)
            r->fixes = bits;
        else
            r->skip = bits;
        break;
    }
    case OPT_VIRTIO_WIN:
        r->virtio_win = it->value;
        break;
    case OPT_NEW_MAC:
        r->keep_mac = 0;
        break;
    case OPT_DRY_RUN:
        r->dry_run = 1;
        break;
    case OPT_REPORT:
        r->report = it->value;
        break;
    default:
        return 0;
    }
    r->any = true;
    return 1;
}

unsigned
cli_repair_selected(const cli_repair *r)
{
    return r->fixes & ~r->skip;
}

void
cli_migration_init(cli_migration *m)
{
    memset(m, 0, sizeof(*m));
    h2k_run_options init = H2K_RUN_OPTIONS_INIT;
    m->ro = init;
    cli_repair_init(&m->rep);
}

void
cli_migration_free(cli_migration *m)
{
    for (size_t i = 0; i < m->n_maps; i++)
        free(m->map_storage[i]);
    free(m->map_storage);
    free(m->maps);
    free(m->macs);
    free(m->inputs);
    memset(m, 0, sizeof(*m));
}

static int
push_str(const char ***arr, size_t *n, const char *v)
{
    const char **a = realloc(*arr, (*n + 1) * sizeof(*a));
    if (!a)
        return -1;
    a[(*n)++] = v;
    *arr = a;
    return 0;
}

int
cli_migration_apply(const cli_command *cmd, cli_migration *m, const cli_item *it)
{
    int r = cli_repair_apply(cmd, &m->rep, it);
    if (r != 0) {
        m->any = true;
        return r;
    }
    switch (it->opt->id) {
    case OPT_OUTPUT_DIR:
        m->ro.output_dir = it->value;
        break;
    case OPT_NAME:
        m->ro.name = it->value;
        break;
    case OPT_OUTPUT_FORMAT:
        m->ro.output_format = h2k_disk_format_from_name(it->value);
        break;
    case OPT_INPUT_FORMAT:
        m->ro.input_format = it->value;
        break;
    case OPT_COMPRESS:
        m->ro.compress = 1;
        break;
    case OPT_NETWORK_MAP: {
        h2k_network_mapping *maps = realloc(m->maps, (m->n_maps + 1) * sizeof(*maps));
        char **st = maps ? realloc(m->map_storage, (m->n_maps + 1) * sizeof(*st)) : NULL;
        if (maps)
            m->maps = maps;
        if (st)
            m->map_storage = st;
        if (!maps || !st)
            return cli_exit_code(H2K_ERR_NO_MEMORY);
        if (!cli_parse_network_map(it->value, &m->maps[m->n_maps], &m->map_storage[m->n_maps]))
            return cli_usage_error(cmd, "bad %s '%s' (SRC=network:NAME or SRC=bridge:NAME)",
                                   it->spelled, it->value);
        m->n_maps++;
        break;
    }
    case OPT_MAC:
        if (push_str(&m->macs, &m->n_macs, it->value) < 0)
            return cli_exit_code(H2K_ERR_NO_MEMORY);
        break;
    case OPT_TEST_BOOT:
        m->ro.test_boot = 1;
        break;
    case OPT_BOOT_TIMEOUT: {
        unsigned long v;
        if (!cli_parse_uint(it->value, 1, 86400, &v))
            return cli_usage_error(cmd, "%s takes 1..86400 seconds, not '%s'", it->spelled,
                                   it->value);
        m->ro.boot_timeout = (unsigned)v;
        break;
    }
    case OPT_DEFINE:
        m->define = true;
        m->define_uri = it->value;
        break;
    case OPT_CONNECT:
        m->connect = it->value;
        break;
    case OPT_KEEP_PARTIAL:
        m->ro.keep_partial = 1;
        break;
    case OPT_BACKEND:
        m->ro.backend = it->value;
        break;
    default:
        return 0;
    }
    m->any = true;
    return 1;
}

const char *
cli_default_connect_uri(void)
{
    const char *u = getenv("LIBVIRT_DEFAULT_URI");
    return u && *u ? u : "qemu:///system";
}

int
cli_migration_finish(const cli_command *cmd, cli_migration *m, bool need_output)
{
    if (m->connect && !m->define)
        return cli_usage_error(cmd, "--connect is the URI for --define; give --define too");
    if (m->connect && m->define_uri && strcmp(m->connect, m->define_uri) != 0)
        return cli_usage_error(cmd, "--define %s and --connect %s name different URIs",
                               m->define_uri, m->connect);
    if (m->define)
        m->ro.define_uri = m->connect      ? m->connect
                           : m->define_uri ? m->define_uri
                                           : cli_default_connect_uri();
    if (m->ro.compress && m->ro.output_format == H2K_FORMAT_RAW)
        return cli_usage_error(cmd, "--compress needs --output-format qcow2 (as \"compress\" "
                                    "needs \"format\": \"qcow2\" in a plan)");
    m->ro.fixes = cli_repair_selected(&m->rep);
    m->ro.keep_mac = m->rep.keep_mac;
    m->ro.dry_run = m->rep.dry_run;
    m->ro.report_path = m->rep.report;
    m->ro.virtio_win = m->rep.virtio_win;
    if (need_output && !m->ro.output_dir && !(m->ro.dry_run && m->ro.report_path))
        return cli_usage_error(cmd, "--output-dir is required (or --dry-run with --report)");
    m->ro.inputs = m->inputs;
    m->ro.n_inputs = m->n_inputs;
    m->ro.nic_macs = m->macs;
    m->ro.n_nic_macs = m->n_macs;
    m->ro.network_map = m->maps;
    m->ro.n_network_map = m->n_maps;
    return 0;
}

/* One plan field as the option it stands for, so that the plan is checked by
 * the same code as the command line. */
static void
plan_item(cli_item *items, size_t *n, int id, const char *value, const char *field)
{
    items[(*n)++] = (cli_item){cli_table_option(cli_migration_options, id)
                                   ? cli_table_option(cli_migration_options, id)
                                   : cli_table_option(cli_repair_options, id),
                               value, field};
}

int
cli_migration_check_plan(const cli_command *cmd, const char *plan_path, const h2k_plan *plan)
{
    for (size_t i = 0; i < plan->n_vms; i++) {
        const h2k_plan_vm *vm = &plan->vms[i];
        char field[8][96];
        cli_item items[8];
        size_t n = 0;
        int compress = vm->compress >= 0 ? vm->compress : plan->compress;
        int dry_run = vm->dry_run >= 0 ? vm->dry_run : plan->dry_run;
        int test_boot = vm->test_boot >= 0 ? vm->test_boot : plan->test_boot;
        static const char *const names[] = {"format", "compress", "dry_run", "test_boot"};
        for (size_t k = 0; k < 4; k++)
            snprintf(field[k], sizeof(field[k]), "%s: vms[%zu].%s", plan_path, i, names[k]);
        if (vm->output_format != H2K_FORMAT_UNKNOWN)
            plan_item(items, &n, OPT_OUTPUT_FORMAT, h2k_disk_format_name(vm->output_format),
                      field[0]);
        if (compress > 0)
            plan_item(items, &n, OPT_COMPRESS, NULL, field[1]);
        if (dry_run > 0)
            plan_item(items, &n, OPT_DRY_RUN, NULL, field[2]);
        if (test_boot > 0)
            plan_item(items, &n, OPT_TEST_BOOT, NULL, field[3]);
        cli_migration m;
        cli_migration_init(&m);
        int rc = 0;
        for (size_t k = 0; k < n && rc == 0; k++) {
            if (cli_check_choice(cli_migration_options, items[k].opt->id, items[k].value) < 0)
                rc = cli_usage_error(cmd, "%s must be one of %s, not '%s'", items[k].spelled,
                                     items[k].opt->choices, items[k].value);
            else if (cli_migration_apply(cmd, &m, &items[k]) != 1)
                rc = CLI_EXIT_USAGE;
        }
        /* the plan names the output folder (its own or the plan's) */
        m.ro.output_dir = plan->output_dir;
        if (rc == 0 && cli_migration_finish(cmd, &m, false) != 0)
            rc = CLI_EXIT_USAGE;
        cli_migration_free(&m);
        if (rc) {
            fprintf(stderr, "hyper2kvm %s: (in %s, vms[%zu], \"%s\")\n", cmd->name, plan_path, i,
                    vm->name);
            return rc;
        }
    }
    return 0;
}

/* ---- running a migration -------------------------------------------------- */

void
cli_print_migration_summary(cli_env *env, const h2k_migration_result *res)
{
    printf("%s: %s%s\n", cli_safe(env, res->name ? res->name : "?"),
           res->success ? "migrated" : "FAILED", res->dry_run ? " (dry run)" : "");
    for (size_t i = 0; i < res->n_outputs; i++)
        printf("  disk %zu: %s (%s, sha256 %s)\n", i + 1, cli_safe(env, res->outputs[i].path),
               cli_safe(env, res->outputs[i].format), res->outputs[i].sha256);
    if (res->xml_path)
        printf("  xml: %s\n", cli_safe(env, res->xml_path));
    for (size_t i = 0; i < res->n_fixes; i++)
        printf("  fix %-13s %s%s%s\n", cli_safe(env, res->fixes[i].name),
               cli_safe(env, res->fixes[i].status), res->fixes[i].message ? ": " : "",
               res->fixes[i].message ? cli_safe(env, res->fixes[i].message) : "");
    if (res->boot && res->boot->not_proven) {
        printf("  boot: NOT PROVEN (%s)\n",
               res->boot->error_message ? cli_safe(env, res->boot->error_message) : "");
    } else if (res->boot) {
        printf("  boot: %s in %.1f s", res->boot->success ? "ok" : "FAILED",
               res->boot->boot_seconds);
        for (size_t i = 0; i < res->boot->n_addresses; i++)
            printf(" %s", cli_safe(env, res->boot->addresses[i]));
        printf("\n");
    }
    for (size_t i = 0; i < res->n_warnings; i++)
        printf("  warning: %s\n", cli_safe(env, res->warnings[i]));
    if (res->report_json_path)
        printf("  report: %s\n", cli_safe(env, res->report_json_path));
}

int
cli_run_migration(cli_env *env, const h2k_run_options *opts)
{
    h2k_migration_result *res = NULL;
    int rc = h2k_orchestrator_run(env->ctx, opts, &res);
    cli_progress_finish(env);
    int exit_code;
    if (rc < 0) {
        exit_code = cli_report_error(env, rc);
    } else {
        exit_code = CLI_EXIT_OK;
        if (env->json) {
            char *json = h2k_migration_result_to_json(res);
            cli_print_json(json);
            free(json);
        } else if (!env->quiet) {
            cli_print_migration_summary(env, res);
        }
    }
    h2k_migration_result_free(res);
    return exit_code;
}
