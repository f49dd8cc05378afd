/*
 * The orchestrator: one VM from its inputs to converted, repaired, described
 * and (optionally) boot-tested outputs.  See h2k_orchestrator.h.
 */
#define _GNU_SOURCE /* pthread_tryjoin_np */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hyper2kvm/h2k_fix.h"
#include "hyper2kvm/h2k_guest.h"
#include "hyper2kvm/h2k_output.h"
#include "hyper2kvm/h2k_test.h"
#include "disk/convert_internal.h"
#include "disk/format_claim.h"
#include "disk/ova_internal.h"
#include "fix/fix_bootprobe.h"
#include "guest/detect_files.h"
#include "orch_internal.h"
#include "output/output_internal.h"
#include "sched.h"
#include "boottest/boot_disks.h"
#include "boottest/boot_internal.h"

#define DOM "orchestrator"

/* Everything one run owns until it ends. */
typedef struct run_state {
    bool windows_guest;       /* the fixer found Windows */
    h2k_firmware guest_fw;    /* what the inspection found (ESP, boot loader), or UNKNOWN */
    unsigned guest_x86_level; /* what its OS needs of the CPU (x86-64-vN), 0: not known */
    h2k_ctx *ctx;
    const h2k_run_options *opts;
    h2k_migration_result *res;
    h2k_disk_format out_fmt;
    h2k_disk_format in_fmt; /* the caller's input_format, else UNKNOWN (detect) */
    unsigned out_mode;      /* permission bits of the output disks */
    char *work_dir;
    char *out_dir; /* absolute */
    int created_out_dir;
    size_t n;       /* disks */
    char **sources; /* path qemu reads (the source, an extracted or inflated OVA member;
                       NULL for a member read in place) */
    h2k_disk_format *src_fmts;
    char **overlays;
    char **outputs; /* final output paths */
    int *finalised;
    char *xml; /* the domain XML text, made while the guest is open */
    char *xml_path;
    /* a vSphere source */
    h2k_vmware_export_result *exp;
    char *staging; /* the export's folder */
    /* an OVA source: its manifests' digests, checked as members are copied */
    h2k_ova *ova;
    hk_ova_digest *digests;
    size_t n_digests;
    /* per disk: an OVA member read in place (1), or gzip-compressed (2) */
    int *member_mode;
    /* a boot test after repairs: the repair appliance stays up until the boot
     * probe is written into the repaired overlay (one appliance per VM); the
     * output is copied from the overlay before, in shared mode */
    h2k_offline_fixer *fx_open;
    /* a run of a batch: the gate of the appliance-bound stages (sched.h),
     * the VM's name in its events, and whether this run holds a slot */
    hk_sched *sched;
    const char *vm;
    bool gated;
    /* OUTPUT_DIR/<name>.boot-console.log: the boot test's serial console, kept
     * only when the proof fails */
    char *boot_console;
} run_state;

static const char *
base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* "disk.vmdk" -> "disk"; '/' and control characters become '_'.  Caller frees. */
static char *
name_from_file(const char *path)
{
    char *n = strdup(base_name(path));
    if (!n)
        return NULL;
    char *dot = strrchr(n, '.');
    if (dot && dot != n)
        *dot = '\0';
    return n;
}

static void
sanitize_name(char *n)
{
    for (char *p = n; *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '_';
}

/* ---------------------------------------------------------------- spec */

/* The disks a VMX or OVF names must lie beside it (or under an allowed root):
 * each becomes the resolved file; a missing one is left to the probe. */
static int
check_disk_references(h2k_ctx *ctx, const char *descriptor, h2k_vm_spec *spec)
{
    for (size_t i = 0; i < spec->n_disks; i++) {
        h2k_vm_disk *d = &spec->disks[i];
        if (d->container_path || !d->path)
            continue;
        char *resolved = NULL;
        int rc = hk_resolve_reference(ctx, descriptor, d->file_ref ? d->file_ref : d->path,
                                      hk_endswith_nocase(descriptor, ".vmx") ? "fileName" : "href",
                                      &resolved);
        if (rc == H2K_ERR_NOT_FOUND) {
            free(resolved);
            h2k_ctx_clear_error(ctx);
            continue;
        }
        if (rc < 0)
            return rc;
        free(d->path);
        d->path = resolved;
    }
    return 0;
}

/* The file disk @i was read from (the OVA for a member), for output modes. */
static const char *
disk_source_file(const h2k_vm_spec *spec, size_t i)
{
    if (!spec || i >= spec->n_disks)
        return NULL;
    const h2k_vm_disk *d = &spec->disks[i];
    return d->container_path ? d->container_path : d->path;
}

/* The permission bits of the run's outputs: the caller's (0: 0600), never
 * wider than any source disk's. */
static unsigned
run_output_mode(const run_state *st)
{
    unsigned mode = st->opts->output_mode & 0666;
    if (!mode)
        mode = 0600;
    const h2k_vm_spec *spec = st->res ? st->res->spec : NULL;
    for (size_t i = 0; spec && i < spec->n_disks; i++) {
        struct stat sb;
        const char *src = disk_source_file(spec, i);
        if (src && stat(src, &sb) == 0)
            mode = hk_output_mode(mode, &sb);
    }
    return mode;
}

static int
build_spec(run_state *st, h2k_ova **ova_out)
{
    h2k_ctx *ctx = st->ctx;
    const h2k_run_options *o = st->opts;
    h2k_vm_spec *spec = NULL;
    int rc = 0;
    const char *first = st->exp ? st->exp->ovf_path : o->inputs[0];
    bool descriptor = !st->exp && o->n_inputs == 1 &&
                      (hk_endswith_nocase(first, ".ova") || hk_endswith_nocase(first, ".ovf") ||
                       hk_endswith_nocase(first, ".vmx"));
    if (st->exp) {
        /* the VM as the server describes it, with the exported disks */
        spec = st->exp->spec;
        st->exp->spec = NULL;
        if (!spec || spec->n_disks == 0) {
            h2k_vm_spec_free(spec);
            return hk_error_at(ctx, H2K_ERR_VALIDATION, o->vmware_vm, -1, "disks",
                               "the VM has no hard disk to migrate");
        }
    } else if (descriptor) {
        if (hk_endswith_nocase(first, ".ova")) {
            if ((rc = h2k_ova_open(ctx, first, ova_out)) < 0)
                return rc;
            rc = h2k_ova_read_spec(ctx, *ova_out, &spec);
            /* a gzip-compressed member is inflated into the work folder: its
               window (the stored bytes) is where it is read from */
            for (size_t i = 0; rc == 0 && i < spec->n_disks; i++) {
                h2k_vm_disk *d = &spec->disks[i];
                size_t mi = d->path && !d->container_path && d->compression &&
                                    hk_streq_nocase(d->compression, "gzip")
                                ? hk_ova_member_index(*ova_out, d->path)
                                : SIZE_MAX;
                if (mi == SIZE_MAX)
                    continue;
                const h2k_ova_member *m = h2k_ova_member_at(*ova_out, mi);
                if (!(d->container_path = strdup(hk_ova_path(*ova_out))))
                    rc = hk_error_nomem(ctx);
                d->container_offset = m->offset;
                d->container_size = m->size;
            }
        } else if (hk_endswith_nocase(first, ".ovf")) {
            rc = h2k_ovf_parse_file(ctx, first, &spec);
        } else {
            rc = h2k_vmx_parse_file(ctx, first, &spec);
        }
        if (rc < 0)
            return rc;
        if (spec->n_disks == 0) {
            h2k_vm_spec_free(spec);
            return hk_error_at(ctx, H2K_ERR_VALIDATION, first, -1, "disks",
                               "the VM description lists no hard disk");
        }
        if ((rc = check_disk_references(ctx, first, spec)) < 0) {
            h2k_vm_spec_free(spec);
            return rc;
        }
    } else {
        for (size_t i = 0; i < o->n_inputs; i++) {
            const char *in = o->inputs[i];
            if (hk_endswith_nocase(in, ".ova") || hk_endswith_nocase(in, ".ovf") ||
                hk_endswith_nocase(in, ".vmx"))
                return hk_error_at(ctx, H2K_ERR_INVALID_ARG, in, -1, "inputs",
                                   "a VM description must be the only input");
        }
        spec = h2k_vm_spec_new();
        if (!spec)
            return hk_error_nomem(ctx);
        spec->source_type = strdup("disk");
        spec->name = name_from_file(first);
        spec->disks = calloc(o->n_inputs, sizeof(*spec->disks));
        if (!spec->source_type || !spec->name || !spec->disks) {
            h2k_vm_spec_free(spec);
            return hk_error_nomem(ctx);
        }
        spec->n_disks = o->n_inputs;
        for (size_t i = 0; i < o->n_inputs; i++) {
            h2k_vm_disk *d = &spec->disks[i];
            d->path = hk_abspath(o->inputs[i]);
            d->file_ref = strdup(o->inputs[i]);
            d->bus = H2K_BUS_UNKNOWN;
            d->controller_index = -1;
            d->unit = (int)i;
            if (!d->path || !d->file_ref) {
                h2k_vm_spec_free(spec);
                return hk_error_nomem(ctx);
            }
        }
    }
    /* NICs given by the caller replace or complete the spec's */
    if (o->n_nic_macs > 0) {
        size_t n = o->n_nic_macs > spec->n_nics ? o->n_nic_macs : spec->n_nics;
        h2k_vm_nic *nics = calloc(n, sizeof(*nics));
        if (!nics) {
            h2k_vm_spec_free(spec);
            return hk_error_nomem(ctx);
        }
        if (spec->n_nics)
            memcpy(nics, spec->nics, spec->n_nics * sizeof(*nics));
        for (size_t i = 0; i < o->n_nic_macs; i++) {
            free(nics[i].mac);
            nics[i].mac = strdup(o->nic_macs[i]);
            for (char *p = nics[i].mac; p && *p; p++)
                if (*p >= 'A' && *p <= 'F')
                    *p = (char)(*p - 'A' + 'a');
        }
        free(spec->nics);
        spec->nics = nics;
        spec->n_nics = n;
    }
    if (o->name) {
        free(spec->name);
        spec->name = strdup(o->name);
    }
    if (!spec->name || !*spec->name) {
        free(spec->name);
        spec->name = name_from_file(first);
    }
    if (!spec->name) {
        h2k_vm_spec_free(spec);
        return hk_error_nomem(ctx);
    }
    sanitize_name(spec->name);
    st->res->spec = spec;
    st->res->name = strdup(spec->name);
    return st->res->name ? 0 : hk_error_nomem(ctx);
}

/* --------------------------------------------------------- work folder */

static int
make_work_dir(run_state *st)
{
    return hk_temp_dir(st->ctx, "h2k-run-", "work folder", &st->work_dir);
}

static void
remove_work_dir(run_state *st)
{
    if (!st->work_dir)
        return;
    for (size_t i = 0; i < st->n; i++) {
        if (st->overlays && st->overlays[i])
            unlink(st->overlays[i]);
        if (st->sources && st->sources[i] && hk_startswith(st->sources[i], st->work_dir))
            unlink(st->sources[i]);
    }
    /* anything else a backend left behind (one level deep) */
    hk_remove_tree(st->work_dir);
    free(st->work_dir);
    st->work_dir = NULL;
}

/* Copies @size bytes at @offset of @ova into @dst (an OVA member read in
 * place), hashing them on the way with @h (may be NULL) and checking the
 * digests once the last byte is read: a mismatch fails the copy. */
static int
extract_member(h2k_ctx *ctx, const char *ova, uint64_t offset, uint64_t size, const char *dst,
               hk_ova_hasher *h)
{
    int in = hk_open_input(ctx, ova, "OVA", 0, NULL);
    if (in < 0)
        return in;
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) {
        int rc = hk_error_errno(ctx, errno, dst, "cannot create");
        close(in);
        return rc;
    }
    int rc = 0;
    /* one buffer per call: runs of a batch extract members on several threads */
    enum {
        CHUNK = 1 << 20
    };
    char *buf = malloc(CHUNK);
    if (!buf) {
        close(in);
        close(out);
        return hk_error_nomem(ctx);
    }
    uint64_t done = 0;
    while (done < size) {
        if ((rc = hk_check_cancel(ctx)) < 0)
            break;
        size_t want = size - done > CHUNK ? CHUNK : (size_t)(size - done);
        if ((rc = hk_pread_exact(ctx, in, ova, buf, want, offset + done, "OVA member")) < 0)
            break;
        if ((rc = hk_ova_hasher_update(ctx, h, buf, want)) < 0)
            break;
        ssize_t w = write(out, buf, want);
        if (w != (ssize_t)want) {
            rc = hk_error_errno(ctx, w < 0 ? errno : ENOSPC, dst, "cannot write");
            break;
        }
        done += want;
    }
    free(buf);
    close(in);
    if (close(out) < 0 && rc == 0)
        rc = hk_error_errno(ctx, errno, dst, "cannot write");
    if (rc == 0)
        rc = hk_ova_hasher_check(ctx, h);
    return rc;
}

