/*
 * Unit tests of the boot testers' pure parts: the qemu command line and the
 * libvirt domain (golden files under tests/data/test/<case>/), option
 * defaults and validation, the console scanner, the boot probe, results.
 * Set H2K_REGENERATE=1 to rewrite the expected files after a deliberate change.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testsupport.h"

#include "boottest/boot_internal.h"
#include "boottest/libvirt_xml.h"

/* ------------------------------------------------------------ golden */

typedef struct plan_file {
    char *text;
    hk_qemu_plan q;
    hk_libvirt_plan l;
} plan_file;

static void
load_plan(const char *path, plan_file *pf)
{
    memset(pf, 0, sizeof(*pf));
    pf->text = ts_read_file(path, NULL);
    pf->q.qemu = "qemu-system-x86_64";
    pf->l.run_as_uid = pf->l.run_as_gid = -1;
    char *save = NULL;
    for (char *line = strtok_r(pf->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *eq = strchr(line, '=');
        assert_non_null(eq);
        *eq = '\0';
        const char *k = line, *v = eq + 1;
        if (strcmp(k, "accel") == 0) {
            pf->q.accel = v;
            pf->l.type = strcmp(v, "kvm") == 0 ? "kvm" : "qemu";
        } else if (strcmp(k, "machine") == 0) {
            pf->q.vm.machine = v;
        } else if (strcmp(k, "memory") == 0) {
            pf->q.vm.memory_mib = (unsigned)atoi(v);
        } else if (strcmp(k, "vcpus") == 0) {
            pf->q.vm.vcpus = (unsigned)atoi(v);
        } else if (strcmp(k, "disk") == 0) {
            pf->q.vm.disk = v;
        } else if (strcmp(k, "format") == 0) {
            pf->q.vm.disk_format = v;
        } else if (strcmp(k, "bus") == 0) {
            int b = h2k_bus_from_name(v);
            assert_true(b >= 0);
            pf->q.vm.bus = (h2k_bus)b;
        } else if (strcmp(k, "nic") == 0) {
            pf->q.vm.nic_model = v;
        } else if (strcmp(k, "mac") == 0) {
            pf->q.vm.mac = v;
        } else if (strcmp(k, "ovmf_code") == 0) {
            pf->q.vm.ovmf_code = v;
        } else if (strcmp(k, "ovmf_vars") == 0) {
            pf->q.vm.ovmf_vars = v;
        } else if (strcmp(k, "console") == 0) {
            pf->q.vm.console_log = v;
        } else if (strcmp(k, "cpu_level") == 0) {
            pf->q.vm.cpu_level = (unsigned)atoi(v);
        } else if (strcmp(k, "name") == 0) {
            pf->l.name = v;
        } else if (strcmp(k, "uid") == 0) {
            pf->l.run_as_uid = atol(v);
        } else if (strcmp(k, "gid") == 0) {
            pf->l.run_as_gid = atol(v);
        } else {
            fail_msg("%s: unknown key %s", path, k);
        }
    }
    pf->l.vm = pf->q.vm;
}

static void
compare_golden(const char *dir, const char *name, const char *got)
{
    char *path = ts_join(dir, name);
    if (getenv("H2K_REGENERATE")) {
        ts_write_file(path, got, strlen(got));
    } else {
        char *want = ts_read_file(path, NULL);
        if (strcmp(want, got) != 0)
            print_error("%s differs; got:\n%s\n", path, got);
        assert_string_equal(got, want);
        free(want);
    }
    free(path);
}

static void
test_golden_cases(void **state)
{
    (void)state;
    char *root = ts_data_path("test");
    DIR *d = opendir(root);
    assert_non_null(d);
    int cases = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *dir = ts_join(root, e->d_name);
        char *plan_path = ts_join(dir, "plan");
        plan_file pf;
        load_plan(plan_path, &pf);
        h2k_ctx *ctx = ts_ctx();

        char **argv = NULL;
        ts_assert_rc(ctx, hk_qemu_argv(ctx, &pf.q, &argv), 0);
        hk_buf b = {0};
        for (size_t i = 0; argv[i]; i++)
            hk_buf_printf(&b, "%s\n", argv[i]);
        compare_golden(dir, "expected.argv", b.data);
        hk_buf_free(&b);
        hk_strv_free(argv);

        char *xml = NULL;
        ts_assert_rc(ctx, hk_libvirt_xml(ctx, &pf.l, &xml), 0);
        compare_golden(dir, "expected.xml", xml);
        free(xml);

        h2k_ctx_free(ctx);
        free(pf.text);
        free(plan_path);
        free(dir);
        cases++;
    }
    closedir(d);
    free(root);
    assert_int_equal(cases, 6);
}

