/*
 * Reader of virt-v2v's "--print-source" text (the .expected files beside the
 * shared v2v inputs) and a field-by-field comparison with an h2k_vm_spec.
 * Included by tests/unit/test_{vmx,ovf}.c (the parse helpers of tests/data at
 * the end; ve_reader: which reader, and its folder) and by
 * tests/conformance/test_{vmx,ovf}_v2v.c (the shared inputs): each uses a part
 * of the helpers, hence HK_UNUSED.
 *
 * The text looks like:
 *         source name: Fedora 20
 *              memory: 2147483648 (bytes)
 *            nr vCPUs: 1
 *        CPU topology: sockets: 1 cores/socket: 1 threads/core: 1
 *            firmware: bios
 *     UEFI secureboot: false
 *     disks:
 *     <TAB>0 [scsi]
 *     removable media:
 *     <TAB>CD-ROM [ide] in slot 2
 *     NICs:
 *     <TAB>Network "VM Network" mac: 00:50:56:9b:5f:0d [vmxnet3]
 */
#ifndef H2K_TEST_V2V_EXPECTED_H
#define H2K_TEST_V2V_EXPECTED_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#define VE_MAX 64

typedef struct ve_removable {
    char kind[16]; /* "cdrom" or "floppy" */
    char bus[16];  /* "" when the line names none */
    int slot;      /* -1 when the line names none */
} ve_removable;

typedef struct ve_nic {
    int is_bridge;
    char vnet[128];
    char mac[32];   /* "" when none */
    char model[32]; /* "" when none */
} ve_nic;

typedef struct v2v_expected {
    char name[256];
    uint64_t memory;
    unsigned vcpus;
    unsigned cores_per_socket; /* 0 when the topology line is empty */
    char firmware[16];
    int secure_boot;
    size_t n_disks;
    char disk_bus[VE_MAX][16];
    size_t n_removables;
    ve_removable removables[VE_MAX];
    size_t n_nics;
    ve_nic nics[VE_MAX];
} v2v_expected;

/* Copies @src into @dst (size @n), failing the test if it does not fit. */
static void
ve_copy(char *dst, size_t n, const char *src, size_t len)
{
    if (len >= n)
        fail_msg("expected-file value too long: %.*s", (int)len, src);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void
ve_parse_removable(v2v_expected *e, const char *l)
{
    if (e->n_removables == VE_MAX)
        fail_msg("too many removables in the expected file");
    ve_removable *r = &e->removables[e->n_removables++];
    r->slot = -1;
    if (strncmp(l, "CD-ROM", 6) == 0) {
        strcpy(r->kind, "cdrom");
        l += 6;
    } else if (strncmp(l, "Floppy", 6) == 0) {
        strcpy(r->kind, "floppy");
        l += 6;
    } else {
        fail_msg("unknown removable line: %s", l);
    }
    if (strncmp(l, " [", 2) == 0) {
        const char *end = strchr(l, ']');
        if (!end)
            fail_msg("bad removable line: %s", l);
        ve_copy(r->bus, sizeof(r->bus), l + 2, (size_t)(end - l - 2));
        l = end + 1;
    }
    if (strncmp(l, " in slot ", 9) == 0) {
        r->slot = atoi(l + 9);
        l += 9;
        while (*l >= '0' && *l <= '9')
            l++;
    }
    if (*l)
        fail_msg("trailing text in removable line: %s", l);
}

static void
ve_parse_nic(v2v_expected *e, const char *l)
{
    if (e->n_nics == VE_MAX)
        fail_msg("too many NICs in the expected file");
    ve_nic *n = &e->nics[e->n_nics++];
    if (strncmp(l, "Bridge \"", 8) == 0) {
        n->is_bridge = 1;
        l += 8;
    } else if (strncmp(l, "Network \"", 9) == 0) {
        n->is_bridge = 0;
        l += 9;
    } else {
        fail_msg("unknown NIC line: %s", l);
    }
    const char *q = strchr(l, '"');
    if (!q)
        fail_msg("bad NIC line: %s", l);
    ve_copy(n->vnet, sizeof(n->vnet), l, (size_t)(q - l));
    l = q + 1;
    if (strncmp(l, " mac: ", 6) == 0) {
        l += 6;
        size_t k = strcspn(l, " ");
        ve_copy(n->mac, sizeof(n->mac), l, k);
        l += k;
    }
    if (strncmp(l, " [", 2) == 0) {
        const char *end = strchr(l, ']');
        if (!end)
            fail_msg("bad NIC model: %s", l);
        ve_copy(n->model, sizeof(n->model), l + 2, (size_t)(end - l - 2));
        l = end + 1;
    }
    if (*l)
        fail_msg("trailing text in NIC line: %s", l);
}

/* Reads an .expected file; fails the test on anything it does not understand. */
static void
ve_load(const char *path, v2v_expected *e)
{
    memset(e, 0, sizeof(*e));
    e->secure_boot = -1;
    char *text = ts_read_file(path, NULL);
    assert_non_null(text);
    enum {
        TOP,
        DISKS,
        REMOVABLES,
        NICS
    } section = TOP;
    int seen_name = 0, seen_mem = 0, seen_cpu = 0, seen_fw = 0;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (l[0] == '\t') {
            l++;
            if (section == DISKS) {
                char *br = strchr(l, '[');
                char *end = br ? strchr(br, ']') : NULL;
                if (!br || !end || (size_t)atoi(l) != e->n_disks || e->n_disks == VE_MAX)
                    fail_msg("%s: bad disk line: %s", path, l);
                ve_copy(e->disk_bus[e->n_disks++], 16, br + 1, (size_t)(end - br - 1));
            } else if (section == REMOVABLES) {
                ve_parse_removable(e, l);
            } else if (section == NICS) {
                ve_parse_nic(e, l);
            } else {
                fail_msg("%s: indented line outside a list: %s", path, l);
            }
            continue;
        }
        while (*l == ' ')
            l++;
        if (!*l)
            continue;
        if (strcmp(l, "disks:") == 0) {
            section = DISKS;
            continue;
        }
        if (strcmp(l, "removable media:") == 0) {
            section = REMOVABLES;
            continue;
        }
        if (strcmp(l, "NICs:") == 0) {
            section = NICS;
            continue;
        }
        char *colon = strstr(l, ":");
        if (!colon)
            continue;
        *colon = '\0';
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        if (strcmp(l, "source name") == 0) {
            ve_copy(e->name, sizeof(e->name), v, strlen(v));
            seen_name = 1;
        } else if (strcmp(l, "memory") == 0) {
            e->memory = strtoull(v, NULL, 10);
            seen_mem = 1;
        } else if (strcmp(l, "nr vCPUs") == 0) {
            e->vcpus = (unsigned)atoi(v);
            seen_cpu = 1;
        } else if (strcmp(l, "CPU topology") == 0) {
            const char *c = strstr(v, "cores/socket: ");
            e->cores_per_socket = c ? (unsigned)atoi(c + 14) : 0;
        } else if (strcmp(l, "firmware") == 0) {
            ve_copy(e->firmware, sizeof(e->firmware), v, strlen(v));
            seen_fw = 1;
        } else if (strcmp(l, "UEFI secureboot") == 0) {
            e->secure_boot = strcmp(v, "true") == 0;
        }
    }
    free(text);
    if (!seen_name || !seen_mem || !seen_cpu || !seen_fw || e->secure_boot < 0)
        fail_msg("%s: missing name, memory, vCPUs, firmware or secure boot line", path);
}

