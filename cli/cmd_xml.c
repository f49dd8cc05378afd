/* hyper2kvm xml: write (and optionally define) the libvirt domain XML of a VM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "cli.h"

#define XML_USAGE                                                                              \
    "usage: hyper2kvm xml --spec FILE.vmx|FILE.ovf|FILE.ova --disk PATH [--disk PATH...]\n"    \
    "         [--network-map SRC=network:NAME|bridge:NAME ...] [--default-network NAME]\n"     \
    "         [--uefi|--bios] [--secure-boot|--no-secure-boot] [--machine q35|pc]\n"           \
    "         [--type kvm|qemu] [--name NAME] [--disk-bus auto|virtio|sata]\n"                 \
    "         [--disk-format qcow2|raw] [--windows-virtio] [--no-graphics]\n"                  \
    "         [--output-dir DIR] [--nvram PATH] [--output FILE] [--define URI] [--json]\n"

/* Prints "hyper2kvm xml: MSG ARG" and the usage; returns the usage exit code. */
static int
usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "hyper2kvm xml: %s%s\n" XML_USAGE, msg, arg ? arg : "");
    return CLI_EXIT_USAGE;
}

/* "SRC=network:NAME" or "SRC=bridge:NAME"; SRC "*" matches every NIC.  The
 * strings point into @arg, which the caller keeps alive. */
static bool
parse_mapping(char *arg, h2k_network_mapping *m)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return false;
    *eq = '\0';
    char *rest = eq + 1;
    if (strncmp(rest, "network:", 8) == 0) {
        m->kind = H2K_NET_NETWORK;
        m->target = rest + 8;
    } else if (strncmp(rest, "bridge:", 7) == 0) {
        m->kind = H2K_NET_BRIDGE;
        m->target = rest + 7;
    } else {
        *eq = '=';
        return false;
    }
    if (*m->target == '\0') {
        *eq = '=';
        return false;
    }
    m->source_name = strcmp(arg, "*") == 0 ? NULL : arg;
    return true;
}

static int
read_spec(h2k_ctx *ctx, const char *path, h2k_vm_spec **spec)
{
    size_t n = strlen(path);
    if (n >= 4 && strcasecmp(path + n - 4, ".vmx") == 0)
        return h2k_vmx_parse_file(ctx, path, spec);
    if (n >= 4 && strcasecmp(path + n - 4, ".ova") == 0) {
        h2k_ova *ova = NULL;
        int rc = h2k_ova_open(ctx, path, &ova);
        if (rc == 0)
            rc = h2k_ova_read_spec(ctx, ova, spec);
        h2k_ova_free(ova);
        return rc;
    }
    return h2k_ovf_parse_file(ctx, path, spec);
}