static void
test_argv_refusals(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    hk_qemu_plan p = {.qemu = "qemu-system-x86_64",
                      .accel = "tcg",
                      .vm = {.machine = "q35",
                             .memory_mib = 1024,
                             .vcpus = 1,
                             .disk = "/d",
                             .disk_format = "qcow2",
                             .bus = H2K_BUS_IDE,
                             .console_log = "/c"}};
    char **argv = NULL;
    ts_assert_rc(ctx, hk_qemu_argv(ctx, &p, &argv), H2K_ERR_INVALID_ARG);
    assert_null(argv);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "bus ide on machine q35"));
    p.vm.bus = H2K_BUS_SATA;
    p.vm.machine = "pc";
    ts_assert_rc(ctx, hk_qemu_argv(ctx, &p, &argv), H2K_ERR_INVALID_ARG);
    p.vm.machine = "q35";
    p.vm.disk = NULL;
    ts_assert_rc(ctx, hk_qemu_argv(ctx, &p, &argv), H2K_ERR_INVALID_ARG);
    p.vm.disk = "/d";
    p.vm.ovmf_code = "/code"; /* without the variable store */
    ts_assert_rc(ctx, hk_qemu_argv(ctx, &p, &argv), H2K_ERR_INVALID_ARG);
    p.vm.ovmf_code = NULL;
    p.vm.bus = (h2k_bus)9;
    ts_assert_rc(ctx, hk_qemu_argv(ctx, &p, &argv), H2K_ERR_INVALID_ARG);
    p.vm.bus = H2K_BUS_VIRTIO;
    ts_assert_rc(ctx, hk_qemu_argv(ctx, &p, &argv), 0);
    hk_strv_free(argv);

    char *esc = hk_qemu_opt_escape("a,b,,c");
    assert_string_equal(esc, "a,,b,,,,c");
    free(esc);

    hk_libvirt_plan lp = {.name = "n",
                          .type = "qemu",
                          .vm = {.machine = "q35",
                                 .memory_mib = 1,
                                 .vcpus = 1,
                                 .disk = "/d",
                                 .disk_format = "qcow2",
                                 .console_log = NULL},
                          .run_as_uid = -1,
                          .run_as_gid = -1};
    char *xml = NULL;
    ts_assert_rc(ctx, hk_libvirt_xml(ctx, &lp, &xml), H2K_ERR_INVALID_ARG);
    assert_null(xml);
    h2k_ctx_free(ctx);
}

/* ----------------------------------------------------------- options */

static void
test_options_defaults(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    hk_boot_opts o;
    h2k_boot_test_options in = H2K_BOOT_TEST_OPTIONS_INIT;
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), 0);
    assert_int_equal(o.memory_mib, 2048);
    assert_int_equal(o.vcpus, 0); /* automatic: hk_boot_auto_vcpus() */
    assert_int_equal(o.timeout_seconds, 300);
    assert_string_equal(o.machine, "q35");
    assert_int_equal(o.bus, H2K_BUS_VIRTIO);
    assert_string_equal(o.nic_model, "virtio-net-pci");
    assert_null(o.mac);
    assert_false(o.uefi);
    assert_int_equal(o.proof, H2K_PROOF_MARKER);
    assert_int_equal(o.accel, H2K_ACCEL_AUTO);
    assert_string_equal(o.libvirt_uri, "qemu:///system");
    assert_null(o.console_log);

    /* NULL options: the same defaults */
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, NULL, &o), 0);
    assert_int_equal(o.memory_mib, 2048);

    /* zeroes take defaults; IDE picks machine pc; "none" removes the NIC */
    in.memory_mib = 0;
    in.vcpus = 0;
    in.timeout_seconds = 0;
    in.bus = H2K_BUS_IDE;
    in.nic_model = "none";
    in.mac = "00:50:56:3A:12:7b";
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), 0);
    assert_int_equal(o.memory_mib, 2048);
    assert_int_equal(o.vcpus, 0);
    assert_int_equal(o.timeout_seconds, 300);
    assert_string_equal(o.machine, "pc");
    assert_null(o.nic_model);
    assert_string_equal(o.mac, "00:50:56:3A:12:7b");
    h2k_ctx_free(ctx);
}

