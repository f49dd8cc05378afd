/*
 * The boot test's options (defaults, validation) and the qemu command line,
 * built by a pure function of a plan so that it is tested against golden files.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "boot_internal.h"

static const char *const proof_names[] = {"marker", "login", "text"};

bool
hk_boot_bus_ok(h2k_bus bus)
{
    return bus == H2K_BUS_VIRTIO || bus == H2K_BUS_SATA || bus == H2K_BUS_IDE ||
           bus == H2K_BUS_SCSI;
}

bool
hk_boot_vm_complete(const hk_boot_vm *vm)
{
    return vm->machine && vm->disk && vm->disk_format && vm->console_log && vm->memory_mib &&
           vm->vcpus && (!vm->ovmf_code || vm->ovmf_vars);
}

const char *
h2k_boot_proof_name(h2k_boot_proof proof)
{
    return (unsigned)proof < HK_ARRAY_LEN(proof_names) ? proof_names[proof] : "unknown";
}

int
h2k_boot_proof_from_name(const char *name)
{
    for (size_t i = 0; name && i < HK_ARRAY_LEN(proof_names); i++)
        if (strcmp(name, proof_names[i]) == 0)
            return (int)i;
    return -1;
}

/* A MAC is six pairs of hex digits separated by ':'. */
static bool
valid_mac(const char *s)
{
    if (strlen(s) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        char c = s[i];
        if (i % 3 == 2) {
            if (c != ':')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

/* A qemu device model name: letters, digits, '-', '_', '.'. */
static bool
valid_model(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

HK_OPTS_LAYOUT(boot_layout, h2k_boot_test_options, offsetof(h2k_boot_test_options, cpu_level),
               sizeof(h2k_boot_test_options));

int
h2k_boot_test_options_init(h2k_boot_test_options *opts, unsigned version)
{
    static const h2k_boot_test_options defaults = H2K_BOOT_TEST_OPTIONS_INIT;
    return hk_opts_init(&boot_layout, opts, version, &defaults);
}

int
hk_boot_opts_resolve(h2k_ctx *ctx, const h2k_boot_test_options *user, hk_boot_opts *o)
{
    static const h2k_boot_test_options defaults = H2K_BOOT_TEST_OPTIONS_INIT;
    memset(o, 0, sizeof(*o));
    h2k_boot_test_options eff;
    int vrc = hk_opts_import(ctx, &boot_layout, user, &defaults, &eff);
    if (vrc < 0)
        return vrc;
    const h2k_boot_test_options *in = &eff;
    o->format = in->format && *in->format ? in->format : NULL;
    if (o->format && !valid_model(o->format))
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "boot test options: bad format '%s'", o->format);
    o->memory_mib = in->memory_mib ? in->memory_mib : HK_BOOT_DEFAULT_MEMORY;
    if (o->memory_mib < 64 || o->memory_mib > HK_BOOT_MAX_MEMORY)
        return hk_error(ctx, H2K_ERR_INVALID_ARG,
                        "boot test options: memory %u MiB out of range (64..%u)", o->memory_mib,
                        HK_BOOT_MAX_MEMORY);
    o->vcpus = in->vcpus; /* 0: hk_boot_auto_vcpus() once the accelerator is known */
    if (o->vcpus > HK_BOOT_MAX_VCPUS)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "boot test options: %u vCPUs (at most %u)",
                        o->vcpus, HK_BOOT_MAX_VCPUS);
    o->uefi = in->uefi != 0;
    o->bus = in->bus == H2K_BUS_UNKNOWN ? H2K_BUS_VIRTIO : in->bus;
    if (!hk_boot_bus_ok(o->bus))
        return hk_error(ctx, H2K_ERR_INVALID_ARG,
                        "boot test options: bus %d (%s) cannot be tested (virtio, sata, ide "
                        "or scsi)",
                        (int)in->bus, h2k_bus_name(in->bus));
    if (in->machine && *in->machine) {
        if (strcmp(in->machine, "q35") != 0 && strcmp(in->machine, "pc") != 0)
            return hk_error(ctx, H2K_ERR_INVALID_ARG,
                            "boot test options: machine '%s' (expected q35 or pc)", in->machine);
        o->machine = in->machine;
    } else {
        o->machine = o->bus == H2K_BUS_IDE ? "pc" : "q35";
    }
    if (o->bus == H2K_BUS_IDE && strcmp(o->machine, "pc") != 0)
        return hk_error(ctx, H2K_ERR_INVALID_ARG,
                        "boot test options: machine q35 has no IDE controller (use machine pc, "
                        "or bus sata)");
    if (o->bus == H2K_BUS_SATA && strcmp(o->machine, "q35") != 0)
        return hk_error(ctx, H2K_ERR_INVALID_ARG,
                        "boot test options: machine pc has no SATA controller (use machine q35)");
    const char *nic = in->nic_model && *in->nic_model ? in->nic_model : "virtio-net-pci";
    if (strcmp(nic, "none") == 0) {
        o->nic_model = NULL;
    } else if (!valid_model(nic)) {
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "boot test options: bad NIC model '%s'", nic);
    } else {
        o->nic_model = nic;
    }
    if (in->mac && *in->mac) {
        if (!valid_mac(in->mac))
            return hk_error(ctx, H2K_ERR_INVALID_ARG,
                            "boot test options: bad MAC address '%s' (want xx:xx:xx:xx:xx:xx)",
                            in->mac);
        o->mac = in->mac;
    }
    o->timeout_seconds = in->timeout_seconds ? in->timeout_seconds : HK_BOOT_DEFAULT_TIMEOUT;
    if (o->timeout_seconds > HK_BOOT_MAX_TIMEOUT)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "boot test options: timeout %u s too long",
                        o->timeout_seconds);
    if ((unsigned)in->accel > H2K_ACCEL_TCG)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "boot test options: unknown accel %d",
                        (int)in->accel);
    o->accel = in->accel;
    if ((unsigned)in->proof > H2K_PROOF_TEXT)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "boot test options: unknown proof %d",
                        (int)in->proof);
    o->proof = in->proof;
    if (o->proof == H2K_PROOF_TEXT && (!in->expect_text || !*in->expect_text))
        return hk_error(ctx, H2K_ERR_INVALID_ARG,
                        "boot test options: proof 'text' needs expect_text");
    if (in->expect_text && strlen(in->expect_text) > 1024)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "boot test options: expect_text too long");
    o->expect_text = in->expect_text;
    o->console_log = in->console_log && *in->console_log ? in->console_log : NULL;
    o->libvirt_uri = in->libvirt_uri && *in->libvirt_uri ? in->libvirt_uri : "qemu:///system";
    if (in->cpu_level > 4)
        return hk_error(ctx, H2K_ERR_INVALID_ARG,
                        "boot test options: cpu_level %u (x86-64 levels are 1 to 4; 0: not "
                        "known)",
                        in->cpu_level);
    o->cpu_level = in->cpu_level;
    return 0;
}

