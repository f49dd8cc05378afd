/*
 * Whole migrations from vSphere: vcsimx (VMware's simulator with the export
 * calls) on 127.0.0.1, its VMs' disks seeded over the datastore file service.
 *
 *  - DC0_H0_VM0 holds the real Debian 12 test guest (a monolithicFlat copy of
 *    the cached image) and a vmxnet3 NIC with the guest's MAC, on pvscsi: it
 *    goes through h2k_orchestrator_run() (nfc export, repairs, copy, XML, boot
 *    test) and must boot on virtio with its address.  The one slow test.
 *  - Two VMs with small patterned disks go through a batch plan (jobs 2, no
 *    repair); a second run of the plan does nothing.
 *  - One more through "hyper2kvm vsphere --vm ... --json".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "testsupport.h"
#include "vcsim.h"

#define PASSWORD "Mig&<r4te'pw>"
#define PASSWORD_ENV "H2K_TEST_VC_PASSWORD"
#define DEBIAN_VM "DC0_H0_VM0"

static ts_vcsim vc;
static char *tmp;
static char *debian;          /* the cached image (never written) */
static char debian_sum[65];   /* its sha256 before anything ran */
static char *deb_flat;        /* the monolithicFlat extent PUT to the datastore */
static char deb_flat_sum[65]; /* its sha256 */
static char *small;           /* the small patterned seed descriptor */
static char guest_mac[32], guest_ip[64], guest_host[128], guest_marker[128];

/* ------------------------------------------------------------ set-up */

/* KEY=VALUE (optionally single-quoted) from the guest's .env facts. */
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

static void
read_facts(void)
{
    char env_path[4096];
    snprintf(env_path, sizeof(env_path), "%.*s.env", (int)(strlen(debian) - 5), debian);
    char *text = ts_read_file(env_path, NULL);
    env_fact(text, "H2K_GUEST_MAC", guest_mac, sizeof(guest_mac));
    env_fact(text, "H2K_GUEST_IP", guest_ip, sizeof(guest_ip));
    env_fact(text, "H2K_GUEST_HOSTNAME", guest_host, sizeof(guest_host));
    env_fact(text, "H2K_GUEST_BOOT_MARKER", guest_marker, sizeof(guest_marker));
    free(text);
}

static h2k_vmware_options
opts_for(void)
{
    h2k_vmware_options o = H2K_VMWARE_OPTIONS_INIT;
    o.host = vc.host;
    o.user = "user";
    o.password = PASSWORD;
    o.insecure = 1;
    o.timeout_seconds = 60;
    return o;
}

/* Puts @desc and its "-flat" extent over VM @vm's disk1.vmdk. */
static void
seed_vm(const char *vm, const char *desc)
{
    char rel[256];
    char *dir = hk_dirname(desc);
    char *flat = ts_join(dir, "disk1-flat.vmdk");
    snprintf(rel, sizeof(rel), "%s/disk1-flat.vmdk", vm);
    ts_vcsim_put(&vc, "DC0", flat, rel);
    snprintf(rel, sizeof(rel), "%s/disk1.vmdk", vm);
    ts_vcsim_put(&vc, "DC0", desc, rel);
    free(flat);
    free(dir);
}

/* The Debian VM gets the guest's own NIC: vmxnet3 with its MAC (so that the
 * MAC reaches the migration from the server's description). */
static void
set_guest_nic(h2k_ctx *ctx, h2k_vmware_client *c)
{
    char args[1024];
    snprintf(args, sizeof(args),
             "<spec><deviceChange><operation>edit</operation>"
             "<device xsi:type=\"VirtualVmxnet3\"><key>4000</key>"
             "<deviceInfo><label>Network adapter 1</label><summary>VM Network</summary>"
             "</deviceInfo><backing xsi:type=\"VirtualEthernetCardNetworkBackingInfo\">"
             "<deviceName>VM Network</deviceName></backing>"
             "<addressType>manual</addressType><macAddress>%s</macAddress>"
             "</device></deviceChange></spec>",
             guest_mac);
    ts_vcsim_vm_task(c, DEBIAN_VM, "ReconfigVM_Task", args);
    h2k_vm_spec *s = NULL;
    ts_assert_rc(ctx, h2k_vmware_describe(c, DEBIAN_VM, &s), 0);
    assert_int_equal(s->n_nics, 1);
    assert_string_equal(s->nics[0].model, "vmxnet3");
    assert_string_equal(s->nics[0].mac, guest_mac);
    assert_int_equal(s->n_disks, 1);
    assert_int_equal(s->disks[0].bus, H2K_BUS_SCSI);
    assert_string_equal(s->disks[0].controller_model, "pvscsi");
    h2k_vm_spec_free(s);
}