static void
test_auto_vcpus(void **state)
{
    (void)state;
    /* the caller's count wins */
    assert_int_equal(hk_boot_auto_vcpus(3, true, 2), 3);
    assert_int_equal(hk_boot_auto_vcpus(1, true, 8), 1);
    /* automatic: two under emulation when the host has two CPUs for them */
    assert_int_equal(hk_boot_auto_vcpus(0, true, 2), 2);
    assert_int_equal(hk_boot_auto_vcpus(0, true, 64), 2);
    assert_int_equal(hk_boot_auto_vcpus(0, true, 1), 1);
    assert_int_equal(hk_boot_auto_vcpus(0, false, 64), 1);
}

static void
test_options_refusals(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    hk_boot_opts o;
    h2k_boot_test_options in = H2K_BOOT_TEST_OPTIONS_INIT;
    in.version = 99;
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "version 99"));

    h2k_boot_test_options base = H2K_BOOT_TEST_OPTIONS_INIT;
    in = base;
    in.memory_mib = 16;
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "memory 16 MiB"));
    in = base;
    in.vcpus = 100000;
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    in = base;
    in.bus = H2K_BUS_IDE;
    in.machine = "q35";
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "no IDE controller"));
    in = base;
    in.bus = H2K_BUS_SATA;
    in.machine = "pc";
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    in = base;
    in.machine = "virt";
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    in = base;
    in.bus = (h2k_bus)7;
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    in = base;
    in.nic_model = "e1000,romfile=/etc/shadow";
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    in = base;
    in.format = "raw,file.locking=off";
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    in = base;
    in.mac = "00:50:56:3a:12";
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "MAC"));
    in = base;
    in.mac = "00:50:56:3a:12:7g";
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    in = base;
    in.proof = H2K_PROOF_TEXT;
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "expect_text"));
    in = base;
    in.proof = (h2k_boot_proof)5;
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    in = base;
    in.accel = (h2k_boot_accel)5;
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    in = base;
    in.timeout_seconds = 30u * 24u * 3600u;
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    in = base;
    in.cpu_level = 5;
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), H2K_ERR_INVALID_ARG);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "cpu_level 5"));
    in.cpu_level = 2;
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), 0);
    assert_int_equal(o.cpu_level, 2);
    /* a version 1 caller has no cpu_level: the library does not read past it */
    in.version = 1;
    ts_assert_rc(ctx, hk_boot_opts_resolve(ctx, &in, &o), 0);
    assert_int_equal(o.cpu_level, 0);

    /* the CPU under emulation: lean only for levels 1 and 2 */
    for (unsigned level = 0; level <= 4; level++) {
        char *cpu = hk_boot_tcg_cpu(level);
        assert_non_null(cpu);
        if (level == 1 || level == 2)
            assert_string_equal(cpu,
                                "qemu64,+pni,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16,+lahf-lm,-svm");
        else
            assert_string_equal(cpu, "max");
        free(cpu);
    }

    /* the public entry points refuse before running anything */
    h2k_boot_result *r = (h2k_boot_result *)1;
    ts_assert_rc(ctx, h2k_qemu_test_run(ctx, NULL, NULL, &r), H2K_ERR_INVALID_ARG);
    assert_null(r);
    ts_assert_rc(ctx, h2k_qemu_test_run(ctx, "/nonexistent/disk.img", NULL, &r), H2K_ERR_NOT_FOUND);
    assert_null(r);
    in = base;
    in.version = 0;
    ts_assert_rc(ctx, h2k_libvirt_test_run(ctx, "/nonexistent/disk.img", &in, &r),
                 H2K_ERR_INVALID_ARG);
    assert_int_equal(h2k_qemu_test_run(NULL, "x", NULL, &r), H2K_ERR_INVALID_ARG);
    assert_int_equal(h2k_qemu_test_run(ctx, "x", NULL, NULL), H2K_ERR_INVALID_ARG);
    h2k_ctx_free(ctx);
}