#define VE_CHECK_STR(file, what, want, got)                                                        \
    do {                                                                                           \
        const char *_w = (want), *_g = (got);                                                      \
        if (!_g || strcmp(_w, _g) != 0)                                                            \
            fail_msg("%s: %s: expected \"%s\", reader gave \"%s\"", (file), (what), _w,            \
                     _g ? _g : "(null)");                                                          \
    } while (0)

#define VE_CHECK_INT(file, what, want, got)                                                        \
    do {                                                                                           \
        long long _w = (long long)(want), _g = (long long)(got);                                   \
        if (_w != _g)                                                                              \
            fail_msg("%s: %s: expected %lld, reader gave %lld", (file), (what), _w, _g);           \
    } while (0)

/* Compares @s with @e field by field.  When @skip_sata_removables is set,
 * SATA CD-ROMs of the spec are left out of the comparison: virt-v2v's VMX
 * reader does not report them (the caller checks them on their own). */
static void
ve_compare(const char *file, const v2v_expected *e, const h2k_vm_spec *s, int skip_sata_removables)
{
    char what[64];
    VE_CHECK_STR(file, "source name", e->name, s->name);
    VE_CHECK_INT(file, "memory", e->memory, s->memory_bytes);
    VE_CHECK_INT(file, "nr vCPUs", e->vcpus, s->vcpus);
    VE_CHECK_INT(file, "cores/socket", e->cores_per_socket, s->cores_per_socket);
    VE_CHECK_STR(file, "firmware", e->firmware, h2k_firmware_name(s->firmware));
    VE_CHECK_INT(file, "UEFI secureboot", e->secure_boot, s->secure_boot);

    VE_CHECK_INT(file, "number of disks", e->n_disks, s->n_disks);
    for (size_t i = 0; i < e->n_disks; i++) {
        snprintf(what, sizeof(what), "disk %zu bus", i);
        VE_CHECK_STR(file, what, e->disk_bus[i], h2k_bus_name(s->disks[i].bus));
        snprintf(what, sizeof(what), "disk %zu path", i);
        if (!s->disks[i].path || !s->disks[i].file_ref)
            fail_msg("%s: %s is NULL", file, what);
    }

    size_t j = 0;
    for (size_t i = 0; i < s->n_removables; i++) {
        const h2k_vm_removable *r = &s->removables[i];
        if (skip_sata_removables && r->bus == H2K_BUS_SATA)
            continue;
        if (j == e->n_removables)
            fail_msg("%s: reader found an extra removable %s [%s] slot %d", file, r->kind,
                     h2k_bus_name(r->bus), r->slot);
        const ve_removable *x = &e->removables[j++];
        snprintf(what, sizeof(what), "removable %zu kind", j - 1);
        VE_CHECK_STR(file, what, x->kind, r->kind);
        snprintf(what, sizeof(what), "removable %zu bus", j - 1);
        VE_CHECK_STR(file, what, x->bus[0] ? x->bus : "unknown", h2k_bus_name(r->bus));
        snprintf(what, sizeof(what), "removable %zu slot", j - 1);
        VE_CHECK_INT(file, what, x->slot, r->slot);
    }
    VE_CHECK_INT(file, "number of removables", e->n_removables, j);

    VE_CHECK_INT(file, "number of NICs", e->n_nics, s->n_nics);
    for (size_t i = 0; i < e->n_nics; i++) {
        const ve_nic *x = &e->nics[i];
        const h2k_vm_nic *n = &s->nics[i];
        snprintf(what, sizeof(what), "NIC %zu type (1 = Bridge)", i);
        VE_CHECK_INT(file, what, x->is_bridge, n->is_bridge);
        snprintf(what, sizeof(what), "NIC %zu network", i);
        VE_CHECK_STR(file, what, x->vnet, n->network);
        snprintf(what, sizeof(what), "NIC %zu mac", i);
        if (x->mac[0])
            VE_CHECK_STR(file, what, x->mac, n->mac);
        else if (n->mac)
            fail_msg("%s: %s: expected none, reader gave %s", file, what, n->mac);
        snprintf(what, sizeof(what), "NIC %zu model", i);
        if (x->model[0])
            VE_CHECK_STR(file, what, x->model, n->model);
        else if (n->model)
            fail_msg("%s: %s: expected none, reader gave %s", file, what, n->model);
    }
}