static int
group_setup(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    ts_require_program("qemu-io");
    ts_require_program("qemu-system-x86_64");
    ts_require_program("virt-xml-validate");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tmp = ts_mkdtemp();
    debian = ts_debian_guest();
    read_facts();
    ts_sha256_file(debian, debian_sum);

    /* the Debian guest as a monolithicFlat VMDK, as it sits on a datastore */
    char *dir = ts_join(tmp, "deb");
    mkdir(dir, 0755);
    char *desc = ts_join(dir, "disk1.vmdk");
    deb_flat = ts_join(dir, "disk1-flat.vmdk");
    const char *cv[] = {"qemu-img", "convert", "-q", "-O", "vmdk", "-o", "subformat=monolithicFlat",
                        debian,     desc,      NULL};
    ts_run_ok(cv);
    ts_sha256_file(deb_flat, deb_flat_sum);

    /* a small patterned disk for the quick VMs */
    char *sdir = ts_join(tmp, "small");
    mkdir(sdir, 0755);
    small = ts_join(sdir, "disk1.vmdk");
    const char *mk[] = {"qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat",
                        small,      "32M",    NULL};
    ts_run_ok(mk);
    const char *io[] = {
        "qemu-io", "-f", "vmdk", "-c", "write -P 0x6b 0 1M", "-c", "write -P 0x3d 17M 2M",
        small,     NULL};
    ts_run_ok(io);

    static const char *const extra[] = {"-autostart=false", NULL};
    ts_vcsim_start(&vc, PASSWORD, extra);
    seed_vm(DEBIAN_VM, desc);
    seed_vm("DC0_H0_VM1", small);
    seed_vm("DC0_C0_RP0_VM0", small);
    seed_vm("DC0_C0_RP0_VM1", small);
    h2k_ctx *ctx = ts_ctx();
    h2k_vmware_options o = opts_for();
    h2k_vmware_client *c = NULL;
    ts_assert_rc(ctx, h2k_vmware_client_new(ctx, &o, &c), 0);
    set_guest_nic(ctx, c);
    h2k_vmware_client_free(c);
    h2k_ctx_free(ctx);
    setenv(PASSWORD_ENV, PASSWORD, 1);
    free(desc);
    free(dir);
    free(sdir);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    ts_vcsim_stop(&vc);
    ts_rmtree(tmp);
    free(tmp);
    free(debian);
    free(deb_flat);
    free(small);
    unsetenv(PASSWORD_ENV);
    curl_global_cleanup();
    return 0;
}

/* ------------------------------------------------------------ helpers */

static size_t
hash_body(char *data, size_t size, size_t n, void *ud)
{
    EVP_DigestUpdate((EVP_MD_CTX *)ud, data, size * n);
    return size * n;
}

/* sha256 of a datastore file, read back from the server. */
static void
sha256_remote(const char *rel, char out[65])
{
    char url[512];
    snprintf(url, sizeof(url), "https://%s/folder/%s?dcPath=DC0&dsName=LocalDS_0", vc.host, rel);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hash_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, md);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    CURLcode cc = curl_easy_perform(e);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(e);
    unsigned char d[32];
    unsigned int dl = 0;
    EVP_DigestFinal_ex(md, d, &dl);
    EVP_MD_CTX_free(md);
    if (cc != CURLE_OK || status != 200)
        fail_msg("GET %s: %s, HTTP %ld", url, curl_easy_strerror(cc), status);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void