static void
test_names(void **state)
{
    (void)state;
    assert_string_equal(h2k_bus_name(H2K_BUS_SATA), "sata");
    assert_string_equal(h2k_bus_name((h2k_bus)42), "unknown");
    assert_int_equal(h2k_bus_from_name("ide"), H2K_BUS_IDE);
    assert_int_equal(h2k_bus_from_name("scsi"), H2K_BUS_SCSI);
    assert_int_equal(h2k_bus_from_name("nvme"), H2K_BUS_NVME);
    assert_int_equal(h2k_bus_from_name("unknown"), -1);
    assert_int_equal(h2k_bus_from_name("pata"), -1);
    assert_int_equal(h2k_bus_from_name(NULL), -1);
    assert_string_equal(h2k_boot_proof_name(H2K_PROOF_LOGIN), "login");
    assert_int_equal(h2k_boot_proof_from_name("marker"), H2K_PROOF_MARKER);
    assert_int_equal(h2k_boot_proof_from_name("text"), H2K_PROOF_TEXT);
    assert_int_equal(h2k_boot_proof_from_name("Marker"), -1);
}

/* ----------------------------------------------------------- console */

static hk_console_state
feed_str(hk_console *c, const char *s)
{
    return hk_console_feed(c, s, strlen(s));
}

static void
test_console_marker(void **state)
{
    (void)state;
    hk_console c;
    assert_int_equal(hk_console_init(&c, H2K_PROOF_MARKER, "0123456789abcdef", NULL), 0);
    /* the guest's own marker (no token) and a stale token prove nothing */
    assert_int_equal(feed_str(&c, "H2K-BOOT-OK h2k-debian12 10.0.2.15\r\n"), HK_CONSOLE_WAITING);
    assert_int_equal(feed_str(&c, "H2K-BOOT-OK ffffffffffffffff host 10.0.2.15\r\n"),
                     HK_CONSOLE_WAITING);
    /* a prefix of the token is not the token */
    assert_int_equal(feed_str(&c, "H2K-BOOT-OK 0123456789abcdef0 host 1.2.3.4\r\n"),
                     HK_CONSOLE_WAITING);
    /* an unfinished line is not taken */
    assert_int_equal(feed_str(&c, "\r\nH2K-BOOT-OK 0123456789abcdef h2k-debian12 10.0.2.15"),
                     HK_CONSOLE_WAITING);
    assert_int_equal(feed_str(&c, " fec0::5054:ff:fe12:3456\r\n"), HK_CONSOLE_PROVEN);
    assert_string_equal(c.hostname, "h2k-debian12");
    assert_int_equal(c.n_addresses, 2);
    assert_string_equal(c.addresses[0], "10.0.2.15");
    assert_string_equal(c.addresses[1], "fec0::5054:ff:fe12:3456");
    assert_string_equal(c.proof_line, "H2K-BOOT-OK 0123456789abcdef h2k-debian12 10.0.2.15 "
                                      "fec0::5054:ff:fe12:3456");
    /* a later failure line does not undo the proof */
    assert_int_equal(feed_str(&c, "Kernel panic - not syncing\n"), HK_CONSOLE_PROVEN);

    h2k_boot_result r = {0};
    assert_int_equal(hk_boot_result_fill(&r, &c), 0);
    assert_int_equal(r.success, 1);
    assert_int_equal(r.n_addresses, 2);
    assert_string_equal(r.hostname, "h2k-debian12");
    r.accel = strdup("tcg");
    r.boot_seconds = 42.5;
    char *json = h2k_boot_result_to_json(&r);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"success\": true"));
    assert_non_null(strstr(json, "\"10.0.2.15\""));
    assert_non_null(strstr(json, "\"accel\": \"tcg\""));
    assert_non_null(strstr(json, "\"boot_seconds\": 42.5"));
    free(json);
    h2k_boot_result *heap = malloc(sizeof(*heap));
    *heap = r;
    h2k_boot_result_free(heap);
    h2k_boot_result_free(NULL);
    hk_console_free(&c);

    /* no addresses: "none" */
    assert_int_equal(hk_console_init(&c, H2K_PROOF_MARKER, "abc", NULL), 0);
    assert_int_equal(feed_str(&c, "\x1b[0mH2K-BOOT-OK abc box none\n"), HK_CONSOLE_PROVEN);
    assert_string_equal(c.hostname, "box");
    assert_int_equal(c.n_addresses, 0);
    hk_console_free(&c);
}

