/*
 * The libvirt domain XML writer: h2k_vm_spec (+ guest identity) -> <domain>.
 *
 * Every element and attribute goes through libxml2's xmlTextWriter, which
 * escapes the values; this file never pastes values into markup.  libxml2 does
 * not check that a value is well-formed XML character data, so every string
 * taken from the input is checked (or, for the domain name, sanitised) here.
 * The output is deterministic: no clock, no random UUID, no host probing except
 * /dev/kvm when the caller lets us choose the domain type.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/xmlwriter.h>

#include "hyper2kvm/h2k_output.h"

#include "core/internal.h"
#include "core/util.h"
#include "output/output_internal.h"

#define OUT_DOMAIN "output"
#define OVMF_DIR "/usr/share/OVMF/"
#define HK_MAX_DISKS 256
#define HK_MAX_NICS 64
#define HK_MAX_CDROMS 4
#define HK_MAX_VCPUS 4096
#define HK_DEFAULT_MEMORY_KIB (1024u * 1024u)

typedef struct dom_plan {
    const char *type;    /* "kvm" / "qemu" */
    const char *machine; /* "q35" / "pc" */
    const char *arch;    /* "x86_64" / "i686" */
    char *name;          /* sanitised */
    char uuid[37];       /* canonical, or "" */
    uint64_t memory_kib;
    unsigned vcpus;
    unsigned sockets, cores; /* 0 when no topology */
    bool uefi;
    bool secure_boot;
    const char *loader;
    const char *nvram_template;
    char *nvram; /* owned, or NULL */
    bool windows;
    bool linux_guest;
    const char *disk_bus;    /* "virtio" / "sata" */
    const char *disk_prefix; /* "vd" / "sd" */
    const char *nic_model;
    const char *cache;
    const char *forced_format;
    const char *tpm_model; /* Windows 11: "tpm-crb" (q35) / "tpm-tis"; NULL: no TPM */
} dom_plan;

/* ------------------------------------------------------------ helpers */

bool
hk_xml_text_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c;
        size_t n;
        if (*p < 0x80) {
            c = *p;
            n = 1;
        } else if ((*p & 0xE0) == 0xC0) {
            c = *p & 0x1Fu;
            n = 2;
        } else if ((*p & 0xF0) == 0xE0) {
            c = *p & 0x0Fu;
            n = 3;
        } else if ((*p & 0xF8) == 0xF0) {
            c = *p & 0x07u;
            n = 4;
        } else {
            return false;
        }
        for (size_t i = 1; i < n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (p[i] & 0x3Fu);
        }
        /* overlong forms, surrogates, beyond Unicode, non-characters */
        if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
            (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF || c == 0xFFFE || c == 0xFFFF)
            return false;
        /* XML 1.0 Char: no C0 controls except TAB, LF, CR; we refuse those too
         * (a name or path with a line break is a mistake), and DEL/C1. */
        if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
            return false;
        p += n;
    }
    return true;
}

char *
hk_domain_name_sanitise(const char *s)
{
    hk_buf b = {0};
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        /* Copy one valid UTF-8 sequence, or replace one byte by '_'. */
        size_t n = (*p < 0x80)             ? 1
                   : ((*p & 0xE0) == 0xC0) ? 2
                   : ((*p & 0xF0) == 0xE0) ? 3
                   : ((*p & 0xF8) == 0xF0) ? 4
                                           : 0;
        char tmp[5] = {0};
        bool ok = n > 0;
        for (size_t i = 0; ok && i < n; i++) {
            if (!p[i] || (i > 0 && (p[i] & 0xC0) != 0x80))
                ok = false;
            else
                tmp[i] = (char)p[i];
        }
        if (ok && !hk_xml_text_ok(tmp))
            ok = false;
        if (ok && n == 1 && tmp[0] == '/')
            ok = false;
        if (ok) {
            hk_buf_append(&b, tmp, n);
            p += n;
        } else {
            hk_buf_puts(&b, "_");
            p++;
        }
    }
    char *out = hk_buf_steal(&b);
    if (!out)
        return NULL;
    /* Leading and trailing blanks make names that virsh cannot address. */
    hk_strtrim(out);
    return out;
}

bool
hk_uuid_canonical(const char *s, char out[37])
{
    char hex[33];
    size_t n = 0;
    bool nonzero = false;
    out[0] = '\0';
    if (!s)
        return false;
    for (; *s; s++) {
        char c = *s;
        if (c == '-' || c == ' ')
            continue;
        if (n == 32)
            return false;
        if (c >= '0' && c <= '9')
            hex[n++] = c;
        else if (c >= 'a' && c <= 'f')
            hex[n++] = c;
        else if (c >= 'A' && c <= 'F')
            hex[n++] = (char)(c - 'A' + 'a');
        else
            return false;
        if (c != '0')
            nonzero = true;
    }
    if (n != 32 || !nonzero)
        return false;
    hex[32] = '\0';
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return true;
}