assert_same_disk(const char *a, const char *b)
{
    const char *argv[] = {"qemu-img", "compare", "-q", a, b, NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0)
        fail_msg("qemu-img compare %s %s: %d %s", a, b, st, out);
    free(out);
}

/* The XML gives the guest virtio: the disk's target and the NIC's model. */
static void
assert_virtio_xml(const char *xml)
{
    assert_non_null(strstr(xml, "bus=\"virtio\""));
    const char *nic = strstr(xml, "<interface");
    assert_non_null(nic);
    const char *end = strstr(nic, "</interface>");
    const char *model = strstr(nic, "<model type=\"virtio\"/>");
    assert_non_null(end);
    assert_non_null(model);
    assert_true(model < end);
    assert_null(strstr(xml, "vmxnet3"));
    assert_null(strstr(xml, "pvscsi"));
    assert_null(strstr(xml, "bus=\"scsi\""));
    assert_null(strstr(xml, "e1000"));
}

static const h2k_stage_timing *
timing(const h2k_migration_result *r, const char *stage, size_t *index)
{
    for (size_t i = 0; i < r->n_timings; i++)
        if (strcmp(r->timings[i].stage, stage) == 0) {
            if (index)
                *index = i;
            return &r->timings[i];
        }
    return NULL;
}

/* -------------------------------------------------- the Debian guest */

/* The real guest's disk exported over both transports is the seed, byte for
 * byte (the descriptor and its extent over http, a streamOptimized VMDK the
 * lease serves over nfc). */
static void
test_export_debian_identical(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vmware_options vo = opts_for();
    h2k_vmware_client *c = NULL;
    ts_assert_rc(ctx, h2k_vmware_client_new(ctx, &vo, &c), 0);
    char *dir = ts_mkdtemp();
    const char *transports[] = {"http", "nfc"};
    for (size_t i = 0; i < 2; i++) {
        char *out = ts_join(dir, transports[i]);
        h2k_vmware_export_result *er = NULL;
        double t0 = hk_now();
        ts_assert_rc(ctx, h2k_vmware_export_vm(c, DEBIAN_VM, out, transports[i], &er), 0);
        print_message("export of the Debian guest over %s: %.1f s\n", transports[i], hk_now() - t0);
        assert_string_equal(er->transport, transports[i]);
        assert_int_equal(er->n_disks, 1);
        assert_same_disk(er->disk_paths[0], debian);
        h2k_vmware_export_result_free(er);
        ts_rmtree(out);
        free(out);
    }
    h2k_vmware_client_free(c);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(dir);
}