static void
test_console_login_and_text(void **state)
{
    (void)state;
    hk_console c;
    assert_int_equal(hk_console_init(&c, H2K_PROOF_LOGIN, NULL, NULL), 0);
    assert_int_equal(feed_str(&c, "Last login: Mon Jan 1\r\n"), HK_CONSOLE_WAITING);
    assert_int_equal(feed_str(&c, "login: is mentioned here\r\n"), HK_CONSOLE_WAITING);
    /* the getty prompt waits without a newline */
    assert_int_equal(feed_str(&c, "\r\nDebian GNU/Linux 12 h2k ttyS0\r\n\r\nh2k login: "),
                     HK_CONSOLE_PROVEN);
    assert_string_equal(c.proof_line, "h2k login: ");
    hk_console_free(&c);

    assert_int_equal(hk_console_init(&c, H2K_PROOF_TEXT, NULL, "H2K-UEFI-BOOTED"), 0);
    assert_int_equal(feed_str(&c, "\x1b[1;1HShell> echo H2K-UEFI-%w%\r\n"), HK_CONSOLE_WAITING);
    assert_int_equal(feed_str(&c, "H2K-UEFI-BOO"), HK_CONSOLE_WAITING);
    assert_int_equal(feed_str(&c, "TED"), HK_CONSOLE_PROVEN);
    hk_console_free(&c);
}

static void
test_console_failures(void **state)
{
    (void)state;
    static const struct {
        const char *line, *what;
    } cases[] = {
        {"ALERT!  /dev/sda1 does not exist.  Dropping to a shell!", "root file system"},
        {"[    3.1] Kernel panic - not syncing: VFS: Unable to mount root fs", "kernel panic"},
        {"[  OK  ] dracut-initqueue[312]: Warning: dracut-initqueue: timeout, still waiting",
         "dracut timed out"},
        {"Warning: /dev/mapper/rhel-root does not exist", NULL},
        {"You are in emergency mode. After logging in, type \"journalctl -xb\"", "emergency mode"},
        {"Give root password for maintenance", "maintenance"},
        {"Generating \"/run/initramfs/rdsosreport.txt\"", NULL},
        {"Entering \x1b[1memergency\x1b[0m mode", "emergency mode"},
        {"Dropping to debug shell.", "emergency shell"},
        {"No bootable device.", "no bootable device"},
        {"BdsDxe: failed to load Boot0001 \"UEFI QEMU HARDDISK QM00001 \" from "
         "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0): Not Found",
         NULL},
        {"BdsDxe: loading Boot0008 \"EFI Internal Shell\" from Fv(7CB8BDC9-F8EB-4F34)", NULL},
        /* the shell may run a startup.nsh that boots: only its prompt fails */
        {"BdsDxe: starting Boot0008 \"EFI Internal Shell\" from "
         "Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(7C04A583-9E3E-4F1C-AD65-E05268D0B4D1)",
         NULL},
        {"BdsDxe: starting Boot0001 \"debian\" from HD(1,GPT,5A1C)/\\EFI\\debian\\shimx64.efi",
         NULL},
        {"BdsDxe: No bootable option or device was found.", "no bootable option"},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(cases); i++) {
        hk_console c;
        assert_int_equal(hk_console_init(&c, H2K_PROOF_MARKER, "t", NULL), 0);
        feed_str(&c, "Booting the kernel.\r\n");
        feed_str(&c, cases[i].line);
        assert_int_equal(c.state, HK_CONSOLE_WAITING); /* not before the line ends */
        hk_console_state st = feed_str(&c, "\r\n");
        if (cases[i].what) {
            assert_int_equal(st, HK_CONSOLE_FAILED);
            assert_non_null(strstr(c.failure, cases[i].what));
        } else {
            assert_int_equal(st, HK_CONSOLE_WAITING);
        }
        hk_console_free(&c);
    }
}