bool
hk_mac_ok(const char *s)
{
    unsigned char b[6];
    if (!s || strlen(s) != 17 || s[2] != ':' || !hk_mac_parse(s, 17, 0, b))
        return false;
    /* libvirt refuses multicast addresses (low bit of the first octet). */
    return (b[0] & 1u) == 0;
}

void
hk_disk_target_name(const char *prefix, size_t idx, char *out, size_t outsz)
{
    char tmp[16];
    size_t n = 0;
    size_t v = idx + 1;
    while (v > 0 && n < sizeof(tmp)) {
        v--;
        tmp[n++] = (char)('a' + v % 26);
        v /= 26;
    }
    size_t pl = strlen(prefix);
    if (pl + n + 1 > outsz) {
        if (outsz)
            out[0] = '\0';
        return;
    }
    memcpy(out, prefix, pl);
    for (size_t i = 0; i < n; i++)
        out[pl + i] = tmp[n - 1 - i];
    out[pl + n] = '\0';
}

static bool
contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; hay && *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && ((hay[i] | 0x20) == (needle[i] | 0x20)))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

/* Guest kind from the identity, else from the source's OS type string. */
static void
guess_kind(const h2k_vm_spec *spec, const h2k_guest_identity *id, bool *windows, bool *linux_g)
{
    *windows = false;
    *linux_g = false;
    if (id && id->type == H2K_GUEST_WINDOWS) {
        *windows = true;
        return;
    }
    if (id && id->type == H2K_GUEST_LINUX) {
        *linux_g = true;
        return;
    }
    const char *t = spec->os_type;
    if (!t)
        return;
    if (hk_startswith(t, "win") || hk_startswith(t, "Win") || contains_nocase(t, "windows")) {
        *windows = true;
        return;
    }
    static const char *const linuxes[] = {"linux",  "debian", "ubuntu", "rhel",   "centos",
                                          "fedora", "sles",   "suse",   "oracle", "alma",
                                          "rocky",  "photon", "coreos", "asianux"};
    for (size_t i = 0; i < HK_ARRAY_LEN(linuxes); i++) {
        if (contains_nocase(t, linuxes[i])) {
            *linux_g = true;
            return;
        }
    }
}

static const char *
disk_format_for(const dom_plan *p, const char *path)
{
    if (p->forced_format)
        return p->forced_format;
    if (hk_endswith_nocase(path, ".raw") || hk_endswith_nocase(path, ".img") ||
        hk_endswith_nocase(path, ".bin"))
        return "raw";
    return "qcow2";
}

static const h2k_network_mapping *
map_nic(const h2k_domain_options *o, const h2k_vm_nic *nic)
{
    for (size_t i = 0; i < o->n_network_map; i++) {
        const h2k_network_mapping *m = &o->network_map[i];
        if (!m->source_name || (nic->network && strcmp(m->source_name, nic->network) == 0))
            return m;
    }
    return NULL;
}

/* ---------------------------------------------------------- planning */

static int
check_text(h2k_ctx *ctx, const char *what, const char *value)
{
    if (!value || !*value)
        return hk_error_at(ctx, H2K_ERR_VALIDATION, NULL, -1, what, "%s is empty", what);
    if (!hk_xml_text_ok(value))
        return hk_error_at(ctx, H2K_ERR_VALIDATION, NULL, -1, what,
                           "%s is not valid UTF-8 text or holds control characters", what);
    return 0;
}

/* A libvirt network name: any text without '/'.  A host bridge: a Linux
 * interface name (at most 15 bytes of [A-Za-z0-9_.-], not "." or ".."). */
static int
check_target(h2k_ctx *ctx, h2k_net_kind kind, const char *name)
{
    int rc = check_text(ctx, kind == H2K_NET_BRIDGE ? "bridge" : "network", name);
    if (rc < 0)
        return rc;
    if (kind == H2K_NET_NETWORK) {
        if (strchr(name, '/'))
            return hk_error_at(ctx, H2K_ERR_VALIDATION, NULL, -1, "network",
                               "network name \"%s\" contains '/'", name);
        return 0;
    }
    size_t n = strlen(name);
    bool ok = n <= 15 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '.' || c == '-';
    }
    if (!ok)
        return hk_error_at(ctx, H2K_ERR_VALIDATION, NULL, -1, "bridge",
                           "\"%s\" is not a valid bridge name (at most 15 of A-Z a-z 0-9 _ . -)",
                           name);
    return 0;
}