/* A reader of VM descriptions under test: h2k_ovf_parse_file or h2k_vmx_parse_file. */
typedef struct ve_reader {
    int (*parse)(h2k_ctx *ctx, const char *path, h2k_vm_spec **out);
    const char *type; /* "ovf" or "vmx": the spec's source_type, the tests/data folder */
} ve_reader;

/* Parses testdata/v2v-inputs/@file of the shared folder, asserting success, the
 * source type and path, and that the spec converts to JSON.  Caller frees. */
HK_UNUSED static h2k_vm_spec *
ve_parse_shared(const ve_reader *r, h2k_ctx *ctx, const char *file)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "testdata/v2v-inputs/%s", file);
    char *path = ts_shared_path(rel);
    h2k_vm_spec *s = NULL;
    ts_assert_rc(ctx, r->parse(ctx, path, &s), 0);
    assert_non_null(s);
    assert_string_equal(s->source_type, r->type);
    assert_string_equal(s->source_path, path);
    char *json = h2k_vm_spec_to_json(s);
    assert_non_null(json);
    free(json);
    free(path);
    return s;
}

/* Golden case: parses the shared @base.<type> and compares it with
 * @base.expected (see ve_compare for @skip_sata_removables).  Caller frees. */
HK_UNUSED static h2k_vm_spec *
ve_golden(const ve_reader *r, h2k_ctx *ctx, const char *base, int skip_sata_removables)
{
    char rel[128], file[128];
    snprintf(rel, sizeof(rel), "testdata/v2v-inputs/%s.expected", base);
    snprintf(file, sizeof(file), "%s.%s", base, r->type);
    char *exp_path = ts_shared_path(rel);
    v2v_expected e;
    ve_load(exp_path, &e);
    h2k_vm_spec *s = ve_parse_shared(r, ctx, file);
    ve_compare(file, &e, s, skip_sata_removables);
    free(exp_path);
    return s;
}

/* Parses tests/data/<type>/@name, asserting success.  Caller frees. */
HK_UNUSED static h2k_vm_spec *
ve_parse_data(const ve_reader *r, h2k_ctx *ctx, const char *name)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "%s/%s", r->type, name);
    char *path = ts_data_path(rel);
    h2k_vm_spec *s = NULL;
    ts_assert_rc(ctx, r->parse(ctx, path, &s), 0);
    free(path);
    return s;
}

/* Parses tests/data/<type>/@name expecting @code, an error on that file naming
 * it, and (unless NULL) error field @field; returns the error (owned by @ctx). */
HK_UNUSED static const h2k_error *
ve_parse_data_fail(const ve_reader *r, h2k_ctx *ctx, const char *name, int code, const char *field)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "%s/%s", r->type, name);
    char *path = ts_data_path(rel);
    h2k_vm_spec *s = (h2k_vm_spec *)1;
    ts_assert_rc(ctx, r->parse(ctx, path, &s), code);
    assert_null(s);
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_non_null(strstr(e->message, name));
    assert_string_equal(e->source_path, path);
    if (field && (!e->field || strcmp(e->field, field) != 0))
        fail_msg("%s: field %s, want %s (%s)", name, e->field ? e->field : "(null)", field,
                 e->message);
    free(path);
    return e;
}

#endif