/* OVMF's shell, as its serial output was captured: the countdown for
   startup.nsh, then the prompt without a newline. */
static void
test_console_uefi_shell_prompt(void **state)
{
    (void)state;
    static const char countdown[] =
        "\x1b[2J\x1b[01;01H\x1b[01;01HUEFI Interactive Shell v2.2\r\nEDK II\r\n"
        "\x1b[09;01HPress \x1b[1m\x1b[37m\x1b[40mESC\x1b[0m\x1b[37m\x1b[40m in 1 seconds to "
        "skip \x1b[1m\x1b[33m\x1b[40mstartup.nsh\x1b[0m\x1b[37m\x1b[40m or any other key to "
        "continue.\r\n";
    static const char prompt[] = "\x1b[10;01H\x1b[1m\x1b[33m\x1b[40mShell> \x1b[0m\x1b[37m\x1b[40m";
    static const h2k_boot_proof proofs[] = {H2K_PROOF_MARKER, H2K_PROOF_LOGIN, H2K_PROOF_TEXT};
    for (size_t i = 0; i < HK_ARRAY_LEN(proofs); i++) {
        hk_console c;
        assert_int_equal(hk_console_init(&c, proofs[i], "t", "H2K-UEFI-BOOTED"), 0);
        assert_int_equal(feed_str(&c, countdown), HK_CONSOLE_WAITING);
        assert_int_equal(feed_str(&c, prompt), HK_CONSOLE_WAITING);
        /* the prompt stays unfinished while the console is quiet */
        assert_int_equal(hk_console_idle(&c), HK_CONSOLE_FAILED);
        assert_non_null(strstr(c.failure, "shell waits at the prompt"));
        assert_string_equal(c.failure_line, "Shell> ");
        hk_console_free(&c);
    }

    /* a startup.nsh that prints the expected text boots before the prompt */
    hk_console c;
    assert_int_equal(hk_console_init(&c, H2K_PROOF_TEXT, NULL, "H2K-UEFI-BOOTED"), 0);
    feed_str(&c, countdown);
    assert_int_equal(feed_str(&c, "H2K-UEFI-BOOTED\r\n"), HK_CONSOLE_PROVEN);
    assert_int_equal(feed_str(&c, prompt), HK_CONSOLE_PROVEN);
    assert_int_equal(hk_console_idle(&c), HK_CONSOLE_PROVEN);
    hk_console_free(&c);

    /* a startup.nsh's commands are echoed after the same prompt, and a read
       may end between the two: the prompt alone is not yet the failure */
    assert_int_equal(hk_console_init(&c, H2K_PROOF_LOGIN, NULL, NULL), 0);
    feed_str(&c, countdown);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(feed_str(&c, prompt), HK_CONSOLE_WAITING);
        assert_int_equal(feed_str(&c, "stall 1000000\r\n"), HK_CONSOLE_WAITING);
        /* quiet while the command runs: its line is finished */
        assert_int_equal(hk_console_idle(&c), HK_CONSOLE_WAITING);
    }
    hk_console_free(&c);

    /* a prompt followed by a command, or a path prompt, is not the idle shell */
    assert_int_equal(hk_console_init(&c, H2K_PROOF_MARKER, "t", NULL), 0);
    assert_int_equal(feed_str(&c, "Shell> echo hello\r\n"), HK_CONSOLE_WAITING);
    assert_int_equal(feed_str(&c, "MyShell> "), HK_CONSOLE_WAITING);
    assert_int_equal(hk_console_idle(&c), HK_CONSOLE_WAITING);
    hk_console_free(&c);
}