static void
test_migrate_debian_boots(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vmware_options vo = opts_for();
    h2k_vmware_client *c = NULL;
    ts_assert_rc(ctx, h2k_vmware_client_new(ctx, &vo, &c), 0);
    char *dir = ts_mkdtemp();
    char *out = ts_join(dir, "out");
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.vmware = c;
    o.vmware_vm = DEBIAN_VM;
    o.vmware_transport = "nfc";
    o.output_dir = out;
    o.test_boot = 1;
    o.boot_timeout = 600;
    h2k_migration_result *res = NULL;
    double t0 = hk_now();
    int rc = h2k_orchestrator_run(ctx, &o, &res);
    ts_print_failed_boot(ctx, rc, res);
    ts_assert_rc(ctx, rc, 0);
    print_message("migration from vSphere with boot test: %.1f s\n", hk_now() - t0);
    assert_int_equal(res->success, 1);
    assert_null(res->failed_stage);

    /* the VM as the server described it */
    assert_string_equal(res->name, DEBIAN_VM);
    assert_string_equal(res->spec->source_type, "vsphere");
    assert_int_equal(res->spec->n_nics, 1);
    assert_string_equal(res->spec->nics[0].mac, guest_mac);
    assert_string_equal(res->spec->nics[0].model, "vmxnet3");
    assert_int_equal(res->n_sources, 1);
    char want_src[128];
    snprintf(want_src, sizeof(want_src), "vsphere://%s/%s", vc.host, DEBIAN_VM);
    assert_string_equal(res->sources[0], want_src);

    /* stages: export first, then probe */
    size_t ie = 99, ip = 99;
    assert_non_null(timing(res, "export", &ie));
    assert_non_null(timing(res, "probe", &ip));
    assert_int_equal(ie, 0);
    assert_int_equal(ip, 1);
    assert_non_null(timing(res, "fix", NULL));
    assert_non_null(timing(res, "copy", NULL));
    assert_non_null(timing(res, "boot", NULL));

    /* booted on virtio, marker seen, the network up with its address */
    assert_non_null(res->boot);
    assert_int_equal(res->boot->success, 1);
    /* a proven boot leaves no console log in the output folder */
    assert_null(res->boot->console_log_path);
    {
        char *kept = hk_asprintf("%s/%s.boot-console.log", out, DEBIAN_VM);
        assert_false(ts_exists(kept));
        free(kept);
    }
    assert_non_null(res->boot->proof_line);
    /* the marker line: "H2K-BOOT-OK <nonce> <hostname> <addresses>" */
    char first[64];
    snprintf(first, sizeof(first), "%.*s ", (int)strcspn(guest_marker, " "), guest_marker);
    char host_word[160];
    snprintf(host_word, sizeof(host_word), " %s ", guest_host);
    if (!hk_startswith(res->boot->proof_line, first) || !strstr(res->boot->proof_line, host_word) ||
        !strstr(res->boot->proof_line, guest_ip))
        print_error("proof line: %s, marker %s\n", res->boot->proof_line, guest_marker);
    assert_true(hk_startswith(res->boot->proof_line, first));
    assert_non_null(strstr(res->boot->proof_line, host_word));
    assert_non_null(strstr(res->boot->proof_line, guest_ip));
    assert_string_equal(res->boot->hostname, guest_host);
    int found = 0;
    size_t ipl = strlen(guest_ip);
    for (size_t i = 0; i < res->boot->n_addresses; i++)
        if (strcmp(res->boot->addresses[i], guest_ip) == 0 ||
            (strncmp(res->boot->addresses[i], guest_ip, ipl) == 0 &&
             res->boot->addresses[i][ipl] == '/'))
            found = 1;
    assert_true(found);

    /* the identity found in the guest */
    assert_non_null(res->identity_json);
    json_object *id = json_tokener_parse(res->identity_json), *v;
    assert_non_null(id);
    assert_true(json_object_object_get_ex(id, "os_id", &v));
    assert_string_equal(json_object_get_string(v), "debian");
    assert_true(json_object_object_get_ex(id, "hostname", &v));
    assert_string_equal(json_object_get_string(v), guest_host);
    json_object_put(id);
    int changed = 0;
    for (size_t i = 0; i < res->n_fixes; i++)
        if (strcmp(res->fixes[i].status, "changed") == 0)
            changed++;
    assert_true(changed >= 3);

    /* the output disk, from the datastore path */
    assert_int_equal(res->n_outputs, 1);
    char *disk = ts_join(out, DEBIAN_VM "-disk1.qcow2");
    assert_string_equal(res->outputs[0].path, disk);
    assert_string_equal(res->outputs[0].source_path, "[LocalDS_0] " DEBIAN_VM "/disk1.vmdk");
    assert_string_equal(res->outputs[0].source_format, "vmdk");
    char sum[65];
    ts_sha256_file(disk, sum);
    assert_string_equal(res->outputs[0].sha256, sum);

    /* the XML: virtio disk and NIC, whatever the VMware hardware was */
    char *xml_path = ts_join(out, DEBIAN_VM ".xml");
    char *xml = ts_read_file(xml_path, NULL);
    assert_non_null(strstr(xml, guest_mac));
    assert_virtio_xml(xml);
    const char *val[] = {"virt-xml-validate", xml_path, "domain", NULL};
    char *vout = NULL;
    int vst = ts_run(val, &vout);
    if (vst != 0)
        print_error("virt-xml-validate: %s\n", vout ? vout : "");
    assert_int_equal(vst, 0);
    free(vout);

    /* disk, XML, two reports: the export's staging folder is gone */
    assert_int_equal(ts_count_dir(out), 4);
    char *rep_path = ts_join(out, DEBIAN_VM ".report.json");
    char *rep = ts_read_file(rep_path, NULL);
    assert_non_null(strstr(rep, "\"export\""));
    assert_non_null(strstr(rep, want_src));

    /* the sources are unchanged: the cached image and the datastore's disk */
    char after[65];
    ts_sha256_file(debian, after);
    assert_string_equal(after, debian_sum);
    sha256_remote(DEBIAN_VM "/disk1-flat.vmdk", after);
    assert_string_equal(after, deb_flat_sum);

    h2k_migration_result_free(res);
    h2k_vmware_client_free(c);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(rep);
    free(rep_path);
    free(xml);
    free(xml_path);
    free(disk);
    free(out);
    free(dir);
}