/* An OVA source: reads its manifests and checks the small members that are
 * read but not copied (the .ovf); the disks are checked as they are copied. */
static int
load_manifest(run_state *st)
{
    h2k_ctx *ctx = st->ctx;
    int rc = hk_ova_manifest_digests(ctx, st->ova, &st->digests, &st->n_digests);
    if (rc < 0)
        return rc;
    if (st->n_digests == 0) {
        hk_info(ctx, DOM, "%s: no manifest (.mf): digests not verified", hk_ova_path(st->ova));
        return 0;
    }
    for (size_t i = 0; i < st->n_digests; i++) {
        const h2k_ova_member *m = h2k_ova_member_at(st->ova, st->digests[i].member);
        if (m && hk_endswith_nocase(m->name, ".ovf") &&
            (rc = hk_ova_verify_member(ctx, st->ova, st->digests, st->n_digests,
                                       st->digests[i].member)) < 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------- export */

/* A vSphere source: the VM exported into a staging folder, OUTPUT_DIR/.<name>.export
 * (or a fresh folder under the temporary directory when nothing else is written
 * to OUTPUT_DIR). */
static int
stage_export(run_state *st)
{
    h2k_ctx *ctx = st->ctx;
    const h2k_run_options *o = st->opts;
    char *name = strdup(o->name ? o->name : o->azure ? hk_orch_azure_vm_name(o) : o->vmware_vm);
    if (!name)
        return hk_error_nomem(ctx);
    sanitize_name(name);
    int rc = 0;
    bool in_out_dir = o->output_dir && !(o->dry_run && o->report_path);
    if (o->output_dir && !(st->out_dir = hk_abspath(o->output_dir))) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    if (in_out_dir) {
        struct stat sb;
        char *xml = hk_asprintf("%s/%s.xml", st->out_dir, name);
        if (!xml) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
        /* before a long export: the run would stop there anyway */
        if (!o->dry_run && stat(xml, &sb) == 0)
            rc = hk_error_at(ctx, H2K_ERR_EXISTS, xml, -1, NULL, "the output already exists");
        free(xml);
        if (rc < 0)
            goto done;
        st->created_out_dir = stat(st->out_dir, &sb) != 0;
        if ((rc = hk_orch_mkdir_p(ctx, st->out_dir)) < 0)
            goto done;
        st->staging = hk_asprintf("%s/.%s.export", st->out_dir, name);
        if (!st->staging) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
    } else {
        if ((rc = hk_temp_dir(ctx, "h2k-export-", "export folder", &st->staging)) < 0)
            goto done;
    }
    if (o->azure)
        rc = hk_orch_azure_export(ctx, o->azure, o->azure_vm, st->staging, &st->exp);
    else
        rc = hk_orch_vmware_export(ctx, o->vmware, o->vmware_vm, o->vmware_transport, st->staging,
                                   &st->exp);
done:
    free(name);
    return rc;
}

/* -------------------------------------------------------------- probe */

enum {
    MEMBER_IN_PLACE = 1,
    MEMBER_GZIP = 2
};

static int
stage_probe(run_state *st)
{
    h2k_ctx *ctx = st->ctx;
    h2k_vm_spec *spec = st->res->spec;
    st->n = spec->n_disks;
    st->sources = calloc(st->n, sizeof(char *));
    st->src_fmts = calloc(st->n, sizeof(h2k_disk_format));
    st->overlays = calloc(st->n, sizeof(char *));
    st->outputs = calloc(st->n, sizeof(char *));
    st->finalised = calloc(st->n, sizeof(int));
    st->member_mode = calloc(st->n, sizeof(int));
    if (!st->sources || !st->src_fmts || !st->overlays || !st->outputs || !st->finalised ||
        !st->member_mode)
        return hk_error_nomem(ctx);
    for (size_t i = 0; i < st->n; i++) {
        const h2k_vm_disk *d = &spec->disks[i];
        hk_progress(ctx, "probe", i, st->n);
        h2k_probe_options po = H2K_PROBE_OPTIONS_INIT;
        const char *path = d->path;
        if (d->container_path && d->compression && hk_streq_nocase(d->compression, "gzip")) {
            /* probed once inflated (make_overlays) */
            st->member_mode[i] = MEMBER_GZIP;
            continue;
        }
        if (d->container_path) {
            if (d->compression)
                return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, d->container_path, -1, "compression",
                                   "disk %s of the OVA uses compression \"%s\", which is not "
                                   "known",
                                   d->file_ref ? d->file_ref : "?", d->compression);
            path = d->container_path;
            po.offset = d->container_offset;
            po.size = d->container_size;
        }
        if (!path)
            return hk_error_at(ctx, H2K_ERR_NOT_FOUND, spec->source_path, -1, "disks",
                               "disk %zu (%s) has no local file", i,
                               d->file_ref ? d->file_ref : "?");
        po.format = st->in_fmt;
        h2k_disk_info *info = NULL;
        int rc = h2k_disk_probe(ctx, path, &po, &info);
        if (rc < 0)
            return rc;
        if (d->container_path && st->in_fmt == H2K_FORMAT_UNKNOWN) {
            /* the member's name or the OVF's format URI claims a format */
            h2k_disk_format claim = hk_format_claimed_by_name(d->file_ref);
            const char *by = "its name in the OVA";
            if (d->format_hint && hk_startswith(d->format_hint, "vmdk")) {
                claim = H2K_FORMAT_VMDK;
                by = "the OVF's disk format";
            }
            uint8_t head[8] = {0};
            size_t hl = 0;
            int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
            if (fd >= 0) {
                ssize_t n = pread(fd, head, sizeof(head), (off_t)d->container_offset);
                hl = n > 0 ? (size_t)n : 0;
                close(fd);
            }
            char *what = hk_asprintf("%s (member %s)", path, d->file_ref ? d->file_ref : "?");
            rc = hk_format_claim_check(ctx, what ? what : path, claim, by, info->format, head, hl);
            free(what);
            if (rc < 0) {
                h2k_disk_info_free(info);
                return rc;
            }
        }
        st->src_fmts[i] = info->format;
        if (d->container_path) {
            /* read in place when the image is one file, the member itself */
            bool one = info->n_layers == 1 && h2k_disk_format_qemu_name(info->format);
            for (size_t e = 0; one && e < info->layers[0].n_extents; e++)
                one = !info->layers[0].extents[e].path ||
                      strcmp(info->layers[0].extents[e].path, info->layers[0].path) == 0;
            st->member_mode[i] = one ? MEMBER_IN_PLACE : 0;
        }
        uint64_t vsize = info->virtual_size;
        h2k_disk_info_free(info);
        if (vsize == 0)
            return hk_error_at(ctx, H2K_ERR_FORMAT, path, -1, "virtual_size",
                               "the disk has a virtual size of 0");
        st->sources[i] = d->container_path ? NULL : strdup(path);
        if (!d->container_path && !st->sources[i])
            return hk_error_nomem(ctx);
    }
    hk_progress(ctx, "probe", st->n, st->n);
    return 0;
}

/* A gzip-compressed OVA member: inflated into the work folder in one pass
 * (its stored bytes hashed against the manifest on the way), then probed as
 * any disk file.  The output may not grow past the OVF's capacity of the disk
 * plus 64 MiB of image metadata (or 16 TiB when the OVF gives none). */
static int
inflate_member(run_state *st, size_t i)
{
    h2k_ctx *ctx = st->ctx;
    const h2k_vm_disk *d = &st->res->spec->disks[i];
    size_t mi = hk_ova_member_by_offset(st->ova, d->container_offset);
    if (mi == SIZE_MAX)
        return hk_error_at(ctx, H2K_ERR_GENERIC, d->container_path, (int64_t)d->container_offset,
                           NULL, "no member at this offset");
    const h2k_ova_member *m = h2k_ova_member_at(st->ova, mi);
    st->sources[i] = hk_asprintf("%s/source%zu.img", st->work_dir, i);
    if (!st->sources[i])
        return hk_error_nomem(ctx);
    int fd = open(st->sources[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return hk_error_errno(ctx, errno, st->sources[i], "cannot create");
    hk_ova_hasher *h = NULL;
    int rc = 0;
    if (st->n_digests)
        rc = hk_ova_hasher_new(ctx, st->ova, st->digests, st->n_digests, mi, &h);
    uint64_t limit = d->capacity ? d->capacity + (UINT64_C(64) << 20) : 0;
    if (rc == 0)
        rc = hk_ova_gunzip_member(ctx, st->ova, mi, fd, st->sources[i], limit, h);
    hk_ova_hasher_free(h);
    if (close(fd) < 0 && rc == 0)
        rc = hk_error_errno(ctx, errno, st->sources[i], "cannot write");
    if (rc < 0)
        return rc;
    /* the member's name without ".gz" or the OVF's format claims a format */
    char *inner = hk_strdup0(m->name);
    if (!inner)
        return hk_error_nomem(ctx);
    if (hk_endswith_nocase(inner, ".gz"))
        inner[strlen(inner) - 3] = '\0';
    h2k_probe_options po = H2K_PROBE_OPTIONS_INIT;
    po.format = st->in_fmt;
    h2k_disk_info *info = NULL;
    rc = h2k_disk_probe(ctx, st->sources[i], &po, &info);
    if (rc == 0 && st->in_fmt == H2K_FORMAT_UNKNOWN) {
        h2k_disk_format claim = hk_format_claimed_by_name(inner);
        const char *by = "its name in the OVA";
        if (d->format_hint && hk_startswith(d->format_hint, "vmdk")) {
            claim = H2K_FORMAT_VMDK;
            by = "the OVF's disk format";
        }
        uint8_t head[8] = {0};
        size_t hl = 0;
        int rfd = open(st->sources[i], O_RDONLY | O_CLOEXEC);
        if (rfd >= 0) {
            ssize_t n = pread(rfd, head, sizeof(head), 0);
            hl = n > 0 ? (size_t)n : 0;
            close(rfd);
        }
        char *what = hk_asprintf("%s (member %s, inflated)", d->container_path, m->name);
        rc = hk_format_claim_check(ctx, what ? what : st->sources[i], claim, by, info->format, head,
                                   hl);
        free(what);
    }
    if (rc == 0 && (info->n_layers != 1 || info->layers[0].parent_hint))
        rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, d->container_path, (int64_t)d->container_offset,
                         m->name, "member %s is a snapshot whose parent is not in the member",
                         m->name);
    if (rc == 0 && info->virtual_size == 0)
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, d->container_path, (int64_t)d->container_offset,
                         "virtual_size", "member %s has a virtual size of 0", m->name);
    if (rc == 0)
        st->src_fmts[i] = info->format;
    hk_debug(ctx, DOM, "%s: member %s inflated into %s", d->container_path, m->name,
             st->sources[i]);
    h2k_disk_info_free(info);
    free(inner);
    return rc;
}

static int
make_overlays(run_state *st)
{
    h2k_ctx *ctx = st->ctx;
    h2k_vm_spec *spec = st->res->spec;
    for (size_t i = 0; i < st->n; i++) {
        const h2k_vm_disk *d = &spec->disks[i];
        int rc;
        if (d->container_path && st->member_mode[i] == MEMBER_GZIP) {
            if ((rc = inflate_member(st, i)) < 0)
                return rc;
        } else if (d->container_path && st->member_mode[i] == MEMBER_IN_PLACE) {
            /* an OVA member read where it lies: its digests checked first (one
               read, nothing written), then an overlay whose backing file is
               the member's window, pinned to the format the probe found */
            size_t mi = st->ova ? hk_ova_member_by_offset(st->ova, d->container_offset) : SIZE_MAX;
            if (mi != SIZE_MAX && st->n_digests &&
                (rc = hk_ova_verify_member(ctx, st->ova, st->digests, st->n_digests, mi)) < 0)
                return rc;
            char *real = realpath(d->container_path, NULL);
            if (!real)
                return hk_error_errno(ctx, errno, d->container_path, "cannot resolve");
            st->overlays[i] = hk_asprintf("%s/disk%zu.qcow2", st->work_dir, i + 1);
            rc = st->overlays[i]
                     ? hk_qcow2_overlay_window(ctx, real, d->container_offset, d->container_size,
                                               h2k_disk_format_qemu_name(st->src_fmts[i]),
                                               st->overlays[i])
                     : hk_error_nomem(ctx);
            free(real);
            if (rc < 0)
                return rc;
            hk_debug(ctx, DOM, "%s: disk %zu read in place at offset %llu", d->container_path,
                     i + 1, (unsigned long long)d->container_offset);
            continue;
        } else if (d->container_path) {
            /* an OVA member: extract only that member into the work folder */
            st->sources[i] = hk_asprintf("%s/source%zu.%s", st->work_dir, i,
                                         h2k_disk_format_name(st->src_fmts[i]));
            if (!st->sources[i])
                return hk_error_nomem(ctx);
            hk_ova_hasher *h = NULL;
            if (st->ova && st->n_digests) {
                size_t mi = hk_ova_member_by_offset(st->ova, d->container_offset);
                if (mi != SIZE_MAX &&
                    (rc = hk_ova_hasher_new(ctx, st->ova, st->digests, st->n_digests, mi, &h)) < 0)
                    return rc;
            }
            rc = extract_member(ctx, d->container_path, d->container_offset, d->container_size,
                                st->sources[i], h);
            hk_ova_hasher_free(h);
            if (rc < 0)
                return rc;
        }
        st->overlays[i] = hk_asprintf("%s/disk%zu.qcow2", st->work_dir, i + 1);
        if (!st->overlays[i])
            return hk_error_nomem(ctx);
        if ((rc = hk_qcow2_overlay(ctx, st->sources[i], h2k_disk_format_qemu_name(st->src_fmts[i]),
                                   st->overlays[i])) < 0)
            return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------- fix */

static int
stage_fix(run_state *st, h2k_domain_options *dom_opts)
{
    h2k_ctx *ctx = st->ctx;
    const h2k_run_options *o = st->opts;
    h2k_migration_result *res = st->res;
    h2k_vm_spec *spec = res->spec;
    h2k_fix_options fo = H2K_FIX_OPTIONS_INIT;
    fo.fixes = o->fixes;
    fo.dry_run = o->dry_run;
    fo.keep_mac = o->keep_mac;
    fo.virtio_win = o->virtio_win;
    h2k_fix_nic *nics = NULL;
    size_t n_nics = 0;
    if (spec->n_nics) {
        nics = calloc(spec->n_nics, sizeof(*nics));
        if (!nics)
            return hk_error_nomem(ctx);
        for (size_t i = 0; i < spec->n_nics; i++)
            if (spec->nics[i].mac)
                nics[n_nics++].mac = spec->nics[i].mac;
        fo.nics = nics;
        fo.n_nics = n_nics;
    }
    const char **formats = calloc(st->n, sizeof(char *));
    if (!formats) {
        free(nics);
        return hk_error_nomem(ctx);
    }
    for (size_t i = 0; i < st->n; i++)
        formats[i] = "qcow2";
    h2k_offline_fixer *fx = NULL;
    double t0 = hk_now();
    hk_progress(ctx, "fix", 0, 1000);
    int rc = h2k_offline_fixer_open(ctx, (const char *const *)st->overlays, formats, st->n, &fo,
                                    &fx);
    free(formats);
    if (rc < 0)
        goto done;
    /* part of "fix": appliance launch and inspection, reported on their own */
    hk_orch_add_timing(res, "launch", hk_now() - t0);
    const h2k_guest_identity *id = h2k_offline_fixer_identity(fx);
    if (id) {
        res->identity_json = h2k_guest_identity_to_json(id);
        st->guest_fw = id->firmware;
        st->guest_x86_level = hk_guest_x86_level(id->os_id, id->major_version);
    }
    hk_progress(ctx, "fix", 200, 1000);
    int run = h2k_offline_fixer_run_all(fx);
    if (run < 0 && run != H2K_ERR_FIXER) {
        rc = run;
        h2k_offline_fixer_close(fx);
        fx = NULL;
        goto done;
    }
    size_t nr = h2k_offline_fixer_result_count(fx);
    res->fixes = calloc(nr ? nr : 1, sizeof(*res->fixes));
    if (!res->fixes) {
        rc = hk_error_nomem(ctx);
        h2k_offline_fixer_close(fx);
        fx = NULL;
        goto done;
    }
    for (size_t i = 0; i < nr; i++) {
        const h2k_fix_result *fr = h2k_offline_fixer_result_at(fx, i);
        h2k_migration_fix *mf = &res->fixes[res->n_fixes++];
        mf->name = hk_strdup0(h2k_fix_kind_name(fr->kind));
        mf->status = hk_strdup0(h2k_fix_status_name(fr->status));
        mf->message = hk_strdup0(fr->message);
        if (fr->status == H2K_FIX_STATUS_FAILED)
            hk_orch_warn(ctx, res, "repair %s failed: %s", mf->name ? mf->name : "?",
                         fr->message ? fr->message : "");
    }
    res->fix_report_json = h2k_offline_fixer_report_json(fx);
    hk_progress(ctx, "fix", 1000, 1000);
    hk_orch_add_timing(res, "fix", hk_now() - t0);

    /* Windows: virtio disks and NICs only when the boot driver is in place */
    if (id && id->type == H2K_GUEST_WINDOWS) {
        st->windows_guest = true;
        dom_opts->windows_virtio = h2k_offline_fixer_virtio_ready(fx);
        if (!dom_opts->windows_virtio) {
            const char *why = "the virtio_win repair did not run";
            for (size_t i = 0; i < nr; i++) {
                const h2k_fix_result *fr = h2k_offline_fixer_result_at(fx, i);
                if (fr->kind == H2K_FIX_VIRTIO_WIN && fr->message)
                    why = fr->message;
            }
            hk_orch_warn(ctx, res,
                         "Windows guest without virtio drivers: SATA disks and an "
                         "e1000e NIC (%s)",
                         why);
        }
    }
    /* the XML needs the identity: make it now (written after the copy) */
    if (!o->dry_run) {
        rc = h2k_domain_xml(ctx, spec, id, (const char *const *)st->outputs, st->n, dom_opts,
                            &st->xml);
        if (rc < 0) {
            hk_error_set_stage(ctx, "xml");
            h2k_offline_fixer_close(fx);
            fx = NULL;
            goto done_staged;
        }
    }
    if (!o->dry_run && o->trim) {
        double t1 = hk_now();
        hk_progress(ctx, "trim", 0, 1);
        int tr = h2k_offline_fixer_trim(fx);
        if (tr == H2K_ERR_CANCELLED) {
            h2k_offline_fixer_close(fx);
            fx = NULL;
            rc = tr;
            hk_error_set_stage(ctx, "trim");
            goto done_staged;
        }
        if (tr < 0)
            hk_orch_warn(ctx, res, "trim failed: %s", h2k_ctx_last_error(ctx)->message);
        hk_progress(ctx, "trim", 1, 1);
        hk_orch_add_timing(res, "trim", hk_now() - t1);
    }
    if (!o->dry_run && o->test_boot && st->n == 1 && id && id->type == H2K_GUEST_LINUX) {
        /* kept for the boot probe: see stage_boot() */
        if ((rc = hk_fix_quiesce(fx)) == 0) {
            st->fx_open = fx;
            fx = NULL;
            goto done;
        }
        hk_orch_warn(ctx, res,
                     "the repair appliance cannot place the boot probe (%s): the "
                     "boot test launches its own",
                     h2k_ctx_last_error(ctx)->message);
        h2k_ctx_clear_error(ctx);
    }
    rc = h2k_offline_fixer_close(fx);
    fx = NULL;
done:
    if (rc < 0)
        hk_error_set_stage(ctx, "fix");
done_staged:
    free(nics);
    return rc;
}

/* --------------------------------------------------------------- gate */

/* Before an appliance-bound stage of a batch's run: waits for a slot of the
 * batch's gate (a run of its own has none).  Holding one already is fine. */
static int
gate_enter(run_state *st, const char *stage)
{
    if (!st->sched || st->gated)
        return 0;
    int rc = hk_sched_enter(st->sched, st->ctx, st->vm);
    if (rc < 0) {
        hk_error_set_stage(st->ctx, stage);
        return rc;
    }
    st->gated = true;
    return 0;
}

/* Gives the slot back as soon as the appliance-bound stage is over. */
static void
gate_leave(run_state *st)
{
    if (!st->gated)
        return;
    st->gated = false;
    hk_sched_leave(st->sched, st->vm);
}

/* --------------------------------------------------------------- copy */

typedef struct copy_job {
    run_state *st;
    pthread_mutex_t lock;
    size_t next;
    uint64_t total;
    uint64_t *done;  /* per disk */
    uint64_t *vsize; /* per disk */
    int rc;          /* first failure */
    size_t failed_disk;
    char *message; /* its message */
    char *stage;
    h2k_ctx **children;
    size_t n_children;
    int running;
} copy_job;

typedef struct copy_worker {
    copy_job *job;
    h2k_ctx *ctx;
    size_t disk;
} copy_worker;

static void
worker_progress(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    copy_worker *w = ud;
    copy_job *j = w->job;
    (void)stage;
    pthread_mutex_lock(&j->lock);
    uint64_t vs = j->vsize[w->disk];
    j->done[w->disk] = total ? (uint64_t)((double)done / (double)total * (double)vs) : 0;
    uint64_t sum = 0;
    for (size_t i = 0; i < j->st->n; i++)
        sum += j->done[i];
    hk_progress(j->st->ctx, "copy", sum, j->total);
    pthread_mutex_unlock(&j->lock);
}

static void
worker_log(void *ud, h2k_log_level level, const char *domain, const char *msg)
{
    copy_worker *w = ud;
    pthread_mutex_lock(&w->job->lock);
    hk_log(w->job->st->ctx, level, domain, "%s", msg);
    pthread_mutex_unlock(&w->job->lock);
}

static void *
copy_thread(void *arg)
{
    copy_worker *w = arg;
    copy_job *j = w->job;
    run_state *st = j->st;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t i = j->next++;
        bool stop = i >= st->n || j->rc < 0;
        pthread_mutex_unlock(&j->lock);
        if (stop)
            break;
        w->disk = i;
        h2k_convert_options co = H2K_CONVERT_OPTIONS_INIT;
        co.output_format = st->out_fmt;
        co.compress = st->opts->compress && st->out_fmt == H2K_FORMAT_QCOW2;
        co.compression_type = "zstd";
        co.source_format = H2K_FORMAT_QCOW2;
        h2k_convert_result *cr = NULL;
        /* the repair appliance still holds the overlay (flushed, idle) */
        int rc = st->fx_open
                     ? hk_disk_convert_shared(w->ctx, st->overlays[i], st->outputs[i], &co, &cr)
                     : h2k_disk_convert(w->ctx, st->overlays[i], st->outputs[i], &co, &cr);
        /* the overlay was the conversion's source: the mode follows the real one */
        if (rc == 0)
            rc = hk_output_mode_path(w->ctx, st->outputs[i], st->out_mode, NULL);
        pthread_mutex_lock(&j->lock);
        if (rc < 0) {
            if (j->rc == 0) {
                j->rc = rc;
                j->failed_disk = i;
                j->message = hk_strdup0(h2k_ctx_last_error(w->ctx)->message);
            }
        } else {
            st->finalised[i] = 1;
            j->done[i] = j->vsize[i];
            hk_orch_owner_add_done(st->work_dir, st->outputs[i]);
        }
        pthread_mutex_unlock(&j->lock);
        h2k_convert_result_free(cr);
    }
    return NULL;
}

/* A copy worker's context: the caller's allowed roots, and the overlays
 * (written by us, in the work folder) whose backing files it may follow. */
static int
allow_sources(const run_state *st, h2k_ctx *ctx, h2k_ctx *wctx)
{
    int rc = hk_ctx_copy_allowed_roots(ctx, wctx);
    for (size_t i = 0; rc == 0 && i < st->n; i++)
        if (st->overlays[i] && hk_ctx_trust_file(wctx, st->overlays[i]) < 0)
            rc = hk_error(ctx, H2K_ERR_IO, "%s", h2k_ctx_last_error(wctx)->message);
    return rc;
}

static int
stage_copy(run_state *st)
{
    h2k_ctx *ctx = st->ctx;
    const h2k_run_options *o = st->opts;
    copy_job j;
    memset(&j, 0, sizeof(j));
    j.st = st;
    hk_sched_event(st->sched, st->vm, "copy", 1);
    pthread_mutex_init(&j.lock, NULL);
    j.done = calloc(st->n, sizeof(uint64_t));
    j.vsize = calloc(st->n, sizeof(uint64_t));
    size_t nthreads = o->copy_threads ? o->copy_threads : 2;
    if (nthreads > st->n)
        nthreads = st->n;
    copy_worker *workers = calloc(nthreads, sizeof(*workers));
    pthread_t *tids = calloc(nthreads, sizeof(*tids));
    int rc = 0;
    size_t started = 0;
    if (!j.done || !j.vsize || !workers || !tids) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    for (size_t i = 0; i < st->n; i++) {
        struct stat sb;
        if (stat(st->outputs[i], &sb) == 0) {
            rc = hk_error_at(ctx, H2K_ERR_EXISTS, st->outputs[i], -1, NULL,
                             "the output already exists");
            hk_error_set_output(ctx, st->outputs[i]);
            goto done;
        }
        h2k_disk_info *info = NULL;
        h2k_probe_options po = H2K_PROBE_OPTIONS_INIT;
        po.follow_chain = 0;
        if (h2k_disk_probe(ctx, st->overlays[i], &po, &info) == 0)
            j.vsize[i] = info->virtual_size;
        h2k_disk_info_free(info);
        j.total += j.vsize[i];
    }
    hk_progress(ctx, "copy", 0, j.total);
    for (size_t t = 0; t < nthreads; t++) {
        workers[t].job = &j;
        if (h2k_ctx_new(&workers[t].ctx) < 0) {
            rc = hk_error_nomem(ctx);
            break;
        }
        h2k_ctx_set_tmpdir(workers[t].ctx, h2k_ctx_tmpdir(ctx));
        if ((rc = allow_sources(st, ctx, workers[t].ctx)) < 0) {
            h2k_ctx_free(workers[t].ctx);
            workers[t].ctx = NULL;
            break;
        }
        h2k_ctx_set_progress(workers[t].ctx, worker_progress, &workers[t]);
        h2k_ctx_set_log(workers[t].ctx, worker_log, &workers[t], H2K_LOG_DEBUG);
        if (pthread_create(&tids[t], NULL, copy_thread, &workers[t]) != 0) {
            h2k_ctx_free(workers[t].ctx);
            workers[t].ctx = NULL;
            rc = hk_error(ctx, H2K_ERR_GENERIC, "cannot start a copy thread");
            break;
        }
        started++;
    }
    if (rc < 0) {
        pthread_mutex_lock(&j.lock);
        j.rc = rc;
        pthread_mutex_unlock(&j.lock);
        for (size_t t = 0; t < started; t++)
            h2k_ctx_cancel(workers[t].ctx);
    }
    /* wait, passing a cancel of the caller's context on to the workers */
    for (size_t t = 0; t < started; t++) {
        for (;;) {
            if (h2k_ctx_is_cancelled(ctx))
                for (size_t k = 0; k < started; k++)
                    h2k_ctx_cancel(workers[k].ctx);
            if (pthread_tryjoin_np(tids[t], NULL) == 0)
                break;
            usleep(50 * 1000);
        }
    }
    for (size_t t = 0; t < nthreads; t++)
        h2k_ctx_free(workers[t].ctx);
    if (rc == 0 && j.rc < 0) {
        if (h2k_ctx_is_cancelled(ctx) || j.rc == H2K_ERR_CANCELLED)
            rc = hk_error(ctx, H2K_ERR_CANCELLED, "cancelled while copying disk %zu",
                          j.failed_disk + 1);
        else
            rc = hk_error(ctx, j.rc, "copy of disk %zu: %s", j.failed_disk + 1,
                          j.message ? j.message : h2k_strerror(j.rc));
        hk_error_set_output(ctx, st->outputs[j.failed_disk]);
    }
    if (rc == 0)
        hk_progress(ctx, "copy", j.total, j.total);
done:
    if (rc < 0)
        hk_error_set_stage(ctx, "copy");
    hk_sched_event(st->sched, st->vm, "copy", 0);
    pthread_mutex_destroy(&j.lock);
    free(j.message);
    free(j.done);
    free(j.vsize);
    free(workers);
    free(tids);
    return rc;
}

static int
fill_outputs(run_state *st)
{
    h2k_ctx *ctx = st->ctx;
    h2k_migration_result *res = st->res;
    bool fresh = res->outputs == NULL; /* the virt-v2v backend fills them itself */
    if (fresh) {
        res->outputs = calloc(st->n, sizeof(*res->outputs));
        if (!res->outputs)
            return hk_error_nomem(ctx);
    }
    size_t n = fresh ? st->n : res->n_outputs;
    for (size_t i = 0; i < n; i++) {
        h2k_migration_output *mo = &res->outputs[fresh ? res->n_outputs++ : i];
        if (!fresh)
            goto measure;
        const h2k_vm_disk *sd = &res->spec->disks[i];
        mo->source_path = hk_strdup0(st->exp && sd->file_ref ? sd->file_ref
                                     : sd->container_path    ? sd->container_path
                                                             : sd->path);
        mo->source_format = strdup(h2k_disk_format_name(st->src_fmts[i]));
        mo->path = strdup(st->outputs[i]);
        mo->format = strdup(h2k_disk_format_name(st->out_fmt));
        if (!mo->path || !mo->format || !mo->source_format)
            return hk_error_nomem(ctx);
    measure:;
        h2k_disk_info *info = NULL;
        h2k_probe_options po = H2K_PROBE_OPTIONS_INIT;
        po.format = st->out_fmt;
        if (h2k_disk_probe(ctx, mo->path, &po, &info) == 0)
            mo->virtual_size = info->virtual_size;
        h2k_disk_info_free(info);
        struct stat sb;
        if (stat(mo->path, &sb) == 0)
            mo->size = (uint64_t)sb.st_blocks * 512u;
        int rc = hk_digest_file(ctx, mo->path, HK_DIGEST_SHA256, mo->sha256, NULL);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* --------------------------------------------------------------- boot */

static int stage_boot_test(run_state *st, const h2k_boot_test_options *bo);

/* Removes the kept console log: only a failed boot proof leaves one in the
 * output folder (not a proven boot, a cancel or another failure). */
static void
drop_boot_console(run_state *st)
{
    h2k_boot_result *r = st->res->boot;
    if (!r || !r->console_log_path)
        return;
    if (unlink(r->console_log_path) != 0 && errno != ENOENT)
        hk_warn(st->ctx, DOM, "cannot remove %s: %s", r->console_log_path, strerror(errno));
    free(r->console_log_path);
    r->console_log_path = NULL;
}

/* The boot proof of a VM with a NIC includes its network: a guest that booted
 * but brought no address up on its NIC fails the test. */
static int
stage_boot(run_state *st, const h2k_boot_test_options *bo)
{
    int rc = stage_boot_test(st, bo);
    h2k_boot_result *r = st->res->boot;
    if (rc < 0 || !bo->mac || !r || !r->success || r->n_addresses > 0)
        return rc;
    r->success = 0;
    free(r->error_message);
    r->error_message = hk_asprintf("the guest booted but its network did not come up: no "
                                   "address on its NIC (%s) within the probe's wait",
                                   bo->mac);
    rc = hk_error(st->ctx, H2K_ERR_BOOT_TEST, "boot test: %s",
                  r->error_message ? r->error_message : "the network did not come up");
    hk_error_set_stage(st->ctx, "boot-test");
    if (r->console_tail)
        hk_error_set_console_tail(st->ctx, r->console_tail);
    return rc;
}

/* The boot test of the output.  With the repair appliance still up
 * (st->fx_open), the probe goes into the repaired overlay (the output was
 * copied from it already) and the boot test boots an overlay of that: no
 * second appliance.  Otherwise the tester places its probe itself. */
static int
stage_boot_test(run_state *st, const h2k_boot_test_options *bo)
{
    h2k_ctx *ctx = st->ctx;
    h2k_migration_result *res = st->res;
    /* every disk: the guest may mount its other disks at boot */
    const char *const *others = (const char *const *)st->outputs + 1;
    if (!st->fx_open)
        return hk_qemu_test_run_disks(ctx, st->outputs[0], others, st->n - 1, bo, &res->boot);
    h2k_offline_fixer *fx = st->fx_open;
    st->fx_open = NULL;
    char token[17];
    int rc = hk_boot_token(ctx, token);
    if (rc == 0)
        rc = hk_fix_place_boot_probe(fx, token,
                                     strcmp(hk_boot_accel_name(ctx, bo->accel), "tcg") == 0);
    int crc = h2k_offline_fixer_close(fx);
    if (rc == 0 && crc < 0)
        rc = crc;
    if (rc == H2K_ERR_CANCELLED || h2k_ctx_is_cancelled(ctx))
        return hk_error(ctx, H2K_ERR_CANCELLED, "cancelled while placing the boot probe");
    if (rc < 0) {
        hk_orch_warn(ctx, res,
                     "the repair appliance could not place the boot probe (%s): the "
                     "boot test launches its own",
                     h2k_ctx_last_error(ctx)->message);
        h2k_ctx_clear_error(ctx);
        return hk_qemu_test_run_disks(ctx, st->outputs[0], others, st->n - 1, bo, &res->boot);
    }
    /* the same disk as the output plus the probe: an overlay of the repaired one */
    h2k_boot_test_options o = *bo;
    o.format = "qcow2";
    return hk_qemu_test_run_placed(ctx, st->overlays[0], &o, token, &res->boot);
}

/* ------------------------------------------------------------- report */

/* The JSON and Markdown report paths of the run (caller frees both; NULL when
 * out of memory). */
static void
report_paths(const run_state *st, char **jpath_out, char **mpath_out)
{
    const h2k_run_options *o = st->opts;
    char *jpath = o->report_path ? strdup(o->report_path)
                                 : hk_asprintf("%s/%s.report.json", st->out_dir, st->res->name);
    char *mpath = NULL;
    if (jpath && hk_endswith_nocase(jpath, ".json"))
        mpath = hk_asprintf("%.*s.md", (int)(strlen(jpath) - 5), jpath);
    else if (jpath)
        mpath = hk_asprintf("%s.md", jpath);
    *jpath_out = jpath;
    *mpath_out = mpath;
}

static int
write_reports(run_state *st)
{
    h2k_ctx *ctx = st->ctx;
    h2k_migration_result *res = st->res;
    char *jpath = NULL, *mpath = NULL;
    report_paths(st, &jpath, &mpath);
    if (!jpath)
        return hk_error_nomem(ctx);
    res->report_json_path = jpath;
    res->report_md_path = mpath;
    char *json = h2k_migration_result_to_json(res);
    char *md = h2k_migration_result_to_markdown(res);
    int rc = 0;
    if (!json || !md || !mpath)
        rc = hk_error_nomem(ctx);
    if (rc == 0 &&
        (rc = hk_output_write_file_mode(ctx, jpath, json, run_output_mode(st), NULL)) == 0 &&
        st->work_dir)
        hk_orch_owner_add_done(st->work_dir, jpath);
    if (rc == 0 &&
        (rc = hk_output_write_file_mode(ctx, mpath, md, run_output_mode(st), NULL)) == 0 &&
        st->work_dir)
        hk_orch_owner_add_done(st->work_dir, mpath);
    if (rc < 0) {
        unlink(jpath);
        if (mpath)
            unlink(mpath);
        hk_error_set_stage(ctx, "report");
    }
    free(json);
    free(md);
    return rc;
}

/* ---------------------------------------------------------------- run */

/* The firmware the VM boots with, chosen as h2k_domain_xml() chooses it: the
 * source's description (VMX firmware, OVF, vSphere, Azure), else what the
 * inspection found, else BIOS. */
static h2k_firmware
run_firmware(const run_state *st)
{
    const h2k_vm_spec *spec = st->res->spec;
    if (spec && spec->firmware != H2K_FIRMWARE_UNKNOWN)
        return spec->firmware;
    if (st->guest_fw != H2K_FIRMWARE_UNKNOWN)
        return st->guest_fw;
    return H2K_FIRMWARE_BIOS;
}

static void
record_failure(run_state *st, int rc)
{
    h2k_migration_result *res = st->res;
    const h2k_error *e = h2k_ctx_last_error(st->ctx);
    res->success = 0;
    res->code = rc;
    free(res->failed_stage);
    free(res->error_message);
    res->failed_stage = hk_strdup0(e->stage);
    res->error_message = hk_strdup0(e->message && *e->message ? e->message : h2k_strerror(rc));
}

static void
remove_outputs(run_state *st)
{
    for (size_t i = 0; i < st->n; i++)
        if (st->outputs && st->outputs[i] && st->finalised && st->finalised[i]) {
            unlink(st->outputs[i]);
            st->finalised[i] = 0;
        }
    if (st->xml_path)
        unlink(st->xml_path);
}

static void
free_state(run_state *st)
{
    for (size_t i = 0; i < st->n; i++) {
        if (st->sources)
            free(st->sources[i]);
        if (st->overlays)
            free(st->overlays[i]);
        if (st->outputs)
            free(st->outputs[i]);
    }
    free(st->sources);
    free(st->src_fmts);
    free(st->overlays);
    free(st->outputs);
    free(st->finalised);
    free(st->member_mode);
    free(st->xml);
    free(st->xml_path);
    free(st->out_dir);
    free(st->staging);
    free(st->boot_console);
    h2k_vmware_export_result_free(st->exp);
    hk_ova_digests_free(st->digests, st->n_digests);
}

#define STAGE(name, call)                                                                          \
    do {                                                                                           \
        double _t = hk_now();                                                                      \
        rc = (call);                                                                               \
        if (rc == 0)                                                                               \
            rc = hk_check_cancel(ctx);                                                             \
        if (rc < 0) {                                                                              \
            hk_error_set_stage(ctx, (name));                                                       \
            goto done;                                                                             \
        }                                                                                          \
        hk_orch_add_timing(res, (name), hk_now() - _t);                                            \
    } while (0)

HK_OPTS_LAYOUT(run_layout, h2k_run_options, offsetof(h2k_run_options, vmware),
               offsetof(h2k_run_options, input_format), offsetof(h2k_run_options, virtio_win),
               offsetof(h2k_run_options, azure), sizeof(h2k_run_options));

int
h2k_run_options_init(h2k_run_options *opts, unsigned version)
{
    static const h2k_run_options defaults = H2K_RUN_OPTIONS_INIT;
    return hk_opts_init(&run_layout, opts, version, &defaults);
}

int
h2k_orchestrator_run(h2k_ctx *ctx, const h2k_run_options *user_opts, h2k_migration_result **out)
{
    return hk_orch_run(ctx, user_opts, NULL, out);
}

int
hk_orch_run(h2k_ctx *ctx, const h2k_run_options *user_opts, const hk_run_env *env,
            h2k_migration_result **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!user_opts)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "orchestrator: no input given");
    /* a version 1 struct ends at "trim": the later fields keep their defaults */
    static const h2k_run_options defaults = H2K_RUN_OPTIONS_INIT;
    h2k_run_options eff;
    int vrc = hk_opts_import(ctx, &run_layout, user_opts, &defaults, &eff);
    if (vrc < 0)
        return vrc;
    const h2k_run_options *opts = &eff;
    if (opts->azure && (opts->vmware || opts->vmware_vm))
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "azure",
                           "orchestrator: give a vSphere or an Azure source, not both");
    if (opts->azure_vm && !opts->azure)
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "azure",
                           "orchestrator: an Azure VM name but no Azure client");
    if (opts->azure && !hk_orch_azure_vm_name(opts))
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "azure_vm",
                           "orchestrator: no VM name given for the Azure source");
    if (opts->azure && opts->n_inputs > 0)
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "inputs",
                           "orchestrator: give local inputs or an Azure VM, not both");
    bool vsphere = opts->vmware != NULL;
    if (vsphere) {
        if (!opts->vmware_vm || !*opts->vmware_vm)
            return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "vmware_vm",
                               "orchestrator: no VM name given for the vSphere source");
        if (opts->n_inputs > 0)
            return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "inputs",
                               "orchestrator: give local inputs or a vSphere VM, not both");
    } else {
        if (opts->vmware_vm)
            return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "vmware",
                               "orchestrator: a VM name but no vSphere client");
        if (!opts->azure && (!opts->inputs || opts->n_inputs == 0))
            return hk_error(ctx, H2K_ERR_INVALID_ARG, "orchestrator: no input given");
    }
    for (size_t i = 0; i < opts->n_inputs; i++)
        if (!opts->inputs[i] || !*opts->inputs[i])
            return hk_error(ctx, H2K_ERR_INVALID_ARG, "orchestrator: empty input %zu", i);
    if (!opts->output_dir && !(opts->dry_run && opts->report_path))
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "orchestrator: no output folder given");
    h2k_disk_format out_fmt = opts->output_format == H2K_FORMAT_UNKNOWN ? H2K_FORMAT_QCOW2
                                                                        : opts->output_format;
    if (out_fmt != H2K_FORMAT_QCOW2 && out_fmt != H2K_FORMAT_RAW)
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "output_format",
                           "output format must be qcow2 or raw, not %s (%d)",
                           h2k_disk_format_name(out_fmt), (int)out_fmt);
    h2k_disk_format in_fmt = H2K_FORMAT_UNKNOWN;
    if (opts->input_format && *opts->input_format) {
        in_fmt = h2k_disk_format_from_name(opts->input_format);
        if (in_fmt == H2K_FORMAT_UNKNOWN)
            return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "input_format",
                               "input format must be raw, vmdk, vhd, vhdx or qcow2, not '%s'",
                               opts->input_format);
    }
    if (opts->output_mode & ~0777u)
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "output_mode",
                           "output mode %o is not a permission mode", opts->output_mode);
    bool v2v = opts->backend && strcmp(opts->backend, "native") != 0;
    if (v2v && strcmp(opts->backend, "virt-v2v") != 0)
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "backend",
                           "unknown backend '%s' (native or virt-v2v)", opts->backend);

    h2k_migration_result *res = calloc(1, sizeof(*res));
    run_state st;
    memset(&st, 0, sizeof(st));
    st.ctx = ctx;
    st.opts = opts;
    st.res = res;
    st.out_fmt = out_fmt;
    st.in_fmt = in_fmt;
    if (env) {
        st.sched = env->sched;
        st.vm = env->vm;
    }
    h2k_ova *ova = NULL;
    double t_start = hk_now();
    int rc = 0;
    if (!res)
        return hk_error_nomem(ctx);
    res->dry_run = opts->dry_run;
    res->backend = strdup(v2v ? "virt-v2v" : "native");
    for (size_t i = 0; i < opts->n_inputs; i++)
        if (!hk_strv_add(&res->sources, &res->n_sources, opts->inputs[i])) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
    if (vsphere || opts->azure) {
        char *src = opts->azure
                        ? hk_orch_azure_source_name(opts->azure, hk_orch_azure_vm_name(opts))
                        : hk_orch_vmware_source_name(opts->vmware, opts->vmware_vm);
        bool ok = src && hk_strv_add(&res->sources, &res->n_sources, src);
        free(src);
        if (!ok) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
    }
    h2k_ctx_clear_error(ctx);

    /* a vSphere VM: exported first, then handled like its OVF (an Azure VM likewise) */
    if (vsphere || opts->azure) {
        double te = hk_now();
        hk_progress(ctx, "export", 0, 1);
        if ((rc = stage_export(&st)) == 0)
            rc = hk_check_cancel(ctx);
        if (rc < 0) {
            hk_error_set_stage(ctx, "export");
            goto done;
        }
        hk_progress(ctx, "export", 1, 1);
        hk_orch_add_timing(res, "export", hk_now() - te);
        eff.inputs = (const char *const *)&st.exp->ovf_path; /* the virt-v2v backend's input */
        eff.n_inputs = 1;
    }

    /* the description, then every disk probed before any work */
    double t0 = hk_now();
    hk_progress(ctx, "probe", 0, 1);
    rc = build_spec(&st, &ova);
    st.ova = ova;
    if (rc == 0 && ova)
        rc = load_manifest(&st);
    if (rc == 0)
        rc = stage_probe(&st);
    if (rc < 0) {
        hk_error_set_stage(ctx, "probe");
        goto done;
    }
    st.out_mode = run_output_mode(&st);
    hk_orch_add_timing(res, "probe", hk_now() - t0);
    if (opts->output_dir && !st.out_dir) {
        st.out_dir = hk_abspath(opts->output_dir);
        if (!st.out_dir) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
    }
    for (size_t i = 0; i < st.n && st.out_dir; i++) {
        st.outputs[i] = hk_asprintf("%s/%s-disk%zu.%s", st.out_dir, res->name, i + 1,
                                    h2k_disk_format_name(out_fmt));
        if (!st.outputs[i]) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
    }
    if (st.out_dir) {
        st.xml_path = hk_asprintf("%s/%s.xml", st.out_dir, res->name);
        if (!st.xml_path) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
        /* what an earlier run of this output left when it was killed */
        if (!opts->dry_run) {
            const char **all = calloc(st.n + 2, sizeof(*all));
            char *rj = NULL, *rm = NULL;
            report_paths(&st, &rj, &rm);
            if (!all) {
                rc = hk_error_nomem(ctx);
                free(rj);
                free(rm);
                goto done;
            }
            for (size_t i = 0; i < st.n; i++)
                all[i] = st.outputs[i];
            all[st.n] = rj;
            all[st.n + 1] = rm;
            hk_orch_clean_leftovers(ctx, st.xml_path, all, st.n + 2);
            free(all);
            free(rj);
            free(rm);
        }
        struct stat sb;
        if (!opts->dry_run && stat(st.xml_path, &sb) == 0) {
            rc = hk_error_at(ctx, H2K_ERR_EXISTS, st.xml_path, -1, NULL,
                             "the output already exists");
            hk_error_set_stage(ctx, "probe");
            char *keep = st.xml_path;
            st.xml_path = NULL; /* not ours: never removed */
            free(keep);
            goto done;
        }
    }
    if ((rc = make_work_dir(&st)) < 0 ||
        (rc = hk_orch_owner_write(ctx, st.work_dir, st.xml_path)) < 0) {
        hk_error_set_stage(ctx, "probe");
        goto done;
    }
    if (st.out_dir && (!opts->dry_run || !opts->report_path)) {
        struct stat sb;
        if (stat(st.out_dir, &sb) != 0)
            st.created_out_dir = 1;
        if ((rc = hk_orch_mkdir_p(ctx, st.out_dir)) < 0) {
            hk_error_set_stage(ctx, "copy");
            goto done;
        }
    }

    if (v2v) {
        if (opts->dry_run) {
            rc = hk_error(ctx, H2K_ERR_UNSUPPORTED, "the virt-v2v backend has no dry run");
            hk_error_set_stage(ctx, "copy");
            goto done;
        }
        /* fail before minutes of work if an output is there already */
        for (size_t i = 0; i < st.n; i++) {
            struct stat sb;
            if (stat(st.outputs[i], &sb) == 0) {
                rc = hk_error_at(ctx, H2K_ERR_EXISTS, st.outputs[i], -1, NULL,
                                 "the output already exists");
                hk_error_set_output(ctx, st.outputs[i]);
                hk_error_set_stage(ctx, "copy");
                goto done;
            }
        }
        /* stages "fix", "trim" and "copy" (timings, progress, error stage) are
           virt-v2v's steps: see v2v.c */
        if ((rc = gate_enter(&st, "fix")) < 0)
            goto done;
        rc = hk_orch_run_virt_v2v(ctx, opts, st.work_dir, res);
        gate_leave(&st);
        /* its disks are under their final names, even after a failure */
        for (size_t i = 0; i < res->n_outputs && i < st.n; i++) {
            h2k_migration_output *mo = &res->outputs[i];
            const h2k_vm_disk *d = &res->spec->disks[i];
            free(mo->source_path);
            free(mo->source_format);
            mo->source_path = hk_strdup0(d->container_path ? d->container_path : d->path);
            mo->source_format = hk_strdup0(h2k_disk_format_name(st.src_fmts[i]));
            free(st.outputs[i]);
            st.outputs[i] = strdup(res->outputs[i].path);
            st.finalised[i] = st.outputs[i] != NULL;
        }
        if (rc == 0 && (rc = hk_check_cancel(ctx)) < 0)
            hk_error_set_stage(ctx, "copy");
        if (rc < 0)
            goto done;
    } else {
        /* overlays: every later write goes there, never to a source */
        double t1 = hk_now();
        if ((rc = make_overlays(&st)) < 0) {
            hk_error_set_stage(ctx, "probe");
            goto done;
        }
        hk_orch_add_timing(res, "overlay", hk_now() - t1);
    }

    h2k_domain_options dom = H2K_DOMAIN_OPTIONS_INIT;
    dom.name = res->name;
    dom.output_dir = st.out_dir;
    dom.disk_format = out_fmt;
    dom.network_map = opts->network_map;
    dom.n_network_map = opts->n_network_map;
    dom.graphics = 1;

    /* the repairs: an appliance-bound stage (a test's stand-in replaces the
       appliance, see sched.h) */
    bool repairs = !v2v && (opts->fixes || opts->dry_run);
    const hk_sched_hooks *hooks = st.sched ? hk_sched_hooks_of(st.sched) : NULL;
    bool stand_in = repairs && hooks && hooks->stand_in_fix;
    if (repairs) {
        if ((rc = gate_enter(&st, "fix")) < 0)
            goto done;
        rc = stand_in ? hooks->stand_in_fix(hooks->ud, ctx, st.vm) : stage_fix(&st, &dom);
        if (rc == 0)
            rc = hk_check_cancel(ctx);
        else if (!stand_in)
            goto done; /* stage_fix() named the stage */
        if (rc < 0) {
            hk_error_set_stage(ctx, "fix");
            goto done;
        }
        /* an appliance kept up for the boot probe keeps its slot */
        if (!st.fx_open)
            gate_leave(&st);
    }
    if ((!repairs || stand_in) && !opts->dry_run) {
        rc = h2k_domain_xml(ctx, res->spec, NULL, (const char *const *)st.outputs, st.n, &dom,
                            &st.xml);
        if (rc < 0) {
            hk_error_set_stage(ctx, "xml");
            goto done;
        }
    }

    if (!opts->dry_run) {
        if (!v2v) {
            STAGE("copy", stage_copy(&st));
        }
        if ((rc = fill_outputs(&st)) < 0) {
            hk_error_set_stage(ctx, "copy");
            goto done;
        }
        hk_progress(ctx, "xml", 0, 1);
        STAGE("xml",
              hk_output_write_file_mode(ctx, st.xml_path, st.xml, run_output_mode(&st), NULL));
        /* a rerun after a kill from here on removes the XML too (see leftovers.c) */
        hk_orch_owner_add_done(st.work_dir, st.xml_path);
        hk_progress(ctx, "xml", 1, 1);
        res->xml_path = strdup(st.xml_path);
        if (opts->define_uri) {
            hk_progress(ctx, "define", 0, 1);
            STAGE("define", h2k_output_define(ctx, opts->define_uri, st.xml, &res->defined_name));
            hk_progress(ctx, "define", 1, 1);
        }
        if (opts->test_boot && st.windows_guest) {
            /* The boot probe is a Linux unit; nothing placed in a Windows guest
             * could report on the console without a real Windows to run it.
             * Say so instead of claiming (or failing) anything. */
            res->boot = calloc(1, sizeof(*res->boot));
            if (!res->boot) {
                rc = hk_error_nomem(ctx);
                goto done;
            }
            res->boot->not_proven = 1;
            res->boot->error_message = strdup(
                "Windows guest: the boot probe is a Linux unit and no Windows boot proof (a "
                "serial console marker) exists yet; boot the domain and check that it reaches "
                "the logon screen");
            hk_orch_warn(ctx, res, "boot test not proven: %s", res->boot->error_message);
        } else if (opts->test_boot) {
            h2k_boot_test_options bo = H2K_BOOT_TEST_OPTIONS_INIT;
            bo.format = h2k_disk_format_name(out_fmt);
            bo.timeout_seconds = opts->boot_timeout ? opts->boot_timeout : 600;
            /* the serial console is kept beside the reports when the proof fails */
            if (st.out_dir &&
                !(st.boot_console = hk_asprintf("%s/%s.boot-console.log", st.out_dir, res->name))) {
                rc = hk_error_nomem(ctx);
                goto done;
            }
            if (st.boot_console && unlink(st.boot_console) != 0 && errno != ENOENT)
                hk_warn(ctx, DOM, "cannot remove the old %s: %s", st.boot_console, strerror(errno));
            bo.console_log = st.boot_console;
            if (res->spec->n_nics && res->spec->nics[0].mac)
                bo.mac = res->spec->nics[0].mac;
            /* the firmware the domain XML chose: the source's, else the guest's */
            bo.uefi = run_firmware(&st) == H2K_FIRMWARE_UEFI;
            /* a lean CPU model boots faster under emulation, where the OS allows */
            bo.cpu_level = st.guest_x86_level;
            hk_progress(ctx, "boot", 0, 1);
            if ((rc = gate_enter(&st, "boot")) < 0)
                goto done;
            STAGE("boot", stage_boot(&st, &bo));
            gate_leave(&st);
            hk_progress(ctx, "boot", 1, 1);
        }
    }
    res->success = 1;
    drop_boot_console(&st);
    res->total_seconds = hk_now() - t_start;
    if (st.out_dir || opts->report_path) {
        hk_progress(ctx, "report", 0, 1);
        if ((rc = write_reports(&st)) < 0)
            goto done;
        hk_progress(ctx, "report", 1, 1);
    }