static void
test_console_tail_and_sanitize(void **state)
{
    (void)state;
    char s[] = "\x1b[0;32m  OK  \x1b[0m] Reached\ttarget\r\x07 \x1b(B\x1b"
               "c.";
    assert_string_equal(hk_console_sanitize(s), "  OK  ] Reached target .");
    char t[] = "cut \x1b[12";
    assert_string_equal(hk_console_sanitize(t), "cut ");
    /* UTF-8: whole characters are kept; the rest of one whose first byte the
       serial line lost (seen on a loaded TCG boot), a character cut at the end
       and a C1 control in UTF-8 form become '?' (the report is JSON) */
    char u[] = "dpkg-db-backup.tim\xe2\x80\xa6 Daily, e2scrub_all.timer\x80\xa6"
               "etadata";
    assert_string_equal(hk_console_sanitize(u),
                        "dpkg-db-backup.tim\xe2\x80\xa6 Daily, e2scrub_all.timer??etadata");
    char v[] = "\xc3\xa9t\xc3\xa9 \xc2\x85 \xff cut \xe2\x80";
    assert_string_equal(hk_console_sanitize(v), "\xc3\xa9t\xc3\xa9 ?? ? cut ??");

    hk_console c;
    assert_int_equal(hk_console_init(&c, H2K_PROOF_LOGIN, NULL, NULL), 0);
    for (int i = 0; i < 100; i++) {
        char line[32];
        snprintf(line, sizeof(line), "line %d\r\n", i);
        /* fed one byte at a time */
        for (const char *p = line; *p; p++)
            hk_console_feed(&c, p, 1);
    }
    feed_str(&c, "partial");
    char *tail = hk_console_tail(&c);
    assert_non_null(tail);
    assert_null(strstr(tail, "line 59\n"));
    assert_non_null(strstr(tail, "line 60\nline 61\n"));
    assert_non_null(strstr(tail, "line 99\npartial\n"));
    free(tail);
    hk_console_free(&c);

    /* huge lines are capped, NUL bytes dropped */
    assert_int_equal(hk_console_init(&c, H2K_PROOF_LOGIN, NULL, NULL), 0);
    char *big = malloc(100000);
    memset(big, 'x', 100000);
    big[500] = '\0';
    hk_console_feed(&c, big, 100000);
    hk_console_feed(&c, "\n", 1);
    assert_int_equal(c.n_lines, 1);
    assert_true(strlen(c.lines[0]) <= 4096);
    free(big);
    tail = hk_console_tail(&c);
    assert_non_null(tail);
    free(tail);
    hk_console_free(&c);

    /* empty console */
    assert_int_equal(hk_console_init(&c, H2K_PROOF_LOGIN, NULL, NULL), 0);
    tail = hk_console_tail(&c);
    assert_string_equal(tail, "");
    free(tail);
    hk_console_free(&c);
}