static int
plan_domain(h2k_ctx *ctx, const h2k_vm_spec *spec, const h2k_guest_identity *id,
            const char *const *disk_paths, size_t n_disks, const h2k_domain_options *o, dom_plan *p)
{
    int rc;
    /* domain type */
    if (o->domain_type) {
        if (strcmp(o->domain_type, "kvm") != 0 && strcmp(o->domain_type, "qemu") != 0)
            return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "domain_type",
                               "domain type must be \"kvm\" or \"qemu\"");
        p->type = strcmp(o->domain_type, "kvm") == 0 ? "kvm" : "qemu";
    } else {
        p->type = access("/dev/kvm", R_OK | W_OK) == 0 ? "kvm" : "qemu";
        hk_debug(ctx, OUT_DOMAIN, "domain type %s (/dev/kvm %s)", p->type,
                 strcmp(p->type, "kvm") == 0 ? "usable" : "not usable");
    }
    /* machine */
    if (!o->machine || strcmp(o->machine, "q35") == 0)
        p->machine = "q35";
    else if (strcmp(o->machine, "pc") == 0)
        p->machine = "pc";
    else
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "machine",
                           "machine type must be \"q35\" or \"pc\"");
    /* architecture */
    const char *a = id ? id->architecture : NULL;
    if (!a || !*a || strcmp(a, "x86_64") == 0 || strcmp(a, "amd64") == 0)
        p->arch = "x86_64";
    else if (strcmp(a, "i386") == 0 || strcmp(a, "i486") == 0 || strcmp(a, "i586") == 0 ||
             strcmp(a, "i686") == 0 || strcmp(a, "x86") == 0)
        p->arch = "i686";
    else
        return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, NULL, -1, "architecture",
                           "guest architecture \"%.64s\" is not supported (x86 only)", a);
    /* name */
    const char *src_name = o->name ? o->name : spec->name;
    if (!src_name)
        return hk_error_at(ctx, H2K_ERR_VALIDATION, spec->source_path, -1, "name",
                           "the VM has no name; set one in the options");
    p->name = hk_domain_name_sanitise(src_name);
    if (!p->name)
        return hk_error_nomem(ctx);
    if (!*p->name)
        return hk_error_at(ctx, H2K_ERR_VALIDATION, spec->source_path, -1, "name",
                           "the VM name is empty once sanitised");
    if (strcmp(p->name, src_name) != 0)
        hk_info(ctx, OUT_DOMAIN, "domain name \"%s\" sanitised for libvirt", p->name);
    /* uuid */
    if (spec->uuid && !hk_uuid_canonical(spec->uuid, p->uuid))
        hk_warn(ctx, OUT_DOMAIN, "source UUID is malformed; libvirt will generate one");
    /* memory, cpus */
    if (spec->memory_bytes == 0) {
        p->memory_kib = HK_DEFAULT_MEMORY_KIB;
        hk_warn(ctx, OUT_DOMAIN, "memory size unknown, using %" PRIu64 " MiB",
                p->memory_kib / 1024);
    } else {
        p->memory_kib = spec->memory_bytes / 1024 + (spec->memory_bytes % 1024 != 0);
    }
    p->vcpus = spec->vcpus ? spec->vcpus : 1;
    if (p->vcpus > HK_MAX_VCPUS)
        return hk_error_at(ctx, H2K_ERR_VALIDATION, spec->source_path, -1, "vcpus",
                           "%u vCPUs is more than %u", p->vcpus, HK_MAX_VCPUS);
    if (spec->cores_per_socket > 1 && spec->cores_per_socket <= p->vcpus &&
        p->vcpus % spec->cores_per_socket == 0) {
        p->cores = spec->cores_per_socket;
        p->sockets = p->vcpus / p->cores;
    }
    /* guest kind */
    guess_kind(spec, id, &p->windows, &p->linux_guest);
    /* Windows 11 does not boot without a TPM 2.0: a software one (swtpm) */
    if (p->windows && id && id->windows && id->windows->os_short &&
        strcmp(id->windows->os_short, "w11") == 0)
        p->tpm_model = o->machine && strcmp(o->machine, "pc") == 0 ? "tpm-tis" : "tpm-crb";
    /* a source vTPM: the same kind of device (its contents cannot follow) */
    if (spec->vtpm) {
        if (!p->tpm_model)
            p->tpm_model = o->machine && strcmp(o->machine, "pc") == 0 ? "tpm-tis" : "tpm-crb";
        hk_warn(ctx, OUT_DOMAIN,
                "the source VM has a virtual TPM: the domain gets a new, empty emulated TPM 2.0 "
                "(%s); nothing sealed in the source's vTPM (BitLocker keys, Windows Hello, "
                "credentials) is carried: suspend BitLocker before the migration or keep its "
                "recovery key at hand",
                p->tpm_model);
    }
    if (p->tpm_model) {
        char *swtpm = hk_find_program("swtpm");
        if (!swtpm)
            hk_warn(ctx, OUT_DOMAIN,
                    "the domain has a TPM (%s) but swtpm is not installed on this host: "
                    "libvirt here cannot start the domain until it is (Debian: swtpm)",
                    p->tpm_model);
        free(swtpm);
    }
    /* firmware */
    h2k_firmware fw = o->firmware;
    if (fw == H2K_FIRMWARE_UNKNOWN)
        fw = spec->firmware;
    if (fw == H2K_FIRMWARE_UNKNOWN && id)
        fw = id->firmware;
    p->uefi = fw == H2K_FIRMWARE_UEFI;
    p->secure_boot = p->uefi && (o->secure_boot < 0 ? spec->secure_boot != 0 : o->secure_boot);
    if (p->uefi && strcmp(p->arch, "x86_64") != 0)
        return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, NULL, -1, "firmware",
                           "UEFI is supported for x86_64 guests only");
    if (p->secure_boot && strcmp(p->machine, "q35") != 0)
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "machine",
                           "secure boot needs the q35 machine type (SMM)");
    if (p->uefi) {
        p->loader = o->ovmf_code     ? o->ovmf_code
                    : p->secure_boot ? OVMF_DIR "OVMF_CODE_4M.ms.fd"
                                     : OVMF_DIR "OVMF_CODE_4M.fd";
        p->nvram_template = o->ovmf_vars     ? o->ovmf_vars
                            : p->secure_boot ? OVMF_DIR "OVMF_VARS_4M.ms.fd"
                                             : OVMF_DIR "OVMF_VARS_4M.fd";
        if ((rc = check_text(ctx, "ovmf_code", p->loader)) < 0 ||
            (rc = check_text(ctx, "ovmf_vars", p->nvram_template)) < 0)
            return rc;
        if (o->nvram_path) {
            p->nvram = strdup(o->nvram_path);
        } else if (o->output_dir) {
            char *base = hk_asprintf("%s_VARS.fd", p->name);
            p->nvram = base ? hk_path_join(o->output_dir, base) : NULL;
            free(base);
        }
        if ((o->nvram_path || o->output_dir) && !p->nvram)
            return hk_error_nomem(ctx);
        if (p->nvram && (rc = check_text(ctx, "nvram_path", p->nvram)) < 0)
            return rc;
    }
    /* disks */
    bool sata = o->disk_bus == H2K_BUS_SATA ||
                (o->disk_bus == H2K_BUS_UNKNOWN && p->windows && !o->windows_virtio);
    if (o->disk_bus != H2K_BUS_UNKNOWN && o->disk_bus != H2K_BUS_VIRTIO &&
        o->disk_bus != H2K_BUS_SATA)
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "disk_bus",
                           "disk bus %s is not written (unknown for automatic, virtio or sata)",
                           h2k_bus_name(o->disk_bus));
    p->disk_bus = sata ? "sata" : "virtio";
    p->disk_prefix = sata ? "sd" : "vd";
    p->nic_model = (p->windows && !o->windows_virtio) ? "e1000e" : "virtio";
    if (o->disk_format != H2K_FORMAT_UNKNOWN && o->disk_format != H2K_FORMAT_QCOW2 &&
        o->disk_format != H2K_FORMAT_RAW)
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "disk_format",
                           "disk format must be qcow2 or raw (format %d)", (int)o->disk_format);
    p->forced_format = o->disk_format == H2K_FORMAT_UNKNOWN ? NULL
                       : o->disk_format == H2K_FORMAT_RAW   ? "raw"
                                                            : "qcow2";
    static const char *const caches[] = {"none", "writeback", "writethrough", "directsync",
                                         "unsafe"};
    p->cache = NULL;
    for (size_t i = 0; i < HK_ARRAY_LEN(caches); i++)
        if (!o->disk_cache || strcmp(o->disk_cache, caches[i]) == 0) {
            p->cache = caches[i];
            break;
        }
    if (!p->cache)
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "disk_cache",
                           "unknown disk cache mode");
    if (n_disks > HK_MAX_DISKS)
        return hk_error_at(ctx, H2K_ERR_VALIDATION, NULL, -1, "disks", "%zu disks is more than %d",
                           n_disks, HK_MAX_DISKS);
    for (size_t i = 0; i < n_disks; i++) {
        if (!disk_paths[i])
            return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "disk_paths",
                               "disk path %zu is NULL", i);
        if ((rc = check_text(ctx, "disk path", disk_paths[i])) < 0)
            return rc;
    }
    /* networks */
    if (spec->n_nics > HK_MAX_NICS)
        return hk_error_at(ctx, H2K_ERR_VALIDATION, spec->source_path, -1, "nics",
                           "%zu NICs is more than %d", spec->n_nics, HK_MAX_NICS);
    if (o->n_network_map && !o->network_map)
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "network_map",
                           "network_map is NULL with %zu entries", o->n_network_map);
    for (size_t i = 0; i < o->n_network_map; i++) {
        const h2k_network_mapping *m = &o->network_map[i];
        if (m->kind != H2K_NET_NETWORK && m->kind != H2K_NET_BRIDGE)
            return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "network_map",
                               "network map entry %zu: unknown kind", i);
        if ((rc = check_target(ctx, m->kind, m->target)) < 0)
            return rc;
    }
    if (o->default_network && (rc = check_target(ctx, H2K_NET_NETWORK, o->default_network)) < 0)
        return rc;
    return 0;
}

