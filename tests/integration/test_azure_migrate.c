/*
 * A whole migration from Azure: the real Debian test guest as a fixed-VHD page
 * blob in Azurite (only its allocated pages written), described by the suite's
 * ARM stand-in, migrated with "hyper2kvm azure --vm ... --test-boot": download
 * (only the allocated pages), repairs, copy, XML, boot on virtio with the
 * guest's address; the grant is revoked and the downloaded disk is the blob,
 * byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "azure.h"
#include "testsupport.h"

#define SECRET "Deb1an-secret/+="
#define SECRET_ENV "H2K_TEST_AZ_SECRET"

static ts_azure az;
static char *tmp, *debian, *vhd;
static uint64_t allocated, vhd_size;
static char guest_mac[32], guest_ip[64], guest_host[128];

static void
env_fact(const char *text, const char *key, char *out, size_t size)
{
    size_t kl = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, key, kl) == 0 && l[kl] == '=') {
            const char *v = l + kl + 1;
            size_t n = strcspn(v, "\n");
            if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
                v++;
                n -= 2;
            }
            if (n >= size)
                fail_msg("fact %s too long", key);
            memcpy(out, v, n);
            out[n] = '\0';
            return;
        }
    }
    fail_msg("the guest facts have no %s", key);
}

static int
group_setup(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    ts_require_program("qemu-system-x86_64");
    ts_require_program("cmp");
    ts_azure_init(&az);
    tmp = ts_mkdtemp();
    debian = ts_debian_guest();
    char env_path[4096];
    snprintf(env_path, sizeof(env_path), "%.*s.env", (int)(strlen(debian) - 5), debian);
    char *facts = ts_read_file(env_path, NULL);
    env_fact(facts, "H2K_GUEST_MAC", guest_mac, sizeof(guest_mac));
    env_fact(facts, "H2K_GUEST_IP", guest_ip, sizeof(guest_ip));
    env_fact(facts, "H2K_GUEST_HOSTNAME", guest_host, sizeof(guest_host));
    free(facts);

    /* the guest as Azure keeps a managed disk: a fixed VHD in a page blob */
    vhd = ts_join(tmp, "debian-os.vhd");
    const char *cv[] = {
        "qemu-img", "convert", "-q", "-O", "vpc", "-o", "subformat=fixed,force_size=on",
        debian,     vhd,       NULL};
    ts_run_ok(cv);
    struct stat sb;
    assert_int_equal(stat(vhd, &sb), 0);
    vhd_size = (uint64_t)sb.st_size;
    double t0 = hk_now();
    allocated = ts_azure_seed(&az, "disks/debian-os.vhd", vhd);
    print_message("Debian guest: fixed VHD of %llu bytes, %llu allocated (seeded in %.1f s)\n",
                  (unsigned long long)vhd_size, (unsigned long long)allocated, hk_now() - t0);

    char mac[32];
    snprintf(mac, sizeof(mac), "%s", guest_mac);
    for (char *p = mac; *p; p++)
        *p = *p == ':' ? '-' : (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    char cfg[2048];
    snprintf(cfg, sizeof(cfg),
             "{\"tenant\":\"tenant-1\",\"client_id\":\"app-1\",\"client_secret\":\"" SECRET "\","
             "\"subscription\":\"sub-1\",\"resource_group\":\"rg-1\",\"location\":\"westeurope\","
             "\"azurite\":\"@AZURITE@\","
             "\"vms\":{\"debian\":{\"size\":\"Standard_B2s\",\"power\":\"deallocated\","
             "\"os_disk\":\"debian-os\",\"nics\":[\"debian-nic\"]}},"
             "\"disks\":{\"debian-os\":{\"blob\":\"disks/debian-os.vhd\",\"size\":%llu,"
             "\"gen\":\"V1\",\"os\":\"Linux\"}},"
             "\"nics\":{\"debian-nic\":{\"mac\":\"%s\",\"ip\":\"%s\"}}}",
             (unsigned long long)(vhd_size - 512), mac, guest_ip);
    ts_azure_start(&az, cfg);
    setenv(SECRET_ENV, SECRET, 1);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    ts_azure_stop(&az);
    ts_rmtree(tmp);
    free(tmp);
    free(debian);
    free(vhd);
    unsetenv(SECRET_ENV);
    return 0;
}

