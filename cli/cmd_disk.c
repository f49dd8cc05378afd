/* hyper2kvm probe / convert / ovf: the disk layer on the command line. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "cli.h"

static void
human_size(uint64_t v, char *buf, size_t n)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double d = (double)v;
    size_t u = 0;
    while (d >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        d /= 1024.0;
        u++;
    }
    snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", d, units[u]);
}

static void
print_info_text(cli_env *env, const h2k_disk_info *info)
{
    char vs[32], as[32];
    human_size(info->virtual_size, vs, sizeof(vs));
    human_size(info->allocated_size, as, sizeof(as));
    printf("path:           %s\n", cli_safe(env, info->path));
    printf("format:         %s\n", h2k_disk_format_name(info->format));
    printf("subformat:      %s\n", cli_safe(env, info->subformat));
    printf("virtual size:   %s (%" PRIu64 " bytes)\n", vs, info->virtual_size);
    printf("allocated size: %s (%" PRIu64 " bytes)\n", as, info->allocated_size);
    if (info->offset)
        printf("offset:         %" PRIu64 "\n", info->offset);
    printf("chain:          %zu layer%s\n", info->n_layers, info->n_layers == 1 ? "" : "s");
    for (size_t i = 0; i < info->n_layers; i++) {
        const h2k_disk_layer *l = &info->layers[i];
        printf("  [%zu] %s (%s%s%s)%s%s\n", i, cli_safe(env, l->path),
               h2k_disk_format_name(l->format), l->subformat ? ", " : "",
               l->subformat ? cli_safe(env, l->subformat) : "", l->id ? " id " : "",
               l->id ? cli_safe(env, l->id) : "");
        for (size_t e = 0; e < l->n_extents; e++) {
            const h2k_disk_extent *x = &l->extents[e];
            printf("      extent %s %s %" PRIu64 " sectors %s\n", cli_safe(env, x->access),
                   cli_safe(env, x->type), x->sectors, x->path ? cli_safe(env, x->path) : "(none)");
        }
    }
}

static const cli_option probe_options[] = {
    {OPT_INPUT_FORMAT, "input-format", 0, NULL, "FMT", "raw|vmdk|vhd|vhdx|qcow2", 0,
     "read FILE as this format instead of probing it"},
    {OPT_OFFSET, "offset", 0, NULL, "N", NULL, 0, "the image starts N bytes into FILE"},
    {OPT_NO_CHAIN, "no-chain", 0, NULL, NULL, NULL, 0, "do not follow the snapshot chain"},
    {0},
};

static const cli_option *const probe_tables[] = {probe_options, NULL};

static int
run_probe(cli_env *env, const cli_parsed *p)
{
    h2k_probe_options opts = H2K_PROBE_OPTIONS_INIT;
    for (size_t i = 0; i < p->n_items; i++) {
        const cli_item *it = &p->items[i];
        switch (it->opt->id) {
        case OPT_INPUT_FORMAT:
            opts.format = h2k_disk_format_from_name(it->value);
            break;
        case OPT_OFFSET: {
            unsigned long long v;
            if (!cli_parse_size(it->value, &v))
                return cli_usage_error(p->cmd, "bad --offset '%s'", it->value);
            opts.offset = v;
            break;
        }
        case OPT_NO_CHAIN:
            opts.follow_chain = 0;
            break;
        default:
            break;
        }
    }
    h2k_disk_info *info = NULL;
    int rc = h2k_disk_probe(env->ctx, p->pos[0], &opts, &info);
    if (rc < 0)
        return cli_report_error(env, rc);
    if (env->json) {
        char *j = h2k_disk_info_to_json(info);
        cli_print_json(j);
        free(j);
    } else {
        print_info_text(env, info);
    }
    h2k_disk_info_free(info);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_probe = {
    "probe",   "FILE", "format, variant, sizes, snapshot chain and extents of a disk image",
    1,         1,      probe_tables,
    run_probe,
};

static const cli_option convert_options[] = {
    {OPT_OUTPUT_FORMAT, "output-format", 'O', "format", "FMT", "qcow2|raw", 0,
     "format of DST (default qcow2)"},
    {OPT_INPUT_FORMAT, "input-format", 0, "source-format", "FMT", "raw|vmdk|vhd|vhdx|qcow2", 0,
     "read SRC as this format instead of probing it"},
    {OPT_COMPRESS, "compress", 0, NULL, NULL, NULL, 0, "compress qcow2 clusters (zstd)"},
    {OPT_COMPRESSION, "compression", 0, NULL, "TYPE", "zstd|zlib", 0,
     "compression type (implies --compress)"},
    {OPT_OVERWRITE, "overwrite", 0, NULL, NULL, NULL, 0, "replace an existing DST"},
    {OPT_NO_SYNC, "no-sync", 0, NULL, NULL, NULL, 0, "do not fsync DST (faster, not durable)"},
    {0},
};

static const cli_option *const convert_tables[] = {convert_options, NULL};

static int
run_convert(cli_env *env, const cli_parsed *p)
{
    h2k_convert_options opts = H2K_CONVERT_OPTIONS_INIT;
    for (size_t i = 0; i < p->n_items; i++) {
        const cli_item *it = &p->items[i];
        switch (it->opt->id) {
        case OPT_OUTPUT_FORMAT:
            opts.output_format = h2k_disk_format_from_name(it->value);
            break;
        case OPT_INPUT_FORMAT:
            opts.source_format = h2k_disk_format_from_name(it->value);
            break;
        case OPT_COMPRESS:
            opts.compress = 1;
            break;
        case OPT_COMPRESSION:
            opts.compression_type = it->value;
            opts.compress = 1;
            break;
        case OPT_OVERWRITE:
            opts.overwrite = 1;
            break;
        case OPT_NO_SYNC:
            opts.no_sync = 1;
            break;
        default:
            break;
        }
    }
    if (opts.compress && opts.output_format == H2K_FORMAT_RAW)
        return cli_usage_error(p->cmd, "--compress needs --output-format qcow2");
    h2k_convert_result *res = NULL;
    int rc = h2k_disk_convert(env->ctx, p->pos[0], p->pos[1], &opts, &res);
    cli_progress_finish(env);
    if (rc < 0)
        return cli_report_error(env, rc);
    if (env->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "source_path", json_object_new_string(res->source_path));
        json_object_object_add(o, "output_path", json_object_new_string(res->output_path));
        json_object_object_add(o, "source_format",
                               json_object_new_string(h2k_disk_format_name(res->source_format)));
        json_object_object_add(o, "format",
                               json_object_new_string(h2k_disk_format_name(res->output_format)));
        json_object_object_add(o, "virtual_size",
                               json_object_new_int64((int64_t)res->virtual_size));
        json_object_object_add(o, "output_size", json_object_new_int64((int64_t)res->output_size));
        json_object_object_add(o, "chain_length",
                               json_object_new_int64((int64_t)res->chain_length));
        json_object_object_add(o, "duration_seconds",
                               json_object_new_double(res->duration_seconds));
        cli_print_json(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else if (!env->quiet) {
        char os[32];
        human_size(res->output_size, os, sizeof(os));
        printf("converted %s (%s, %zu layer%s) -> %s (%s, %s) in %.1f s\n",
               cli_safe(env, res->source_path), h2k_disk_format_name(res->source_format),
               res->chain_length, res->chain_length == 1 ? "" : "s",
               cli_safe(env, res->output_path), h2k_disk_format_name(res->output_format), os,
               res->duration_seconds);
    }
    h2k_convert_result_free(res);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_convert = {
    "convert",   "SRC DST", "convert a disk image (snapshot chain flattened) with qemu-img",
    2,           2,         convert_tables,
    run_convert,
};

static const cli_option ovf_options[] = {
    {OPT_NO_VERIFY, "no-verify", 0, NULL, NULL, NULL, 0, "do not verify an OVA's manifest"},
    {0},
};

static const cli_option *const ovf_tables[] = {ovf_options, NULL};

static int
run_ovf(cli_env *env, const cli_parsed *p)
{
    bool verify = true;
    const char *path = p->pos[0];
    for (size_t i = 0; i < p->n_items; i++)
        if (p->items[i].opt->id == OPT_NO_VERIFY)
            verify = false;
    h2k_vm_spec *spec = NULL;
    int rc;
    size_t n = strlen(path);
    if (n >= 4 && strcasecmp(path + n - 4, ".vmx") == 0) {
        rc = h2k_vmx_parse_file(env->ctx, path, &spec);
    } else if (n >= 4 && strcasecmp(path + n - 4, ".ova") == 0) {
        h2k_ova *ova = NULL;
        rc = h2k_ova_open(env->ctx, path, &ova);
        if (rc == 0 && verify)
            rc = h2k_ova_verify_manifest(env->ctx, ova);
        if (rc == 0)
            rc = h2k_ova_read_spec(env->ctx, ova, &spec);
        h2k_ova_free(ova);
    } else {
        rc = h2k_ovf_parse_file(env->ctx, path, &spec);
    }
    if (rc < 0)
        return cli_report_error(env, rc);
    char *j = h2k_vm_spec_to_json(spec);
    if (env->json) {
        cli_print_json(j);
    } else {
        printf("name:      %s\n", cli_safe(env, spec->name));
        printf("memory:    %" PRIu64 " bytes\n", spec->memory_bytes);
        printf("vcpus:     %u\n", spec->vcpus);
        printf("firmware:  %s%s\n", h2k_firmware_name(spec->firmware),
               spec->secure_boot ? " (secure boot)" : "");
        printf("os type:   %s\n", cli_safe(env, spec->os_type));
        for (size_t i = 0; i < spec->n_disks; i++)
            printf("disk %zu:    [%s] %s\n", i, h2k_bus_name(spec->disks[i].bus),
                   cli_safe(env, spec->disks[i].path));
        for (size_t i = 0; i < spec->n_removables; i++)
            printf("removable: %s [%s] slot %d\n", cli_safe(env, spec->removables[i].kind),
                   h2k_bus_name(spec->removables[i].bus), spec->removables[i].slot);
        for (size_t i = 0; i < spec->n_nics; i++)
            printf("nic %zu:     %s %s \"%s\" [%s]\n", i, cli_safe(env, spec->nics[i].mac),
                   spec->nics[i].is_bridge ? "bridge" : "network",
                   spec->nics[i].network ? cli_safe(env, spec->nics[i].network) : "",
                   cli_safe(env, spec->nics[i].model));
    }
    free(j);
    h2k_vm_spec_free(spec);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_ovf = {
    "ovf",
    "FILE.ovf|FILE.ova|FILE.vmx",
    "read a VM description as its descriptor states it",
    1,
    1,
    ovf_tables,
    run_ovf,
};