/* ----------------------------------------------------------- writing */

/* The writer calls return -1 on failure; W() keeps the first failure. */
#define W(call)                                                                                    \
    do {                                                                                           \
        if (ok && (call) < 0)                                                                      \
            ok = false;                                                                            \
    } while (0)
#define X(s) ((const xmlChar *)(s))

static bool
elem_text(xmlTextWriterPtr w, const char *name, const char *text)
{
    return xmlTextWriterWriteElement(w, X(name), X(text)) >= 0;
}

static bool
elem_attr(xmlTextWriterPtr w, const char *name, const char *attr, const char *val)
{
    bool ok = true;
    W(xmlTextWriterStartElement(w, X(name)));
    W(xmlTextWriterWriteAttribute(w, X(attr), X(val)));
    W(xmlTextWriterEndElement(w));
    return ok;
}

static bool
write_os(xmlTextWriterPtr w, const dom_plan *p)
{
    bool ok = true;
    W(xmlTextWriterStartElement(w, X("os")));
    W(xmlTextWriterStartElement(w, X("type")));
    W(xmlTextWriterWriteAttribute(w, X("arch"), X(p->arch)));
    W(xmlTextWriterWriteAttribute(w, X("machine"), X(p->machine)));
    W(xmlTextWriterWriteString(w, X("hvm")));
    W(xmlTextWriterEndElement(w));
    if (p->uefi) {
        /* Manual firmware selection (loader + nvram) rather than <os firmware='efi'>:
         * libvirt before 9.2 refuses an explicit loader with autoselection, and the
         * explicit form does not depend on the host's firmware descriptors. */
        W(xmlTextWriterStartElement(w, X("loader")));
        W(xmlTextWriterWriteAttribute(w, X("readonly"), X("yes")));
        if (p->secure_boot)
            W(xmlTextWriterWriteAttribute(w, X("secure"), X("yes")));
        W(xmlTextWriterWriteAttribute(w, X("type"), X("pflash")));
        W(xmlTextWriterWriteString(w, X(p->loader)));
        W(xmlTextWriterEndElement(w));
        W(xmlTextWriterStartElement(w, X("nvram")));
        W(xmlTextWriterWriteAttribute(w, X("template"), X(p->nvram_template)));
        if (p->nvram)
            W(xmlTextWriterWriteString(w, X(p->nvram)));
        W(xmlTextWriterEndElement(w));
    }
    W(xmlTextWriterEndElement(w));
    return ok;
}