static void
test_cli_migrate_boots(void **state)
{
    (void)state;
    char *out = ts_join(tmp, "out");
    char *report = ts_join(tmp, "debian.report.json");
    const char *argv[] = {ts_env("H2K_CLI"),
                          "azure",
                          "--subscription",
                          "sub-1",
                          "--resource-group",
                          "rg-1",
                          "--tenant",
                          "tenant-1",
                          "--client-id",
                          "app-1",
                          "--client-secret-env",
                          SECRET_ENV,
                          "--authority-host",
                          az.url,
                          "--resource-manager",
                          az.url,
                          "--ca-file",
                          az.ca,
                          "--vm",
                          "debian",
                          "--output-dir",
                          out,
                          "--test-boot",
                          "--boot-timeout",
                          "600",
                          "--keep-export",
                          "--report",
                          report,
                          NULL};
    char *cli_out = NULL;
    double t0 = hk_now();
    int st = ts_run(argv, &cli_out);
    print_message("hyper2kvm azure --vm debian --test-boot: %.1f s\n", hk_now() - t0);
    if (st != 0)
        fail_msg("hyper2kvm azure exited %d:\n%s", st, cli_out);
    assert_null(strstr(cli_out, SECRET));
    assert_null(strstr(cli_out, "sig="));
    free(cli_out);

    /* the report: every stage done, booted with the guest's address */
    char *text = ts_read_file(report, NULL);
    assert_null(strstr(text, SECRET));
    assert_null(strstr(text, "sig="));
    json_object *r = json_tokener_parse(text);
    assert_non_null(r);
    assert_true(json_object_get_boolean(ts_json_member(r, "success")));
    json_object *boot = ts_json_member(r, "boot");
    assert_true(json_object_get_boolean(ts_json_member(boot, "success")));
    const char *proof = json_object_get_string(ts_json_member(boot, "proof_line"));
    assert_non_null(strstr(proof, guest_host));
    assert_non_null(strstr(proof, guest_ip));
    json_object *sources = ts_json_member(r, "sources");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(sources, 0)),
                        "azure://sub-1/rg-1/debian");
    json_object *spec = ts_json_member(r, "spec");
    assert_string_equal(json_object_get_string(ts_json_member(spec, "source_type")), "azure");
    json_object_put(r);
    free(text);

    /* the XML has the guest's MAC, on virtio */
    char *xml_path = ts_join(out, "debian.xml");
    char *xml = ts_read_file(xml_path, NULL);
    assert_non_null(strstr(xml, guest_mac));
    assert_non_null(strstr(xml, "bus=\"virtio\""));
    free(xml);
    free(xml_path);

    /* the grant was revoked; the download (kept) is the blob, byte for byte */
    assert_int_equal(ts_azure_count(&az, "beginGetAccess debian-os"), 1);
    assert_int_equal(ts_azure_count(&az, "endGetAccess debian-os"), 1);
    char *staged = ts_join(out, ".debian.export/debian-os.vhd");
    const char *cmp[] = {"cmp", staged, vhd, NULL};
    ts_run_ok(cmp);
    struct stat sb;
    assert_int_equal(stat(staged, &sb), 0);
    print_message("downloaded copy: %llu bytes long, %llu allocated on disk (blob allocated: "
                  "%llu)\n",
                  (unsigned long long)sb.st_size, (unsigned long long)sb.st_blocks * 512,
                  (unsigned long long)allocated);
    /* sparse: about the allocated pages, not the disk's size */
    assert_true((uint64_t)sb.st_blocks * 512 < allocated + (64u << 20));
    free(staged);
    free(report);
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_migrate_boots),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
