/* hyper2kvm xml: write (and optionally define) the libvirt domain XML of a VM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "cli.h"

static const cli_option xml_options[] = {
    {OPT_SPEC, "spec", 0, NULL, "FILE", NULL, CLI_OPT_FILE,
     "the VM's .vmx, .ovf or .ova (default: inspect the disks and use defaults)"},
    {OPT_DISK, "disk", 0, NULL, "PATH", NULL, CLI_OPT_REPEAT | CLI_OPT_FILE,
     "a converted disk, in boot order (same as an IMAGE argument)"},
    {OPT_NETWORK_MAP, "network-map", 0, NULL, "SRC=network:NAME|SRC=bridge:NAME", NULL,
     CLI_OPT_REPEAT, "attach the NICs of source network SRC (* for all) to NAME"},
    {OPT_DEFAULT_NETWORK, "default-network", 0, NULL, "NAME", NULL, 0,
     "network for unmapped NICs (default: default)"},
    {OPT_UEFI, "uefi", 0, NULL, NULL, NULL, 0, "UEFI firmware (default: as the spec or guest)"},
    {OPT_BIOS, "bios", 0, NULL, NULL, NULL, 0, "BIOS firmware"},
    {OPT_SECURE_BOOT, "secure-boot", 0, NULL, NULL, NULL, 0, "UEFI secure boot on"},
    {OPT_NO_SECURE_BOOT, "no-secure-boot", 0, NULL, NULL, NULL, 0, "UEFI secure boot off"},
    {OPT_MACHINE, "machine", 0, NULL, "TYPE", "q35|pc", 0, "machine type (default q35)"},
    {OPT_TYPE, "type", 0, NULL, "TYPE", "kvm|qemu", 0,
     "domain type (default: kvm when /dev/kvm opens)"},
    {OPT_NAME, "name", 0, NULL, "NAME", NULL, 0,
     "domain name (default: the spec's, or the first disk's file name)"},
    {OPT_DISK_BUS, "disk-bus", 0, NULL, "BUS", "auto|virtio|sata", 0,
     "disk bus (default: auto; virtio without --spec)"},
    {OPT_DISK_FORMAT, "disk-format", 0, NULL, "FMT", "qcow2|raw", 0,
     "format of the disks (default: from the file names)"},
    {OPT_WINDOWS_VIRTIO, "windows-virtio", 0, NULL, NULL, NULL, 0,
     "the Windows guest has virtio drivers"},
    {OPT_NO_GRAPHICS, "no-graphics", 0, NULL, NULL, NULL, 0, "no VNC display and video card"},
    {OPT_OUTPUT_DIR, "output-dir", 0, NULL, "DIR", NULL, CLI_OPT_DIR,
     "folder of the VM (for the default NVRAM path)"},
    {OPT_NVRAM, "nvram", 0, NULL, "PATH", NULL, CLI_OPT_FILE, "the VM's UEFI variable store"},
    {OPT_OUTPUT, "output", 0, NULL, "FILE", NULL, CLI_OPT_FILE,
     "write the XML to FILE (default: stdout)"},
    {OPT_DEFINE, "define", 0, NULL, NULL, NULL, CLI_OPT_OPTVAL,
     "define the domain in libvirt (at --connect's URI; \"--define URI\" is the old spelling)"},
    {OPT_CONNECT, "connect", 'c', NULL, "URI", NULL, 0,
     "libvirt URI for --define (default $LIBVIRT_DEFAULT_URI or qemu:///system)"},
    {0},
};

static const cli_option *const xml_tables[] = {xml_options, NULL};

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

/* The file name of @path without folder and extension ("vm-disk1"). */
static char *
name_from_path(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strchr(b, '.');
    size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    return strndup(b, n ? n : strlen(b));
}

/* A spec for bare disks: the first disk's name, the disks on virtio, one NIC on
 * the default network; firmware, memory and vCPUs left to the guest's
 * inspection and the defaults of h2k_domain_xml(). */
static int
spec_from_disks(const char *const *disks, size_t n, h2k_vm_spec **out)
{
    h2k_vm_spec *s = h2k_vm_spec_new();
    if (!s)
        return H2K_ERR_NO_MEMORY;
    s->name = name_from_path(disks[0]);
    s->source_type = strdup("disks");
    s->disks = calloc(n, sizeof(*s->disks));
    s->nics = calloc(1, sizeof(*s->nics));
    if (!s->name || !s->source_type || !s->disks || !s->nics) {
        h2k_vm_spec_free(s);
        return H2K_ERR_NO_MEMORY;
    }
    s->n_nics = 1;
    for (size_t i = 0; i < n; i++) {
        h2k_vm_disk *d = &s->disks[i];
        d->bus = H2K_BUS_VIRTIO;
        d->controller_index = -1;
        d->unit = (int)i;
        d->path = strdup(disks[i]);
        s->n_disks++;
        if (!d->path) {
            h2k_vm_spec_free(s);
            return H2K_ERR_NO_MEMORY;
        }
    }
    *out = s;
    return 0;
}