static bool
write_features_cpu_clock(xmlTextWriterPtr w, const dom_plan *p)
{
    bool ok = true;
    W(xmlTextWriterStartElement(w, X("features")));
    W(xmlTextWriterStartElement(w, X("acpi")));
    W(xmlTextWriterEndElement(w));
    W(xmlTextWriterStartElement(w, X("apic")));
    W(xmlTextWriterEndElement(w));
    if (p->windows) {
        W(xmlTextWriterStartElement(w, X("hyperv")));
        ok = ok && elem_attr(w, "relaxed", "state", "on");
        ok = ok && elem_attr(w, "vapic", "state", "on");
        W(xmlTextWriterStartElement(w, X("spinlocks")));
        W(xmlTextWriterWriteAttribute(w, X("state"), X("on")));
        W(xmlTextWriterWriteAttribute(w, X("retries"), X("8191")));
        W(xmlTextWriterEndElement(w));
        W(xmlTextWriterEndElement(w));
    }
    if (p->secure_boot)
        ok = ok && elem_attr(w, "smm", "state", "on");
    W(xmlTextWriterEndElement(w));

    bool kvm = strcmp(p->type, "kvm") == 0;
    if (kvm || p->sockets) {
        W(xmlTextWriterStartElement(w, X("cpu")));
        if (kvm)
            W(xmlTextWriterWriteAttribute(w, X("mode"), X("host-passthrough")));
        if (p->sockets) {
            W(xmlTextWriterStartElement(w, X("topology")));
            W(xmlTextWriterWriteFormatAttribute(w, X("sockets"), "%u", p->sockets));
            W(xmlTextWriterWriteAttribute(w, X("dies"), X("1")));
            W(xmlTextWriterWriteFormatAttribute(w, X("cores"), "%u", p->cores));
            W(xmlTextWriterWriteAttribute(w, X("threads"), X("1")));
            W(xmlTextWriterEndElement(w));
        }
        W(xmlTextWriterEndElement(w));
    }

    W(xmlTextWriterStartElement(w, X("clock")));
    W(xmlTextWriterWriteAttribute(w, X("offset"), X(p->windows ? "localtime" : "utc")));
    W(xmlTextWriterStartElement(w, X("timer")));
    W(xmlTextWriterWriteAttribute(w, X("name"), X("rtc")));
    W(xmlTextWriterWriteAttribute(w, X("tickpolicy"), X("catchup")));
    W(xmlTextWriterEndElement(w));
    W(xmlTextWriterStartElement(w, X("timer")));
    W(xmlTextWriterWriteAttribute(w, X("name"), X("pit")));
    W(xmlTextWriterWriteAttribute(w, X("tickpolicy"), X("delay")));
    W(xmlTextWriterEndElement(w));
    W(xmlTextWriterStartElement(w, X("timer")));
    W(xmlTextWriterWriteAttribute(w, X("name"), X("hpet")));
    W(xmlTextWriterWriteAttribute(w, X("present"), X("no")));
    W(xmlTextWriterEndElement(w));
    if (p->windows) {
        W(xmlTextWriterStartElement(w, X("timer")));
        W(xmlTextWriterWriteAttribute(w, X("name"), X("hypervclock")));
        W(xmlTextWriterWriteAttribute(w, X("present"), X("yes")));
        W(xmlTextWriterEndElement(w));
    }
    W(xmlTextWriterEndElement(w));

    ok = ok && elem_text(w, "on_poweroff", "destroy");
    ok = ok && elem_text(w, "on_reboot", "restart");
    ok = ok && elem_text(w, "on_crash", "destroy");
    W(xmlTextWriterStartElement(w, X("pm")));
    ok = ok && elem_attr(w, "suspend-to-mem", "enabled", "no");
    ok = ok && elem_attr(w, "suspend-to-disk", "enabled", "no");
    W(xmlTextWriterEndElement(w));
    return ok;
}