done:
    if (st.staging && !opts->keep_export)
        hk_remove_tree(st.staging);
    if (rc < 0) {
        record_failure(&st, rc);
        res->total_seconds = hk_now() - t_start;
        if (!opts->keep_partial)
            remove_outputs(&st);
        if (res->report_json_path) {
            unlink(res->report_json_path);
            free(res->report_json_path);
            res->report_json_path = NULL;
        }
        if (res->report_md_path) {
            unlink(res->report_md_path);
            free(res->report_md_path);
            res->report_md_path = NULL;
        }
        /* a boot proof that failed: the output folder keeps the reports, which hold
           the console tail (the disks and the XML only with keep_partial) */
        bool boot_failed = res->boot && !res->boot->success && !res->boot->not_proven && st.out_dir;
        if (!boot_failed || rc != H2K_ERR_BOOT_TEST)
            drop_boot_console(&st); /* cancelled, or failed for another reason */
        if (boot_failed) {
            const char *log = res->boot->console_log_path;
            if (!opts->keep_partial) {
                hk_orch_warn(ctx, res,
                             "the boot proof failed: the converted disks and the "
                             "domain XML were removed (keep them with keep_partial)%s%s",
                             log ? "; the guest's serial console is in " : "", log ? log : "");
                free(res->xml_path);
                res->xml_path = NULL;
            } else if (log) {
                hk_orch_warn(ctx, res, "the boot proof failed: the guest's serial console is in %s",
                             log);
            }
            /* written with a context of its own: the caller's keeps the boot error */
            h2k_ctx *tmp = NULL;
            if (h2k_ctx_new(&tmp) == 0) {
                st.ctx = tmp;
                if (write_reports(&st) < 0) {
                    free(res->report_json_path);
                    free(res->report_md_path);
                    res->report_json_path = NULL;
                    res->report_md_path = NULL;
                }
                st.ctx = ctx;
                h2k_ctx_free(tmp);
            }
        }
        /* an explicit report file is still written: it says what failed */
        if (opts->report_path) {
            char *json = h2k_migration_result_to_json(res);
            if (json) {
                h2k_ctx *tmp = NULL;
                if (h2k_ctx_new(&tmp) == 0) {
                    h2k_output_write_file(tmp, opts->report_path, json);
                    h2k_ctx_free(tmp);
                }
                free(json);
            }
        }
        if (st.created_out_dir && st.out_dir)
            rmdir(st.out_dir); /* only when empty */
    }
    if (st.fx_open) {
        /* the boot test did not run: the repairs are in the output already */
        h2k_offline_fixer_close(st.fx_open);
        st.fx_open = NULL;
    }
    gate_leave(&st);
    remove_work_dir(&st);
    h2k_ova_free(ova);
    free_state(&st);
    if (out)
        *out = res;
    else
        h2k_migration_result_free(res);
    return rc;
}