typedef struct argv_b {
    char **v;
    size_t n, cap;
    bool oom;
} argv_b;

static void
add(argv_b *a, char *s)
{
    if (!s || a->oom) {
        a->oom = true;
        free(s);
        return;
    }
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 48;
        char **nv = realloc(a->v, cap * sizeof(char *));
        if (!nv) {
            a->oom = true;
            free(s);
            return;
        }
        a->v = nv;
        a->cap = cap;
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static void
add2(argv_b *a, const char *opt, char *val)
{
    add(a, strdup(opt));
    add(a, val);
}

int
hk_qemu_argv(h2k_ctx *ctx, const hk_qemu_plan *p, char ***out)
{
    *out = NULL;
    if (!p || !p->qemu || !p->accel || !hk_boot_vm_complete(&p->vm) ||
        (p->n_extra_disks && (!p->extra_disks || !p->extra_format)))
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "qemu command line: incomplete plan");
    bool q35 = strcmp(p->vm.machine, "q35") == 0;
    if ((p->vm.bus == H2K_BUS_IDE && q35) || (p->vm.bus == H2K_BUS_SATA && !q35))
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "qemu command line: bus %s on machine %s",
                        h2k_bus_name(p->vm.bus), p->vm.machine);
    if (!hk_boot_bus_ok(p->vm.bus))
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "qemu command line: unknown bus");

    argv_b a = {0};
    bool kvm = strcmp(p->accel, "kvm") == 0;
    add(&a, strdup(p->qemu));
    add2(&a, "-name", strdup("h2k-boot-test"));
    add2(&a, "-machine", hk_asprintf("%s,accel=%s", p->vm.machine, p->accel));
    add2(&a, "-cpu", kvm ? strdup("host") : hk_boot_tcg_cpu(p->vm.cpu_level));
    add2(&a, "-m", hk_asprintf("%u", p->vm.memory_mib));
    add2(&a, "-smp", hk_asprintf("%u", p->vm.vcpus));
    add(&a, strdup("-nodefaults"));
    add(&a, strdup("-no-user-config"));
    add2(&a, "-display", strdup("none"));
    add2(&a, "-vga", strdup("std"));
    add(&a, strdup("-no-reboot"));
    add2(&a, "-rtc", strdup("base=utc"));
    /* -chardev, not "-serial file:PATH", which takes the path literally */
    char *log = hk_qemu_opt_escape(p->vm.console_log);
    add2(&a, "-chardev", log ? hk_asprintf("file,id=serial0,path=%s", log) : NULL);
    add2(&a, "-serial", strdup("chardev:serial0"));
    free(log);
    if (p->vm.ovmf_code) {
        char *code = hk_qemu_opt_escape(p->vm.ovmf_code),
             *vars = hk_qemu_opt_escape(p->vm.ovmf_vars);
        add2(&a, "-drive",
             code ? hk_asprintf("if=pflash,format=raw,unit=0,readonly=on,file=%s", code) : NULL);
        add2(&a, "-drive", vars ? hk_asprintf("if=pflash,format=raw,unit=1,file=%s", vars) : NULL);
        free(code);
        free(vars);
    }
    /* The overlay is already throw-away; snapshot=on keeps even it unwritten.
     * The image is pinned: its format, and a local file (driver "file"), so a
     * name like "nbd:..." or "json:..." is never read as a protocol. */
    char *disk = hk_qemu_opt_escape(p->vm.disk);
    add2(&a, "-drive",
         disk ? hk_asprintf("driver=%s,file.driver=file,file.filename=%s,if=none,id=disk0,"
                            "snapshot=on,cache=unsafe",
                            p->vm.disk_format, disk)
              : NULL);
    free(disk);
    switch (p->vm.bus) {
    case H2K_BUS_VIRTIO:
        add2(&a, "-device", strdup("virtio-blk-pci,drive=disk0,bootindex=1"));
        break;
    case H2K_BUS_SATA:
    case H2K_BUS_IDE:
        add2(&a, "-device", strdup("ide-hd,drive=disk0,bus=ide.0,bootindex=1"));
        break;
    case H2K_BUS_SCSI:
        add2(&a, "-device", strdup("virtio-scsi-pci,id=scsi0"));
        add2(&a, "-device", strdup("scsi-hd,drive=disk0,bus=scsi0.0,bootindex=1"));
        break;
    case H2K_BUS_UNKNOWN:
    case H2K_BUS_NVME:
    case H2K_BUS_FLOPPY:
        break; /* refused above by hk_boot_bus_ok() */
    }
    /* The VM's other disks (data on a second disk is mounted by fstab): the
     * same bus, no boot index; snapshot=on, so the outputs are never written. */
    for (size_t i = 0; i < p->n_extra_disks; i++) {
        char *d = hk_qemu_opt_escape(p->extra_disks[i]);
        size_t id = i + 1;
        add2(&a, "-drive",
             d ? hk_asprintf("driver=%s,file.driver=file,file.filename=%s,if=none,id=disk%zu,"
                             "snapshot=on,cache=unsafe",
                             p->extra_format, d, id)
               : NULL);
        free(d);
        switch (p->vm.bus) {
        case H2K_BUS_SCSI:
            add2(&a, "-device", hk_asprintf("scsi-hd,drive=disk%zu,bus=scsi0.0", id));
            break;
        case H2K_BUS_SATA:
        case H2K_BUS_IDE:
            add2(&a, "-device", hk_asprintf("ide-hd,drive=disk%zu,bus=ide.%zu", id, id));
            break;
        default:
            add2(&a, "-device", hk_asprintf("virtio-blk-pci,drive=disk%zu", id));
            break;
        }
    }
    /* entropy from the host, as in the domain XML the migration writes */
    add2(&a, "-object", strdup("rng-random,id=rng0,filename=/dev/urandom"));
    add2(&a, "-device", strdup("virtio-rng-pci,rng=rng0"));
    if (p->vm.nic_model) {
        add2(&a, "-netdev", strdup("user,id=net0"));
        add2(&a, "-device",
             p->vm.mac ? hk_asprintf("%s,netdev=net0,mac=%s", p->vm.nic_model, p->vm.mac)
                       : hk_asprintf("%s,netdev=net0", p->vm.nic_model));
    }
    if (a.oom) {
        hk_strv_free(a.v);
        return hk_error_nomem(ctx);
    }
    *out = a.v;
    return 0;
}