/* ------------------------------------------------------------ failures */

/* A VM the server does not have: stage "export", nothing left behind. */
static void
test_export_failure_leaves_nothing(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_vmware_options vo = opts_for();
    h2k_vmware_client *c = NULL;
    ts_assert_rc(ctx, h2k_vmware_client_new(ctx, &vo, &c), 0);
    char *dir = ts_mkdtemp();
    char *out = ts_join(dir, "out");
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.vmware = c;
    o.vmware_vm = "NoSuchVM";
    o.output_dir = out;
    o.fixes = 0;
    h2k_migration_result *res = NULL;
    ts_assert_rc(ctx, h2k_orchestrator_run(ctx, &o, &res), H2K_ERR_NOT_FOUND);
    assert_string_equal(h2k_ctx_last_error(ctx)->stage, "export");
    assert_non_null(res);
    assert_string_equal(res->failed_stage, "export");
    assert_int_equal(res->n_outputs, 0);
    assert_false(ts_exists(out)); /* created for the export, removed with it */
    h2k_migration_result_free(res);

    /* the output exists: refused before exporting */
    assert_int_equal(mkdir(out, 0755), 0);
    char *xml = ts_join(out, "DC0_H0_VM1.xml");
    ts_write_file(xml, "x", 1);
    o.vmware_vm = "DC0_H0_VM1";
    res = NULL;
    ts_assert_rc(ctx, h2k_orchestrator_run(ctx, &o, &res), H2K_ERR_EXISTS);
    assert_string_equal(res->failed_stage, "export");
    assert_null(timing(res, "export", NULL));
    assert_int_equal(ts_count_dir(out), 1); /* only the file that was there */
    h2k_migration_result_free(res);

    h2k_vmware_client_free(c);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(xml);
    free(out);
    free(dir);
}

/* ------------------------------------------------------------ batch */

typedef struct batch_log {
    int calls;
    int failures;
    int expect_failures; /* do not print them */
} batch_log;

static void
on_vm(void *ud, const h2k_plan_vm *vm, int rc, const h2k_migration_result *res)
{
    batch_log *l = ud;
    l->calls++;
    if (rc != 0) {
        l->failures++;
        if (!l->expect_failures)
            print_error("batch VM %s: rc %d: %s\n", vm->name, rc,
                        res && res->error_message ? res->error_message : "");
    }
}

