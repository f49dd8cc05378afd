/*
 * Integration tests of "hyper2kvm xml": a VMX written at run time becomes a
 * domain XML (stdout, file, JSON) that virt-xml-validate accepts, defined on
 * test:///default and on qemu:///system (CTest fixture "libvirtd"); usage
 * errors exit 2, library errors 10 + |code|.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testsupport.h"

/* Runs the CLI with up to 20 arguments (NULL-terminated); returns the exit
 * status and, in *out, stdout + stderr (caller frees). */
static int
cli(char **out, const char *a1, ...)
{
    const char *argv[24] = {ts_env("H2K_CLI")};
    size_t n = 1;
    va_list ap;
    va_start(ap, a1);
    for (const char *a = a1; a && n < HK_ARRAY_LEN(argv) - 1; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return ts_run(argv, out);
}

static const char vmx_text[] = ".encoding = \"UTF-8\"\n"
                               "displayName = \"h2k cli & <xml>\"\n"
                               "guestOS = \"debian12-64\"\n"
                               "memsize = \"1024\"\n"
                               "numvcpus = \"2\"\n"
                               "firmware = \"efi\"\n"
                               "uuid.bios = \"56 4d 96 af e6 46 bd 86-5c 4d 65 4e 77 36 ef 99\"\n"
                               "scsi0.present = \"TRUE\"\n"
                               "scsi0.virtualDev = \"pvscsi\"\n"
                               "scsi0:0.present = \"TRUE\"\n"
                               "scsi0:0.fileName = \"disk.vmdk\"\n"
                               "ide1:0.present = \"TRUE\"\n"
                               "ide1:0.deviceType = \"atapi-cdrom\"\n"
                               "ethernet0.present = \"TRUE\"\n"
                               "ethernet0.virtualDev = \"vmxnet3\"\n"
                               "ethernet0.networkName = \"VM Network\"\n"
                               "ethernet0.addressType = \"static\"\n"
                               "ethernet0.address = \"00:50:56:3a:4b:5c\"\n"
                               "ethernet1.present = \"TRUE\"\n"
                               "ethernet1.virtualDev = \"e1000\"\n"
                               "ethernet1.networkName = \"Backup\"\n"
                               "ethernet1.addressType = \"generated\"\n"
                               "ethernet1.generatedAddress = \"00:0c:29:aa:bb:cc\"\n";

typedef struct fx {
    char *dir;
    char *vmx;
    char *disk;
} fx;

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = ts_mkdtemp();
    f->vmx = ts_join(f->dir, "vm.vmx");
    f->disk = ts_join(f->dir, "disk.qcow2");
    ts_write_file(f->vmx, vmx_text, strlen(vmx_text));
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    ts_rmtree(f->dir);
    free(f->dir);
    free(f->vmx);
    free(f->disk);
    free(f);
    return 0;
}

static void
test_stdout_and_file(void **state)
{
    fx *f = *state;
    char *out = NULL;
    assert_int_equal(cli(&out, "xml", "--spec", f->vmx, "--disk", f->disk, "--type", "qemu",
                         "--network-map", "VM Network=bridge:br0", "--network-map", "*=network:lan",
                         "--output-dir", f->dir, NULL),
                     0);
    assert_true(hk_startswith(out, "<domain type=\"qemu\">\n"));
    assert_non_null(strstr(out, "<name>h2k cli &amp; &lt;xml&gt;</name>"));
    assert_non_null(strstr(out, "<uuid>564d96af-e646-bd86-5c4d-654e7736ef99</uuid>"));
    assert_non_null(strstr(out, "<memory unit=\"KiB\">1048576</memory>"));
    assert_non_null(strstr(out, "<vcpu placement=\"static\">2</vcpu>"));
    assert_non_null(strstr(out, "OVMF_CODE_4M.fd</loader>"));
    assert_non_null(strstr(out, "_VARS.fd</nvram>"));
    assert_non_null(strstr(out, "<mac address=\"00:50:56:3a:4b:5c\"/>\n"
                                "      <source bridge=\"br0\"/>"));
    assert_non_null(strstr(out, "<mac address=\"00:0c:29:aa:bb:cc\"/>\n"
                                "      <source network=\"lan\"/>"));
    assert_non_null(strstr(out, "device=\"cdrom\""));
    char want[512];
    snprintf(want, sizeof(want), "<source file=\"%s\"/>", f->disk);
    assert_non_null(strstr(out, want));

    /* the same into a file, which virt-xml-validate accepts */
    char *file = ts_join(f->dir, "vm.xml");
    char *out2 = NULL;
    assert_int_equal(cli(&out2, "xml", "--spec", f->vmx, "--disk", f->disk, "--type", "qemu",
                         "--network-map", "VM Network=bridge:br0", "--network-map", "*=network:lan",
                         "--output-dir", f->dir, "--output", file, NULL),
                     0);
    char *content = ts_read_file(file, NULL);
    assert_string_equal(content, out);
    ts_require_program("virt-xml-validate");
    const char *v[] = {"virt-xml-validate", file, "domain", NULL};
    ts_run_ok(v);
    free(content);
    free(out2);
    free(file);
    free(out);

    /* options: BIOS, pc, sata, name, JSON */
    assert_int_equal(cli(&out, "--json", "xml", "--spec", f->vmx, "--disk", f->disk, "--disk",
                         "/x/second.raw", "--bios", "--machine", "pc", "--disk-bus", "sata",
                         "--name", "renamed", "--type", "kvm", "--no-graphics", NULL),
                     0);
    assert_non_null(strstr(out, "\"xml\""));
    assert_non_null(strstr(out, "<name>renamed</name>"));
    assert_non_null(strstr(out, "machine=\\\"pc\\\""));
    assert_non_null(strstr(out, "<target dev=\\\"sdb\\\" bus=\\\"sata\\\"/>"));
    assert_non_null(strstr(out, "type=\\\"raw\\\""));
    assert_null(strstr(out, "<loader"));
    assert_null(strstr(out, "<graphics"));
    free(out);
}