static bool
write_disks(xmlTextWriterPtr w, const dom_plan *p, const h2k_vm_spec *spec,
            const char *const *disk_paths, size_t n_disks)
{
    bool ok = true;
    char target[32];
    for (size_t i = 0; i < n_disks; i++) {
        W(xmlTextWriterStartElement(w, X("disk")));
        W(xmlTextWriterWriteAttribute(w, X("type"), X("file")));
        W(xmlTextWriterWriteAttribute(w, X("device"), X("disk")));
        W(xmlTextWriterStartElement(w, X("driver")));
        W(xmlTextWriterWriteAttribute(w, X("name"), X("qemu")));
        W(xmlTextWriterWriteAttribute(w, X("type"), X(disk_format_for(p, disk_paths[i]))));
        W(xmlTextWriterWriteAttribute(w, X("cache"), X(p->cache)));
        if (strcmp(p->cache, "none") == 0)
            W(xmlTextWriterWriteAttribute(w, X("io"), X("native")));
        W(xmlTextWriterWriteAttribute(w, X("discard"), X("unmap")));
        W(xmlTextWriterEndElement(w));
        ok = ok && elem_attr(w, "source", "file", disk_paths[i]);
        hk_disk_target_name(p->disk_prefix, i, target, sizeof(target));
        W(xmlTextWriterStartElement(w, X("target")));
        W(xmlTextWriterWriteAttribute(w, X("dev"), X(target)));
        W(xmlTextWriterWriteAttribute(w, X("bus"), X(p->disk_bus)));
        W(xmlTextWriterEndElement(w));
        if (i == 0)
            ok = ok && elem_attr(w, "boot", "order", "1");
        W(xmlTextWriterEndElement(w));
    }
    /* CD-ROM drives, empty: on SATA (q35) or IDE (pc), after SATA hard disks. */
    bool ide = strcmp(p->machine, "pc") == 0;
    size_t next = ide ? 2 : (strcmp(p->disk_bus, "sata") == 0 ? n_disks : 0);
    size_t n_cd = 0;
    for (size_t i = 0; i < spec->n_removables; i++) {
        const char *kind = spec->removables[i].kind;
        if (!kind || strcmp(kind, "cdrom") != 0)
            continue;
        if (n_cd == HK_MAX_CDROMS || (ide && next > 3))
            break;
        n_cd++;
        hk_disk_target_name(ide ? "hd" : "sd", next++, target, sizeof(target));
        W(xmlTextWriterStartElement(w, X("disk")));
        W(xmlTextWriterWriteAttribute(w, X("type"), X("file")));
        W(xmlTextWriterWriteAttribute(w, X("device"), X("cdrom")));
        W(xmlTextWriterStartElement(w, X("driver")));
        W(xmlTextWriterWriteAttribute(w, X("name"), X("qemu")));
        W(xmlTextWriterWriteAttribute(w, X("type"), X("raw")));
        W(xmlTextWriterEndElement(w));
        W(xmlTextWriterStartElement(w, X("target")));
        W(xmlTextWriterWriteAttribute(w, X("dev"), X(target)));
        W(xmlTextWriterWriteAttribute(w, X("bus"), X(ide ? "ide" : "sata")));
        W(xmlTextWriterEndElement(w));
        W(xmlTextWriterStartElement(w, X("readonly")));
        W(xmlTextWriterEndElement(w));
        W(xmlTextWriterEndElement(w));
    }
    return ok;
}