static void
test_batch_vsphere(void **state)
{
    (void)state;
    char *dir = ts_mkdtemp();
    char *plan_path = ts_join(dir, "plan.json");
    char *state_path = ts_join(dir, "plan.state.json");
    char plan[2048];
    snprintf(
        plan, sizeof(plan),
        "{\"output_dir\": \"out\", \"jobs\": 2, \"defaults\": {\"fixes\": \"none\"},\n"
        " \"vsphere\": {\"host\": \"%s\", \"user\": \"user\", \"password_env\": \"%s\",\n"
        "               \"datacenter\": \"DC0\", \"insecure\": true, \"transport\": \"nfc\"},\n"
        " \"vms\": [{\"name\": \"rp0-vm0\", \"vm\": \"DC0_C0_RP0_VM0\"},\n"
        "         {\"name\": \"rp0-vm1\", \"vm\": \"DC0_C0_RP0_VM1\",\n"
        "          \"vsphere\": {\"transport\": \"http\"}}]}\n",
        vc.host, PASSWORD_ENV);
    ts_write_file(plan_path, plan, strlen(plan));
    h2k_ctx *ctx = ts_ctx();
    h2k_plan *p = NULL;
    ts_assert_rc(ctx, h2k_plan_parse_file(ctx, plan_path, &p), 0);
    batch_log log = {0};
    double t0 = hk_now();
    ts_assert_rc(ctx, h2k_batch_run(ctx, p, state_path, 0, on_vm, &log), 0);
    print_message("batch of 2 vSphere VMs (jobs 2): %.1f s\n", hk_now() - t0);
    assert_int_equal(log.calls, 2);
    assert_int_equal(log.failures, 0);

    h2k_batch_state *st = NULL;
    ts_assert_rc(ctx, h2k_batch_state_load(ctx, state_path, &st), 0);
    assert_int_equal(st->n_entries, 2);
    for (size_t i = 0; i < st->n_entries; i++)
        assert_int_equal(st->entries[i].state, H2K_VM_DONE);
    h2k_batch_state_free(st);

    const char *names[] = {"rp0-vm0", "rp0-vm1"};
    char sums[2][65];
    for (size_t i = 0; i < 2; i++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "out/%s", names[i]);
        char *vdir = ts_join(dir, rel);
        snprintf(rel, sizeof(rel), "%s-disk1.qcow2", names[i]);
        char *disk = ts_join(vdir, rel);
        assert_same_disk(disk, small);
        ts_sha256_file(disk, sums[i]);
        /* disk, XML, two reports: no staging folder left */
        assert_int_equal(ts_count_dir(vdir), 4);
        snprintf(rel, sizeof(rel), "%s.xml", names[i]);
        char *xml_path = ts_join(vdir, rel);
        char *xml = ts_read_file(xml_path, NULL);
        assert_virtio_xml(xml); /* from e1000 on pvscsi */
        free(xml);
        free(xml_path);
        free(disk);
        free(vdir);
    }

    /* a second run: everything is done, nothing runs, nothing changes */
    batch_log again = {0};
    ts_assert_rc(ctx, h2k_batch_run(ctx, p, state_path, 0, on_vm, &again), 0);
    assert_int_equal(again.calls, 0);
    for (size_t i = 0; i < 2; i++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "out/%s/%s-disk1.qcow2", names[i], names[i]);
        char *disk = ts_join(dir, rel);
        char sum[65];
        ts_sha256_file(disk, sum);
        assert_string_equal(sum, sums[i]);
        free(disk);
    }

    /* a wrong password: the VM fails at stage export, the password in no message */
    h2k_plan_free(p);
    p = NULL;
    setenv(PASSWORD_ENV, "wrong", 1);
    char *state2 = ts_join(dir, "second.state.json");
    ts_assert_rc(ctx, h2k_plan_parse_file(ctx, plan_path, &p), 0);
    batch_log bad = {0, 0, 1};
    ts_assert_rc(ctx, h2k_batch_run(ctx, p, state2, 1, on_vm, &bad), H2K_ERR_GENERIC);
    setenv(PASSWORD_ENV, PASSWORD, 1);
    ts_assert_rc(ctx, h2k_batch_state_load(ctx, state2, &st), 0);
    assert_int_equal(st->n_entries, 2);
    assert_int_equal(bad.failures, 2);
    for (size_t i = 0; i < st->n_entries; i++) {
        assert_int_equal(st->entries[i].state, H2K_VM_FAILED);
        assert_int_equal(st->entries[i].code, H2K_ERR_AUTHENTICATION);
        assert_null(strstr(st->entries[i].message, PASSWORD));
    }
    h2k_batch_state_free(st);
    char *state2_text = ts_read_file(state2, NULL);
    assert_null(strstr(state2_text, "r4te"));
    free(state2_text);

    h2k_plan_free(p);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(state2);
    free(state_path);
    free(plan_path);
    free(dir);
}

/* ------------------------------------------------------------ CLI */