static void
test_define(void **state)
{
    fx *f = *state;
    char *out = NULL;
    assert_int_equal(cli(&out, "xml", "--spec", f->vmx, "--disk", f->disk, "--type", "qemu",
                         "--name", "h2k-cli-testdrv", "--define", "-c", "test:///default", NULL),
                     0);
    assert_non_null(strstr(out, "defined domain h2k-cli-testdrv"));
    free(out);
    /* the test driver's own domain "test" exists: EXISTS = 10 + 17 (the old
     * spelling "--define URI" still works) */
    assert_int_equal(cli(&out, "xml", "--spec", f->vmx, "--disk", f->disk, "--type", "qemu",
                         "--name", "test", "--define", "test:///default", NULL),
                     27);
    assert_non_null(strstr(out, "already has a domain named test"));
    free(out);
    /* unreachable daemon: CONNECTION = 12, and libvirt printed nothing itself */
    assert_int_equal(cli(&out, "xml", "--spec", f->vmx, "--disk", f->disk, "--define",
                         "qemu+unix:///system?socket=/nonexistent/h2k-sock", NULL),
                     12);
    assert_non_null(strstr(out, "/nonexistent/h2k-sock"));
    assert_null(strstr(out, "libvirt: "));
    free(out);

    /* the real daemon (fixture libvirtd) */
    ts_require_program("virsh");
    char name[64];
    snprintf(name, sizeof(name), "h2k-cli-itest-%ld", (long)getpid());
    assert_int_equal(cli(&out, "--json", "xml", "--spec", f->vmx, "--disk", f->disk, "--type",
                         "qemu", "--name", name, "--output-dir", f->dir, "--define",
                         "qemu:///system", NULL),
                     0);
    char want[128];
    snprintf(want, sizeof(want), "\"defined\":\"%s\"", name);
    assert_non_null(strstr(out, want));
    free(out);
    const char *dump[] = {"virsh", "-c", "qemu:///system", "dumpxml", name, NULL};
    char *x = NULL;
    assert_int_equal(ts_run(dump, &x), 0);
    assert_non_null(strstr(x, "<mac address='00:50:56:3a:4b:5c'/>"));
    assert_non_null(strstr(x, "<mac address='00:0c:29:aa:bb:cc'/>"));
    free(x);
    const char *undef[] = {"virsh", "-c", "qemu:///system", "undefine", "--nvram", name, NULL};
    ts_run_ok(undef);
}

static void
test_usage(void **state)
{
    fx *f = *state;
    char *out = NULL;
    /* without --spec the disks alone describe the VM: one that does not exist
     * is NOT_FOUND (20); no disk at all is a usage error */
    assert_int_equal(cli(&out, "xml", "--disk", f->disk, NULL), 20);
    free(out);
    assert_int_equal(cli(&out, "xml", "--spec", f->vmx, NULL), 2);
    assert_non_null(strstr(out, "give at least one disk"));
    free(out);
    /* --connect without --define, or naming another URI than --define's */
    assert_int_equal(cli(&out, "xml", "--spec", f->vmx, "--disk", f->disk, "-c", "test:///default",
                         NULL),
                     2);
    free(out);
    assert_int_equal(cli(&out, "xml", "--spec", f->vmx, "--disk", f->disk, "--define",
                         "test:///default", "--connect", "qemu:///system", NULL),
                     2);
    free(out);
    assert_int_equal(cli(&out, "xml", "--spec", f->vmx, "--disk", f->disk, "--network-map",
                         "VM Network=vlan:7", NULL),
                     2);
    assert_non_null(strstr(out, "VM Network=vlan:7"));
    free(out);
    assert_int_equal(cli(&out, "xml", "--spec", f->vmx, "--disk", f->disk, "--machine", "virt",
                         NULL),
                     2);
    free(out);
    assert_int_equal(cli(&out, "xml", "--spec", f->vmx, "--disk", f->disk, "--bogus", "x", NULL),
                     2);
    free(out);
    assert_int_equal(cli(&out, "xml", "--spec", f->vmx, "--disk", NULL), 2);
    free(out);
    /* library errors: missing spec (NOT_FOUND = 20), invalid bridge (VALIDATION = 18) */
    char *missing = ts_join(f->dir, "none.vmx");
    assert_int_equal(cli(&out, "xml", "--spec", missing, "--disk", f->disk, NULL), 20);
    free(out);
    free(missing);
    assert_int_equal(cli(&out, "xml", "--spec", f->vmx, "--disk", f->disk, "--network-map",
                         "*=bridge:not a bridge", NULL),
                     18);
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stdout_and_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_define, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