static int
run_xml(cli_env *env, const cli_parsed *p)
{
    const char *spec_path = NULL, *output = NULL, *define_uri = NULL, *connect = NULL;
    bool define = false, bus_given = false;
    h2k_domain_options o = H2K_DOMAIN_OPTIONS_INIT;
    const char **disks = calloc(p->n_items + p->n_pos + 1, sizeof(char *));
    h2k_network_mapping *map = calloc(p->n_items + 1, sizeof(*map));
    char **map_storage = calloc(p->n_items + 1, sizeof(char *));
    size_t n_disks = 0, n_map = 0;
    int rc = CLI_EXIT_USAGE;
    h2k_vm_spec *spec = NULL;
    h2k_guest_identity *id = NULL;
    h2k_guest_detector *det = NULL;
    char *xml = NULL, *defined = NULL;
    if (!disks || !map || !map_storage) {
        rc = cli_exit_code(H2K_ERR_NO_MEMORY);
        goto done;
    }
    for (size_t i = 0; i < p->n_pos; i++)
        disks[n_disks++] = p->pos[i];
    for (size_t i = 0; i < p->n_items; i++) {
        const cli_item *it = &p->items[i];
        const char *v = it->value;
        switch (it->opt->id) {
        case OPT_SPEC:
            spec_path = v;
            break;
        case OPT_DISK:
            disks[n_disks++] = v;
            break;
        case OPT_NETWORK_MAP:
            if (!cli_parse_network_map(v, &map[n_map], &map_storage[n_map])) {
                rc = cli_usage_error(p->cmd, "bad %s '%s' (SRC=network:NAME or SRC=bridge:NAME)",
                                     it->spelled, v);
                goto done;
            }
            n_map++;
            break;
        case OPT_DEFAULT_NETWORK:
            o.default_network = v;
            break;
        case OPT_UEFI:
            o.firmware = H2K_FIRMWARE_UEFI;
            break;
        case OPT_BIOS:
            o.firmware = H2K_FIRMWARE_BIOS;
            break;
        case OPT_SECURE_BOOT:
            o.secure_boot = 1;
            break;
        case OPT_NO_SECURE_BOOT:
            o.secure_boot = 0;
            break;
        case OPT_MACHINE:
            o.machine = v;
            break;
        case OPT_TYPE:
            o.domain_type = v;
            break;
        case OPT_NAME:
            o.name = v;
            break;
        case OPT_DISK_BUS:
            bus_given = true;
            o.disk_bus = strcmp(v, "virtio") == 0 ? H2K_BUS_VIRTIO
                         : strcmp(v, "sata") == 0 ? H2K_BUS_SATA
                                                  : H2K_BUS_UNKNOWN;
            break;
        case OPT_DISK_FORMAT:
            o.disk_format = h2k_disk_format_from_name(v);
            break;
        case OPT_WINDOWS_VIRTIO:
            o.windows_virtio = 1;
            break;
        case OPT_NO_GRAPHICS:
            o.graphics = 0;
            break;
        case OPT_OUTPUT_DIR:
            o.output_dir = v;
            break;
        case OPT_NVRAM:
            o.nvram_path = v;
            break;
        case OPT_OUTPUT:
            output = v;
            break;
        case OPT_DEFINE:
            define = true;
            define_uri = v;
            break;
        case OPT_CONNECT:
            connect = v;
            break;
        default:
            break;
        }
    }
    if (n_disks == 0) {
        rc = cli_usage_error(p->cmd, "give at least one disk (IMAGE or --disk PATH)");
        goto done;
    }
    if (connect && !define) {
        rc = cli_usage_error(p->cmd, "--connect is the URI for --define; give --define too");
        goto done;
    }
    if (connect && define_uri && strcmp(connect, define_uri) != 0) {
        rc = cli_usage_error(p->cmd, "--define %s and --connect %s name different URIs", define_uri,
                             connect);
        goto done;
    }
    if (define)
        define_uri = connect ? connect : define_uri ? define_uri : cli_default_connect_uri();
    o.network_map = map;
    o.n_network_map = n_map;

    int r;
    if (spec_path) {
        r = read_spec(env->ctx, spec_path, &spec);
    } else {
        /* from the disks alone: what the guest is (firmware, Windows or not)
         * comes from inspecting it */
        r = spec_from_disks(disks, n_disks, &spec);
        if (r == 0)
            r = h2k_guest_detector_new(env->ctx, &det);
        if (r == 0)
            r = h2k_guest_detect_image(det, disks, NULL, n_disks, &id);
        if (r == 0 && !bus_given && !(id->type == H2K_GUEST_WINDOWS && !o.windows_virtio))
            o.disk_bus = H2K_BUS_VIRTIO;
    }
    if (r == 0)
        r = h2k_domain_xml(env->ctx, spec, id, disks, n_disks, &o, &xml);
    if (r == 0 && output)
        r = h2k_output_write_file(env->ctx, output, xml);
    if (r == 0 && define)
        r = h2k_output_define(env->ctx, define_uri, xml, &defined);
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
            json_object_object_add(j, "uri", json_object_new_string(define_uri));
        }
        cli_print_json(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    } else {
        /* the XML itself is escaped by libxml2 and goes out as it is */
        if (!output && !define)
            fputs(xml, stdout);
        if (output && !env->quiet)
            printf("wrote %s\n", cli_safe(env, output));
        if (defined && !env->quiet)
            printf("defined domain %s\n", cli_safe(env, defined));
    }
    rc = CLI_EXIT_OK;
done:
    free(defined);
    free(xml);
    h2k_guest_identity_free(id);
    h2k_guest_detector_free(det);
    h2k_vm_spec_free(spec);
    for (size_t i = 0; map_storage && i < n_map; i++)
        free(map_storage[i]);
    free(map_storage);
    free(map);
    free(disks);
    return rc;
}

const cli_command cli_cmd_xml = {
    "xml",
    "[IMAGE...]",
    "libvirt domain XML of a VM: from its descriptor (--spec), or from its disks alone",
    0,
    -1,
    xml_tables,
    run_xml,
};