static void
test_cli_vsphere_migrate(void **state)
{
    (void)state;
    char *dir = ts_mkdtemp();
    char *out = ts_join(dir, "out");
    char *so = ts_join(dir, "stdout.json");
    char *se = ts_join(dir, "stderr.log");
    const char *argv[] = {"sh",
                          "-c",
                          "out=$1; err=$2; shift 2; exec \"$@\" >\"$out\" 2>\"$err\"",
                          "sh",
                          so,
                          se,
                          ts_env("H2K_CLI"),
                          "vsphere",
                          "--vcenter",
                          vc.host,
                          "--user",
                          "user",
                          "--password-env",
                          PASSWORD_ENV,
                          "--insecure",
                          "--vm",
                          "DC0_H0_VM1",
                          "--name",
                          "cli-vm",
                          "--transport",
                          "nfc",
                          "--fixes",
                          "none",
                          "--output-dir",
                          out,
                          "--json",
                          NULL};
    int st = ts_run(argv, NULL);
    char *stdout_text = ts_read_file(so, NULL);
    char *stderr_text = ts_read_file(se, NULL);
    if (st != 0)
        print_error("exit %d\nstdout: %s\nstderr: %s\n", st, stdout_text, stderr_text);
    assert_int_equal(st, 0);

    /* the result */
    json_object *r = json_tokener_parse(stdout_text), *v;
    assert_non_null(r);
    assert_true(json_object_object_get_ex(r, "success", &v));
    assert_true(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(r, "name", &v));
    assert_string_equal(json_object_get_string(v), "cli-vm");
    assert_true(json_object_object_get_ex(r, "sources", &v));
    assert_int_equal(json_object_array_length(v), 1);
    char want_src[128];
    snprintf(want_src, sizeof(want_src), "vsphere://%s/DC0_H0_VM1", vc.host);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)), want_src);
    assert_true(json_object_object_get_ex(r, "timings", &v));
    json_object *t;
    assert_true(json_object_object_get_ex(v, "export", &t));
    assert_true(json_object_object_get_ex(v, "probe", &t));
    assert_true(json_object_object_get_ex(r, "outputs", &v));
    assert_int_equal(json_object_array_length(v), 1);
    json_object *o0 = json_object_array_get_idx(v, 0);
    assert_true(json_object_object_get_ex(o0, "path", &t));
    char *disk = ts_join(out, "cli-vm-disk1.qcow2");
    assert_string_equal(json_object_get_string(t), disk);
    assert_same_disk(disk, small);
    json_object_put(r);

    /* the events: one JSON object a line; export progress before probe */
    int seen_export = 0, seen_probe = 0, seen_download = 0, line_no = 0;
    char *save = NULL;
    for (char *l = strtok_r(stderr_text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line_no++;
        json_object *ev = json_tokener_parse(l);
        if (!ev)
            fail_msg("stderr line %d is not JSON: %s", line_no, l);
        json_object *e, *s;
        assert_true(json_object_object_get_ex(ev, "event", &e));
        if (strcmp(json_object_get_string(e), "progress") == 0 &&
            json_object_object_get_ex(ev, "stage", &s)) {
            const char *stage = json_object_get_string(s);
            if (strcmp(stage, "export") == 0 && !seen_export)
                seen_export = line_no;
            if (strcmp(stage, "download") == 0 && !seen_download)
                seen_download = line_no;
            if (strcmp(stage, "probe") == 0 && !seen_probe)
                seen_probe = line_no;
        }
        assert_null(strstr(l, PASSWORD));
        json_object_put(ev);
    }
    assert_true(seen_export > 0);
    assert_true(seen_download > seen_export);
    assert_true(seen_probe > seen_download);
    assert_int_equal(ts_count_dir(out), 4);

    free(disk);
    free(stdout_text);
    free(stderr_text);
    ts_rmtree(dir);
    free(so);
    free(se);
    free(out);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_failure_leaves_nothing),
        cmocka_unit_test(test_batch_vsphere),
        cmocka_unit_test(test_cli_vsphere_migrate),
        cmocka_unit_test(test_export_debian_identical),
        cmocka_unit_test(test_migrate_debian_boots),
    };
    /* H2K_TEST_FILTER=test_export* runs some tests only */
    if (getenv("H2K_TEST_FILTER"))
        cmocka_set_test_filter(getenv("H2K_TEST_FILTER"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
