/* hyper2kvm probe / convert / ovf: the disk layer on the command line. */
#include <getopt.h>
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
    const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double d = (double)v;
    size_t u = 0;
    while (d >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        d /= 1024.0;
        u++;
    }
    snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", d, units[u]);
}

static void
print_info_text(const h2k_disk_info *info)
{
    char vs[32], as[32];
    human_size(info->virtual_size, vs, sizeof(vs));
    human_size(info->allocated_size, as, sizeof(as));
    printf("path:           %s\n", info->path);
    printf("format:         %s\n", h2k_disk_format_name(info->format));
    printf("subformat:      %s\n", info->subformat ? info->subformat : "-");
    printf("virtual size:   %s (%" PRIu64 " bytes)\n", vs, info->virtual_size);
    printf("allocated size: %s (%" PRIu64 " bytes)\n", as, info->allocated_size);
    if (info->offset)
        printf("offset:         %" PRIu64 "\n", info->offset);
    printf("chain:          %zu layer%s\n", info->n_layers, info->n_layers == 1 ? "" : "s");
    for (size_t i = 0; i < info->n_layers; i++) {
        const h2k_disk_layer *l = &info->layers[i];
        printf("  [%zu] %s (%s%s%s)%s%s\n", i, l->path, h2k_disk_format_name(l->format),
               l->subformat ? ", " : "", l->subformat ? l->subformat : "",
               l->id ? " id " : "", l->id ? l->id : "");
        for (size_t e = 0; e < l->n_extents; e++) {
            const h2k_disk_extent *x = &l->extents[e];
            printf("      extent %s %s %" PRIu64 " sectors %s\n", x->access ? x->access : "-",
                   x->type ? x->type : "-", x->sectors, x->path ? x->path : "(none)");
        }
    }
}

int
cmd_probe(cli_env *env, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'j' },
        { "format", required_argument, NULL, 'f' },
        { "offset", required_argument, NULL, 'o' },
        { "no-chain", no_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    h2k_probe_options opts = H2K_PROBE_OPTIONS_INIT;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jf:o:nh", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': env->json = true; break;
        case 'f':
            opts.format = h2k_disk_format_from_name(optarg);
            if (opts.format == H2K_FORMAT_UNKNOWN) {
                fprintf(stderr, "hyper2kvm probe: unknown format %s\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'o': {
            unsigned long long v;
            if (!cli_parse_size(optarg, &v)) {
                fprintf(stderr, "hyper2kvm probe: bad offset %s\n", optarg);
                return CLI_EXIT_USAGE;
            }
            opts.offset = v;
            break;
        }
        case 'n': opts.follow_chain = 0; break;
        case 'h':
            printf("usage: hyper2kvm probe FILE [--json] [--format FMT] [--offset N] "
                   "[--no-chain]\n");
            return CLI_EXIT_OK;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: hyper2kvm probe FILE [--json]\n");
        return CLI_EXIT_USAGE;
    }
    cli_setup_output(env);
    h2k_disk_info *info = NULL;
    int rc = h2k_disk_probe(env->ctx, argv[optind], &opts, &info);
    if (rc < 0)
        return cli_report_error(env, rc);
    if (env->json) {
        char *j = h2k_disk_info_to_json(info);
        cli_print_json(j);
        free(j);
    } else {
        print_info_text(info);
    }
    h2k_disk_info_free(info);
    return CLI_EXIT_OK;
}