int
cmd_xml(cli_env *env, int argc, char **argv)
{
    const char *spec_path = NULL, *output = NULL, *define_uri = NULL;
    bool define = false;
    h2k_domain_options o = H2K_DOMAIN_OPTIONS_INIT;
    const char **disks = calloc((size_t)argc, sizeof(char *));
    h2k_network_mapping *map = calloc((size_t)argc, sizeof(*map));
    size_t n_disks = 0, n_map = 0;
    int rc = CLI_EXIT_USAGE;
    h2k_vm_spec *spec = NULL;
    char *xml = NULL, *defined = NULL;
    if (!disks || !map) {
        rc = cli_exit_code(H2K_ERR_NO_MEMORY);
        goto done;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
        bool takes = true;
        if (strcmp(a, "--json") == 0) {
            env->json = true;
            takes = false;
        } else if (strcmp(a, "--uefi") == 0 || strcmp(a, "--bios") == 0) {
            o.firmware = a[2] == 'u' ? H2K_FIRMWARE_UEFI : H2K_FIRMWARE_BIOS;
            takes = false;
        } else if (strcmp(a, "--secure-boot") == 0 || strcmp(a, "--no-secure-boot") == 0) {
            o.secure_boot = a[2] == 's';
            takes = false;
        } else if (strcmp(a, "--windows-virtio") == 0) {
            o.windows_virtio = 1;
            takes = false;
        } else if (strcmp(a, "--no-graphics") == 0) {
            o.graphics = 0;
            takes = false;
        } else if (a[0] != '-' || !v) {
            rc = usage_error(a[0] == '-' ? "missing value after " : "unexpected argument ", a);
            goto done;
        } else if (strcmp(a, "--spec") == 0) {
            spec_path = v;
        } else if (strcmp(a, "--disk") == 0) {
            disks[n_disks++] = v;
        } else if (strcmp(a, "--network-map") == 0) {
            if (!parse_mapping(argv[i + 1], &map[n_map])) {
                rc = usage_error("--network-map wants SRC=network:NAME or SRC=bridge:NAME, not ",
                                 v);
                goto done;
            }
            n_map++;
        } else if (strcmp(a, "--default-network") == 0) {
            o.default_network = v;
        } else if (strcmp(a, "--machine") == 0) {
            if (strcmp(v, "q35") != 0 && strcmp(v, "pc") != 0) {
                rc = usage_error("--machine must be q35 or pc, not ", v);
                goto done;
            }
            o.machine = v;
        } else if (strcmp(a, "--type") == 0) {
            if (strcmp(v, "kvm") != 0 && strcmp(v, "qemu") != 0) {
                rc = usage_error("--type must be kvm or qemu, not ", v);
                goto done;
            }
            o.domain_type = v;
        } else if (strcmp(a, "--disk-bus") == 0) {
            if (strcmp(v, "auto") == 0)
                o.disk_bus = H2K_BUS_UNKNOWN;
            else if (strcmp(v, "virtio") == 0)
                o.disk_bus = H2K_BUS_VIRTIO;
            else if (strcmp(v, "sata") == 0)
                o.disk_bus = H2K_BUS_SATA;
            else {
                rc = usage_error("--disk-bus must be auto, virtio or sata, not ", v);
                goto done;
            }
        } else if (strcmp(a, "--disk-format") == 0) {
            o.disk_format = h2k_disk_format_from_name(v);
            if (o.disk_format != H2K_FORMAT_QCOW2 && o.disk_format != H2K_FORMAT_RAW) {
                rc = usage_error("--disk-format must be qcow2 or raw, not ", v);
                goto done;
            }
        } else if (strcmp(a, "--name") == 0) {
            o.name = v;
        } else if (strcmp(a, "--output-dir") == 0) {
            o.output_dir = v;
        } else if (strcmp(a, "--nvram") == 0) {
            o.nvram_path = v;
        } else if (strcmp(a, "--output") == 0) {
            output = v;
        } else if (strcmp(a, "--define") == 0) {
            define = true;
            define_uri = v;
        } else {
            rc = usage_error("unknown option ", a);
            goto done;
        }
        if (takes)
            i++;
    }
    if (!spec_path) {
        rc = usage_error("--spec is required", NULL);
        goto done;
    }
    if (n_disks == 0) {
        rc = usage_error("at least one --disk is required", NULL);
        goto done;
    }
    o.network_map = map;
    o.n_network_map = n_map;
    cli_setup_output(env);

    int r = read_spec(env->ctx, spec_path, &spec);
    if (r == 0)
        r = h2k_domain_xml(env->ctx, spec, NULL, disks, n_disks, &o, &xml);
    if (r == 0 && output)
        r = h2k_output_write_file(env->ctx, output, xml);
    if (r == 0 && define) {
        r = h2k_output_define(env->ctx, define_uri, xml, &defined);
    }
    if (r < 0) {
        rc = cli_report_error(env, r);
        goto done;
    }
    if (env->json) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "xml", json_object_new_string(xml));
        if (output)
            json_object_object_add(j, "output", json_object_new_string(output));
        if (defined) {
            json_object_object_add(j, "defined", json_object_new_string(defined));
            json_object_object_add(j, "uri", define_uri ? json_object_new_string(define_uri)
                                                        : NULL);
        }
        cli_print_json(json_object_to_json_string_ext(
            j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    } else {
        if (!output && !define)
            fputs(xml, stdout);
        if (output && !env->quiet)
            printf("wrote %s\n", output);
        if (defined && !env->quiet)
            printf("defined domain %s\n", defined);
    }
    rc = CLI_EXIT_OK;
done:
    free(defined);
    free(xml);
    h2k_vm_spec_free(spec);
    free(map);
    free(disks);
    return rc;
}