static void
test_fail_report(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    hk_console c;
    assert_int_equal(hk_console_init(&c, H2K_PROOF_MARKER, "t", NULL), 0);
    feed_str(&c, "Begin: Running /scripts/local-block ... done.\r\n");
    feed_str(&c, "ALERT!  /dev/sda1 does not exist.  Dropping to a shell!\r\n");
    h2k_boot_result r = {0};
    ts_assert_rc(ctx, hk_boot_fail(ctx, &r, &c, HK_WATCH_FAILED, 0, 60, "qemu", NULL),
                 H2K_ERR_BOOT_TEST);
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_non_null(strstr(e->message, "did not find the root file system"));
    assert_non_null(strstr(e->message, "ALERT!  /dev/sda1 does not exist"));
    assert_string_equal(e->stage, "boot-test");
    assert_non_null(e->console_tail);
    assert_non_null(strstr(e->console_tail, "local-block ... done.\nALERT!"));
    assert_int_equal(r.success, 0);
    assert_int_equal(r.timed_out, 0);
    free(r.console_tail);
    free(r.error_message);
    memset(&r, 0, sizeof(r));

    ts_assert_rc(ctx, hk_boot_fail(ctx, &r, &c, HK_WATCH_TIMEOUT, 0, 60, "qemu", NULL),
                 H2K_ERR_BOOT_TEST);
    assert_int_equal(r.timed_out, 1);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "within 60 s"));
    free(r.console_tail);
    free(r.error_message);
    memset(&r, 0, sizeof(r));

    ts_assert_rc(ctx, hk_boot_fail(ctx, &r, &c, HK_WATCH_ENDED, 1, 60, "qemu", "bad option -x\n"),
                 H2K_ERR_BOOT_TEST);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "qemu ended (status 1)"));
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "bad option -x"));
    free(r.console_tail);
    free(r.error_message);
    memset(&r, 0, sizeof(r));

    ts_assert_rc(ctx, hk_boot_fail(ctx, &r, &c, HK_WATCH_CANCELLED, 0, 60, "qemu", NULL),
                 H2K_ERR_CANCELLED);
    free(r.console_tail);
    free(r.error_message);
    hk_console_free(&c);
    h2k_ctx_free(ctx);
}

/* ------------------------------------------------------------- probe */

static void
test_probe_texts(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    char a[17], b[17];
    ts_assert_rc(ctx, hk_boot_token(ctx, a), 0);
    ts_assert_rc(ctx, hk_boot_token(ctx, b), 0);
    assert_int_equal(strlen(a), 16);
    assert_int_equal(strspn(a, "0123456789abcdef"), 16);
    assert_string_not_equal(a, b);

    char *s = hk_probe_script("0123456789abcdef");
    assert_non_null(s);
    assert_true(hk_startswith(s, "#!/bin/sh\n"));
    assert_non_null(strstr(s, "token=0123456789abcdef\n"));
    assert_null(strstr(s, "@TOKEN@"));
    assert_non_null(strstr(s, "H2K-BOOT-OK $token"));
    assert_non_null(strstr(s, "/dev/ttyS0 /dev/console"));
    assert_non_null(strstr(s, "${addr%%/*}"));
    free(s);
    assert_null(hk_probe_script(NULL));
    const char *u = hk_probe_unit();
    assert_non_null(strstr(u, "ExecStart=/bin/sh " HK_PROBE_SCRIPT_PATH "\n"));
    assert_non_null(strstr(u, "After=multi-user.target\n"));
    assert_non_null(strstr(u, "WantedBy=multi-user.target\n"));
    /* under emulation the guest's job and device timeouts outlast a slow
       coldplug (a loaded TCG host left /home and /var without devices after
       90 s: emergency mode) */
    const char *slow = hk_probe_slow_conf();
    assert_true(strncmp(slow, "# ", 2) == 0);
    assert_non_null(strstr(slow, "\n[Manager]\n"));
    assert_non_null(strstr(slow, "\nDefaultTimeoutStartSec=20min\n"));
    assert_non_null(strstr(slow, "\nDefaultDeviceTimeoutSec=20min\n"));

    ts_assert_rc(ctx, hk_probe_inject(ctx, "/nonexistent", "bad token;", false, false),
                 H2K_ERR_INVALID_ARG);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_cases),
        cmocka_unit_test(test_argv_refusals),
        cmocka_unit_test(test_options_defaults),
        cmocka_unit_test(test_auto_vcpus),
        cmocka_unit_test(test_options_refusals),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_console_marker),
        cmocka_unit_test(test_console_login_and_text),
        cmocka_unit_test(test_console_failures),
        cmocka_unit_test(test_console_uefi_shell_prompt),
        cmocka_unit_test(test_console_tail_and_sanitize),
        cmocka_unit_test(test_fail_report),
        cmocka_unit_test(test_probe_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