int
cmd_convert(cli_env *env, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'j' },
        { "format", required_argument, NULL, 'f' },
        { "compress", no_argument, NULL, 'c' },
        { "compression", required_argument, NULL, 'C' },
        { "overwrite", no_argument, NULL, 'O' },
        { "no-sync", no_argument, NULL, 'S' },
        { "source-format", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    h2k_convert_options opts = H2K_CONVERT_OPTIONS_INIT;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jf:cC:OSs:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': env->json = true; break;
        case 'f':
            opts.output_format = h2k_disk_format_from_name(optarg);
            if (opts.output_format != H2K_FORMAT_QCOW2 && opts.output_format != H2K_FORMAT_RAW) {
                fprintf(stderr, "hyper2kvm convert: --format must be qcow2 or raw\n");
                return CLI_EXIT_USAGE;
            }
            break;
        case 'c': opts.compress = 1; break;
        case 'C':
            if (strcmp(optarg, "zstd") != 0 && strcmp(optarg, "zlib") != 0) {
                fprintf(stderr, "hyper2kvm convert: --compression must be zstd or zlib\n");
                return CLI_EXIT_USAGE;
            }
            opts.compression_type = optarg;
            opts.compress = 1;
            break;
        case 'O': opts.overwrite = 1; break;
        case 'S': opts.no_sync = 1; break;
        case 's':
            opts.source_format = h2k_disk_format_from_name(optarg);
            if (opts.source_format == H2K_FORMAT_UNKNOWN) {
                fprintf(stderr, "hyper2kvm convert: unknown format %s\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'h':
            printf("usage: hyper2kvm convert SRC DST [--format qcow2|raw] [--compress] "
                   "[--compression zstd|zlib] [--overwrite] [--no-sync] [--source-format FMT] "
                   "[--json]\n");
            return CLI_EXIT_OK;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc - 2) {
        fprintf(stderr, "usage: hyper2kvm convert SRC DST [--format qcow2|raw] [--compress]\n");
        return CLI_EXIT_USAGE;
    }
    if (opts.compress && opts.output_format == H2K_FORMAT_RAW) {
        fprintf(stderr, "hyper2kvm convert: --compress needs --format qcow2\n");
        return CLI_EXIT_USAGE;
    }
    cli_setup_output(env);
    h2k_convert_result *res = NULL;
    int rc = h2k_disk_convert(env->ctx, argv[optind], argv[optind + 1], &opts, &res);
    cli_progress_finish();
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
        json_object_object_add(o, "virtual_size", json_object_new_int64((int64_t)res->virtual_size));
        json_object_object_add(o, "output_size", json_object_new_int64((int64_t)res->output_size));
        json_object_object_add(o, "chain_length", json_object_new_int64((int64_t)res->chain_length));
        json_object_object_add(o, "duration_seconds", json_object_new_double(res->duration_seconds));
        cli_print_json(json_object_to_json_string_ext(
            o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else if (!env->quiet) {
        char os[32];
        human_size(res->output_size, os, sizeof(os));
        printf("converted %s (%s, %zu layer%s) -> %s (%s, %s) in %.1f s\n", res->source_path,
               h2k_disk_format_name(res->source_format), res->chain_length,
               res->chain_length == 1 ? "" : "s", res->output_path,
               h2k_disk_format_name(res->output_format), os, res->duration_seconds);
    }
    h2k_convert_result_free(res);
    return CLI_EXIT_OK;
}

int
cmd_ovf(cli_env *env, int argc, char **argv)
{
    bool verify = true;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            env->json = true;
        else if (strcmp(argv[i], "--no-verify") == 0)
            verify = false;
        else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "usage: hyper2kvm ovf FILE.ovf|FILE.ova|FILE.vmx [--json] "
                            "[--no-verify]\n");
            return CLI_EXIT_USAGE;
        } else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: hyper2kvm ovf FILE.ovf|FILE.ova|FILE.vmx [--json]\n");
        return CLI_EXIT_USAGE;
    }
    cli_setup_output(env);
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
        printf("name:      %s\n", spec->name ? spec->name : "-");
        printf("memory:    %" PRIu64 " bytes\n", spec->memory_bytes);
        printf("vcpus:     %u\n", spec->vcpus);
        printf("firmware:  %s%s\n", h2k_firmware_name(spec->firmware),
               spec->secure_boot ? " (secure boot)" : "");
        printf("os type:   %s\n", spec->os_type ? spec->os_type : "-");
        for (size_t i = 0; i < spec->n_disks; i++)
            printf("disk %zu:    [%s] %s\n", i, h2k_bus_name(spec->disks[i].bus),
                   spec->disks[i].path ? spec->disks[i].path : "-");
        for (size_t i = 0; i < spec->n_removables; i++)
            printf("removable: %s [%s] slot %d\n", spec->removables[i].kind,
                   h2k_bus_name(spec->removables[i].bus), spec->removables[i].slot);
        for (size_t i = 0; i < spec->n_nics; i++)
            printf("nic %zu:     %s %s \"%s\" [%s]\n", i,
                   spec->nics[i].mac ? spec->nics[i].mac : "-",
                   spec->nics[i].is_bridge ? "bridge" : "network",
                   spec->nics[i].network ? spec->nics[i].network : "",
                   spec->nics[i].model ? spec->nics[i].model : "-");
    }
    free(j);
    h2k_vm_spec_free(spec);
    return CLI_EXIT_OK;
}