static bool
write_nics(h2k_ctx *ctx, xmlTextWriterPtr w, const dom_plan *p, const h2k_vm_spec *spec,
           const h2k_domain_options *o)
{
    bool ok = true;
    const char *defnet = o->default_network ? o->default_network : "default";
    for (size_t i = 0; i < spec->n_nics; i++) {
        const h2k_vm_nic *nic = &spec->nics[i];
        const h2k_network_mapping *m = map_nic(o, nic);
        bool bridge = m && m->kind == H2K_NET_BRIDGE;
        const char *target = m ? m->target : defnet;
        if (!m && nic->network)
            hk_info(ctx, OUT_DOMAIN, "NIC %zu: source network not mapped, using network %s", i,
                    defnet);
        W(xmlTextWriterStartElement(w, X("interface")));
        W(xmlTextWriterWriteAttribute(w, X("type"), X(bridge ? "bridge" : "network")));
        if (nic->mac && hk_mac_ok(nic->mac)) {
            char mac[18];
            for (size_t k = 0; k < 18; k++)
                mac[k] = (nic->mac[k] >= 'A' && nic->mac[k] <= 'F') ? (char)(nic->mac[k] | 0x20)
                                                                    : nic->mac[k];
            ok = ok && elem_attr(w, "mac", "address", mac);
        } else if (nic->mac) {
            hk_warn(ctx, OUT_DOMAIN,
                    "NIC %zu: MAC address is malformed or multicast; "
                    "libvirt will generate one",
                    i);
        }
        ok = ok && elem_attr(w, "source", bridge ? "bridge" : "network", target);
        ok = ok && elem_attr(w, "model", "type", p->nic_model);
        W(xmlTextWriterEndElement(w));
    }
    return ok;
}

static bool
write_devices(h2k_ctx *ctx, xmlTextWriterPtr w, const dom_plan *p, const h2k_vm_spec *spec,
              const char *const *disk_paths, size_t n_disks, const h2k_domain_options *o)
{
    bool ok = true;
    W(xmlTextWriterStartElement(w, X("devices")));
    ok = ok && write_disks(w, p, spec, disk_paths, n_disks);
    ok = ok && write_nics(ctx, w, p, spec, o);
    /* serial console */
    W(xmlTextWriterStartElement(w, X("serial")));
    W(xmlTextWriterWriteAttribute(w, X("type"), X("pty")));
    ok = ok && elem_attr(w, "target", "port", "0");
    W(xmlTextWriterEndElement(w));
    W(xmlTextWriterStartElement(w, X("console")));
    W(xmlTextWriterWriteAttribute(w, X("type"), X("pty")));
    W(xmlTextWriterStartElement(w, X("target")));
    W(xmlTextWriterWriteAttribute(w, X("type"), X("serial")));
    W(xmlTextWriterWriteAttribute(w, X("port"), X("0")));
    W(xmlTextWriterEndElement(w));
    W(xmlTextWriterEndElement(w));
    /* guest agent */
    W(xmlTextWriterStartElement(w, X("channel")));
    W(xmlTextWriterWriteAttribute(w, X("type"), X("unix")));
    W(xmlTextWriterStartElement(w, X("target")));
    W(xmlTextWriterWriteAttribute(w, X("type"), X("virtio")));
    W(xmlTextWriterWriteAttribute(w, X("name"), X("org.qemu.guest_agent.0")));
    W(xmlTextWriterEndElement(w));
    W(xmlTextWriterEndElement(w));
    /* input, graphics, video */
    W(xmlTextWriterStartElement(w, X("input")));
    W(xmlTextWriterWriteAttribute(w, X("type"), X("tablet")));
    W(xmlTextWriterWriteAttribute(w, X("bus"), X("usb")));
    W(xmlTextWriterEndElement(w));
    if (o->graphics) {
        W(xmlTextWriterStartElement(w, X("graphics")));
        W(xmlTextWriterWriteAttribute(w, X("type"), X("vnc")));
        W(xmlTextWriterWriteAttribute(w, X("autoport"), X("yes")));
        W(xmlTextWriterStartElement(w, X("listen")));
        W(xmlTextWriterWriteAttribute(w, X("type"), X("address")));
        W(xmlTextWriterWriteAttribute(w, X("address"), X("127.0.0.1")));
        W(xmlTextWriterEndElement(w));
        W(xmlTextWriterEndElement(w));
        W(xmlTextWriterStartElement(w, X("video")));
        ok = ok && elem_attr(w, "model", "type", p->linux_guest ? "virtio" : "vga");
        W(xmlTextWriterEndElement(w));
    }
    /* memory balloon, entropy */
    W(xmlTextWriterStartElement(w, X("memballoon")));
    W(xmlTextWriterWriteAttribute(w, X("model"), X("virtio")));
    W(xmlTextWriterEndElement(w));
    W(xmlTextWriterStartElement(w, X("rng")));
    W(xmlTextWriterWriteAttribute(w, X("model"), X("virtio")));
    W(xmlTextWriterStartElement(w, X("backend")));
    W(xmlTextWriterWriteAttribute(w, X("model"), X("random")));
    W(xmlTextWriterWriteString(w, X("/dev/urandom")));
    W(xmlTextWriterEndElement(w));
    W(xmlTextWriterEndElement(w));
    if (p->tpm_model) {
        W(xmlTextWriterStartElement(w, X("tpm")));
        W(xmlTextWriterWriteAttribute(w, X("model"), X(p->tpm_model)));
        W(xmlTextWriterStartElement(w, X("backend")));
        W(xmlTextWriterWriteAttribute(w, X("type"), X("emulator")));
        W(xmlTextWriterWriteAttribute(w, X("version"), X("2.0")));
        W(xmlTextWriterEndElement(w));
        W(xmlTextWriterEndElement(w));
    }
    W(xmlTextWriterEndElement(w)); /* devices */
    return ok;
}

static bool
write_domain(h2k_ctx *ctx, xmlTextWriterPtr w, const dom_plan *p, const h2k_vm_spec *spec,
             const char *const *disk_paths, size_t n_disks, const h2k_domain_options *o)
{
    bool ok = true;
    W(xmlTextWriterSetIndent(w, 1));
    W(xmlTextWriterSetIndentString(w, X("  ")));
    W(xmlTextWriterStartElement(w, X("domain")));
    W(xmlTextWriterWriteAttribute(w, X("type"), X(p->type)));
    ok = ok && elem_text(w, "name", p->name);
    if (p->uuid[0])
        ok = ok && elem_text(w, "uuid", p->uuid);
    W(xmlTextWriterStartElement(w, X("memory")));
    W(xmlTextWriterWriteAttribute(w, X("unit"), X("KiB")));
    W(xmlTextWriterWriteFormatString(w, "%" PRIu64, p->memory_kib));
    W(xmlTextWriterEndElement(w));
    W(xmlTextWriterStartElement(w, X("currentMemory")));
    W(xmlTextWriterWriteAttribute(w, X("unit"), X("KiB")));
    W(xmlTextWriterWriteFormatString(w, "%" PRIu64, p->memory_kib));
    W(xmlTextWriterEndElement(w));
    W(xmlTextWriterStartElement(w, X("vcpu")));
    W(xmlTextWriterWriteAttribute(w, X("placement"), X("static")));
    W(xmlTextWriterWriteFormatString(w, "%u", p->vcpus));
    W(xmlTextWriterEndElement(w));
    ok = ok && write_os(w, p);
    ok = ok && write_features_cpu_clock(w, p);
    ok = ok && write_devices(ctx, w, p, spec, disk_paths, n_disks, o);
    W(xmlTextWriterEndElement(w)); /* domain */
    W(xmlTextWriterFlush(w));
    return ok;
}

HK_OPTS_LAYOUT(domain_layout, h2k_domain_options, sizeof(h2k_domain_options));

int
h2k_domain_options_init(h2k_domain_options *opts, unsigned version)
{
    static const h2k_domain_options defaults = H2K_DOMAIN_OPTIONS_INIT;
    return hk_opts_init(&domain_layout, opts, version, &defaults);
}

int
h2k_domain_xml(h2k_ctx *ctx, const h2k_vm_spec *spec, const h2k_guest_identity *id,
               const char *const *disk_paths, size_t n_disks, const h2k_domain_options *opts,
               char **xml_out)
{
    if (xml_out)
        *xml_out = NULL;
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!spec || !xml_out || (n_disks && !disk_paths))
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_domain_xml: NULL argument");
    if (n_disks == 0)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_domain_xml: at least one disk is needed");
    static const h2k_domain_options defaults = H2K_DOMAIN_OPTIONS_INIT;
    h2k_domain_options eff;
    int vrc = hk_opts_import(ctx, &domain_layout, opts, &defaults, &eff);
    if (vrc < 0)
        return vrc;
    const h2k_domain_options *o = &eff;
    if (spec->n_nics && !spec->nics)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_vm_spec: NICs missing");
    if (spec->n_removables && !spec->removables)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_vm_spec: removables missing");

    dom_plan p;
    memset(&p, 0, sizeof(p));
    int rc = plan_domain(ctx, spec, id, disk_paths, n_disks, o, &p);
    xmlBufferPtr buf = NULL;
    xmlTextWriterPtr w = NULL;
    if (rc < 0)
        goto done;
    buf = xmlBufferCreate();
    w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
    if (!w) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    bool ok = write_domain(ctx, w, &p, spec, disk_paths, n_disks, o);
    xmlFreeTextWriter(w);
    w = NULL;
    if (!ok) {
        rc = hk_error(ctx, H2K_ERR_NO_MEMORY, "writing the domain XML failed");
        goto done;
    }
    const char *content = (const char *)xmlBufferContent(buf);
    size_t len = (size_t)xmlBufferLength(buf);
    /* One trailing newline, whatever libxml2's version writes. */
    while (len > 0 && content[len - 1] == '\n')
        len--;
    *xml_out = malloc(len + 2);
    if (!*xml_out) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    memcpy(*xml_out, content, len);
    (*xml_out)[len] = '\n';
    (*xml_out)[len + 1] = '\0';
    hk_debug(ctx, OUT_DOMAIN, "domain XML for %s: %zu bytes, %zu disks, %zu NICs", p.name, len + 1,
             n_disks, spec->n_nics);
    rc = 0;
done:
    if (w)
        xmlFreeTextWriter(w);
    if (buf)
        xmlBufferFree(buf);
    free(p.name);
    free(p.nvram);
    return rc;
}
