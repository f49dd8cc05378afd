/*
 * Integration tests of the vSphere client against vcsimx (VMware's govmomi
 * simulator plus ExportVm/HttpNfcLease), started on 127.0.0.1 by
 * scripts/vcsim-test.sh on a port the kernel picks, and stopped by its pid.
 *
 * The VMs' disks are seeded with a 64 MiB monolithicFlat VMDK made with
 * qemu-img and patterned with qemu-io, PUT over each VM's disk1.vmdk; every
 * export is compared with the seed (qemu-img compare).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "testsupport.h"
#include "vcsim.h"
#include "providers/vmware/vmw_internal.h"

/* XML and shell specials on purpose: the client must escape it, and it must
 * never show up in a log line or an error message. */
#define PASSWORD "Vc&<S3cr3t'pw>"
#define SEED_SIZE (64u << 20)

typedef ts_vcsim sim;

static sim vc;     /* vCenter mode, autostart off, DC0_C0_RP0_VM1 powered on */
static char *tmp;  /* seed and outputs */
static char *seed; /* seed descriptor */

/* ---------------------------------------------------------- log capture */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static hk_buf log_all;

static void
capture_log(void *ud, h2k_log_level level, const char *domain, const char *msg)
{
    (void)ud;
    pthread_mutex_lock(&log_lock);
    hk_buf_printf(&log_all, "%d %s %s\n", (int)level, domain, msg);
    pthread_mutex_unlock(&log_lock);
    if (getenv("H2K_TEST_DEBUG"))
        fprintf(stderr, "[%s] %s\n", domain, msg);
}

static h2k_ctx *
new_ctx(void)
{
    h2k_ctx *ctx = NULL;
    assert_int_equal(h2k_ctx_new(&ctx), 0);
    h2k_ctx_set_log(ctx, capture_log, NULL, H2K_LOG_DEBUG);
    return ctx;
}

static void
assert_no_password(const char *text)
{
    if (text && strstr(text, PASSWORD))
        fail_msg("the password appears in: %s", text);
    if (text && strstr(text, "S3cr3t"))
        fail_msg("part of the password appears in: %s", text);
}

/* ---------------------------------------------------------- simulator */

static void
sim_start(sim *s, const char *const *extra)
{
    ts_vcsim_start(s, PASSWORD, extra);
}

static void
sim_stop(sim *s)
{
    ts_vcsim_stop(s);
}

static h2k_vmware_options
opts_for(const sim *s)
{
    h2k_vmware_options o = H2K_VMWARE_OPTIONS_INIT;
    o.host = s->host;
    o.user = "user";
    o.password = PASSWORD;
    o.insecure = 1;
    o.timeout_seconds = 20;
    o.max_objects = 1;
    return o;
}

static h2k_vmware_client *
connect_ok(h2k_ctx *ctx, const h2k_vmware_options *o)
{
    h2k_vmware_client *c = NULL;
    int rc = h2k_vmware_client_new(ctx, o, &c);
    ts_assert_rc(ctx, rc, 0);
    return c;
}

static void
put_file(const sim *s, const char *dc, const char *file, const char *rel)
{
    ts_vcsim_put(s, dc, file, rel);
}

static void
seed_vm(const sim *s, const char *dc, const char *vm)
{
    char rel[256];
    char *flat = ts_join(tmp, "seed/disk1-flat.vmdk");
    snprintf(rel, sizeof(rel), "%s/disk1-flat.vmdk", vm);
    put_file(s, dc, flat, rel);
    snprintf(rel, sizeof(rel), "%s/disk1.vmdk", vm);
    put_file(s, dc, seed, rel);
    free(flat);
}

static void
vm_task(h2k_vmware_client *c, const char *vm_name, const char *method)
{
    ts_vcsim_vm_task(c, vm_name, method, NULL);
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

static int
group_setup(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    ts_require_program("qemu-io");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tmp = ts_mkdtemp();
    char *dir = ts_join(tmp, "seed");
    mkdir(dir, 0755);
    seed = ts_join(dir, "disk1.vmdk");
    const char *mk[] = {"qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat",
                        seed,       "64M",    NULL};
    ts_run_ok(mk);
    const char *io[] = {"qemu-io",
                        "-f",
                        "vmdk",
                        "-c",
                        "write -P 0xab 0 1M",
                        "-c",
                        "write -P 0x5c 32M 3M",
                        "-c",
                        "write -P 0x17 63M 1M",
                        seed,
                        NULL};
    ts_run_ok(io);
    free(dir);
    static const char *const extra[] = {"-autostart=false", NULL};
    sim_start(&vc, extra);
    static const char *const vms[] = {"DC0_H0_VM0", "DC0_H0_VM1", "DC0_C0_RP0_VM0",
                                      "DC0_C0_RP0_VM1"};
    for (size_t i = 0; i < 4; i++)
        seed_vm(&vc, "DC0", vms[i]);
    h2k_ctx *ctx = new_ctx();
    h2k_vmware_options o = opts_for(&vc);
    h2k_vmware_client *c = connect_ok(ctx, &o);
    vm_task(c, "DC0_C0_RP0_VM1", "PowerOnVM_Task");
    h2k_vmware_client_free(c);
    h2k_ctx_free(ctx);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    sim_stop(&vc);
    ts_rmtree(tmp);
    free(tmp);
    free(seed);
    /* no log line of the whole run shows the password */
    if (log_all.data)
        assert_no_password(log_all.data);
    assert_non_null(log_all.data);
    assert_non_null(strstr(log_all.data, "logged in as user"));
    hk_buf_free(&log_all);
    curl_global_cleanup();
    return 0;
}

/* ---------------------------------------------------------- list, describe */

static const h2k_vmware_vm_info *
find_info(const h2k_vmware_vm_info *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

static void
test_list_vcenter(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_vmware_options o = opts_for(&vc);
    h2k_vmware_client *c = connect_ok(ctx, &o);
    assert_string_equal(h2k_vmware_client_api_type(c), "VirtualCenter");
    h2k_vmware_vm_info *v = NULL;
    size_t n = 0;
    ts_assert_rc(ctx, h2k_vmware_list_vms(c, &v, &n), 0);
    assert_int_equal(n, 4);
    const h2k_vmware_vm_info *a = find_info(v, n, "DC0_H0_VM0");
    const h2k_vmware_vm_info *b = find_info(v, n, "DC0_C0_RP0_VM1");
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a->power_state, "poweredOff");
    assert_string_equal(b->power_state, "poweredOn");
    assert_string_equal(a->path, "[LocalDS_0] DC0_H0_VM0/DC0_H0_VM0.vmx");
    assert_int_equal(strlen(a->uuid), 36);
    assert_true(hk_startswith(a->moref, "vm-"));
    h2k_vmware_vm_list_free(v, n);
    h2k_vmware_client_free(c);

    /* restricted to a datacenter; an unknown one */
    o.datacenter = "DC0";
    c = connect_ok(ctx, &o);
    ts_assert_rc(ctx, h2k_vmware_list_vms(c, &v, &n), 0);
    assert_int_equal(n, 4);
    h2k_vmware_vm_list_free(v, n);
    h2k_vmware_client_free(c);
    o.datacenter = "NoSuchDC";
    c = connect_ok(ctx, &o);
    ts_assert_rc(ctx, h2k_vmware_list_vms(c, &v, &n), H2K_ERR_NOT_FOUND);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "NoSuchDC"));
    h2k_vmware_client_free(c);
    h2k_ctx_free(ctx);
}

static void
test_describe(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_vmware_options o = opts_for(&vc);
    h2k_vmware_client *c = connect_ok(ctx, &o);
    h2k_vm_spec *s = NULL;
    ts_assert_rc(ctx, h2k_vmware_describe(c, "DC0_H0_VM0", &s), 0);
    assert_string_equal(s->name, "DC0_H0_VM0");
    assert_string_equal(s->source_type, "vsphere");
    assert_string_equal(s->source_path, "[LocalDS_0] DC0_H0_VM0/DC0_H0_VM0.vmx");
    assert_int_equal(s->vcpus, 1);
    assert_int_equal(s->memory_bytes, 32u << 20);
    assert_int_equal(s->firmware, H2K_FIRMWARE_BIOS);
    assert_string_equal(s->os_type, "otherGuest");
    assert_int_equal(strlen(s->uuid), 36);
    assert_int_equal(s->n_disks, 1);
    assert_string_equal(s->disks[0].file_ref, "[LocalDS_0] DC0_H0_VM0/disk1.vmdk");
    assert_null(s->disks[0].path);
    assert_int_equal(s->disks[0].bus, H2K_BUS_SCSI);
    assert_string_equal(s->disks[0].controller_model, "pvscsi");
    assert_int_equal(s->disks[0].controller_index, 0);
    assert_int_equal(s->disks[0].unit, 0);
    assert_int_equal(s->disks[0].capacity, 1048576);
    assert_int_equal(s->n_nics, 1);
    assert_string_equal(s->nics[0].model, "e1000");
    assert_string_equal(s->nics[0].network, "DC0_DVPG0");
    assert_int_equal(strlen(s->nics[0].mac), 17);
    assert_int_equal(s->n_removables, 1);
    assert_string_equal(s->removables[0].kind, "cdrom");
    h2k_vm_spec_free(s);
    s = NULL;
    ts_assert_rc(ctx, h2k_vmware_describe(c, "NoSuchVM", &s), H2K_ERR_NOT_FOUND);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "NoSuchVM"));
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, vc.host));
    assert_null(s);
    h2k_vmware_client_free(c);
    h2k_ctx_free(ctx);
}

static void
test_esx_mode(void **state)
{
    (void)state;
    sim esx = {0};
    static const char *const extra[] = {"-esx", NULL};
    sim_start(&esx, extra);
    h2k_ctx *ctx = new_ctx();
    h2k_vmware_options o = opts_for(&esx);
    h2k_vmware_client *c = connect_ok(ctx, &o);
    assert_string_equal(h2k_vmware_client_api_type(c), "HostAgent");
    h2k_vmware_vm_info *v = NULL;
    size_t n = 0;
    ts_assert_rc(ctx, h2k_vmware_list_vms(c, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_non_null(find_info(v, n, "ha-host_VM0"));
    assert_non_null(find_info(v, n, "ha-host_VM1"));
    h2k_vmware_vm_list_free(v, n);
    h2k_vm_spec *s = NULL;
    ts_assert_rc(ctx, h2k_vmware_describe(c, "ha-host_VM1", &s), 0);
    assert_int_equal(s->n_disks, 1);
    assert_string_equal(s->disks[0].file_ref, "[LocalDS_0] ha-host_VM1/disk1.vmdk");
    assert_string_equal(s->disks[0].controller_model, "pvscsi");
    assert_int_equal(s->n_nics, 1);
    assert_string_equal(s->nics[0].network, "VM Network");
    h2k_vm_spec_free(s);
    /* a datastore export in ESX mode: dcPath is ha-datacenter */
    h2k_vmware_client_free(c);
    o.powered_on = H2K_VMWARE_POWERED_ON_SNAPSHOT;
    c = connect_ok(ctx, &o);
    seed_vm(&esx, "ha-datacenter", "ha-host_VM0");
    char *out = ts_join(tmp, "esx");
    h2k_vmware_export_result *r = NULL;
    ts_assert_rc(ctx, h2k_vmware_export_vm(c, "ha-host_VM0", out, "http", &r), 0);
    assert_same_disk(r->disk_paths[0], seed);
    h2k_vmware_export_result_free(r);
    free(out);
    h2k_vmware_client_free(c);
    h2k_ctx_free(ctx);
    sim_stop(&esx);
}

/* ---------------------------------------------------------- exports */

static void
check_ovf_roundtrip(h2k_ctx *ctx, const h2k_vmware_export_result *r)
{
    h2k_vm_spec *s = NULL;
    ts_assert_rc(ctx, h2k_ovf_parse_file(ctx, r->ovf_path, &s), 0);
    assert_string_equal(s->name, r->vm_name);
    assert_int_equal(s->n_disks, r->n_disks);
    for (size_t i = 0; i < s->n_disks; i++) {
        assert_string_equal(s->disks[i].path, r->disk_paths[i]);
        assert_int_equal(s->disks[i].capacity, r->spec->disks[i].capacity);
        assert_int_equal(s->disks[i].bus, r->spec->disks[i].bus);
        assert_string_equal(s->disks[i].controller_model, r->spec->disks[i].controller_model);
        assert_int_equal(s->disks[i].unit, r->spec->disks[i].unit);
    }
    assert_int_equal(s->vcpus, r->spec->vcpus);
    assert_int_equal(s->memory_bytes, r->spec->memory_bytes);
    assert_int_equal(s->firmware, r->spec->firmware);
    assert_string_equal(s->os_type, r->spec->os_type);
    assert_int_equal(s->n_nics, r->spec->n_nics);
    for (size_t i = 0; i < s->n_nics; i++) {
        assert_string_equal(s->nics[i].mac, r->spec->nics[i].mac);
        assert_string_equal(s->nics[i].model, r->spec->nics[i].model);
        assert_string_equal(s->nics[i].network, r->spec->nics[i].network);
    }
    h2k_vm_spec_free(s);
}

static void
test_export_http(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_vmware_options o = opts_for(&vc);
    h2k_vmware_client *c = connect_ok(ctx, &o);
    char *out = ts_join(tmp, "http");
    h2k_vmware_export_result *r = NULL;
    ts_assert_rc(ctx, h2k_vmware_export_vm(c, "DC0_H0_VM0", out, NULL, &r), 0);
    assert_string_equal(r->transport, "http");
    assert_string_equal(r->vm_name, "DC0_H0_VM0");
    assert_string_equal(r->output_dir, out);
    assert_int_equal(r->n_disks, 1);
    char *want = ts_join(out, "disk1.vmdk");
    assert_string_equal(r->disk_paths[0], want);
    assert_int_equal(r->bytes_downloaded, SEED_SIZE);
    assert_int_equal(r->bytes_resumed, 0);
    assert_int_equal(r->used_snapshot, 0);
    assert_same_disk(r->disk_paths[0], seed);
    check_ovf_roundtrip(ctx, r);
    /* nothing left behind */
    assert_int_equal(ts_count_dir(out), 3); /* descriptor, flat extent, OVF */
    h2k_vmware_export_result_free(r);
    free(want);
    free(out);
    h2k_vmware_client_free(c);
    h2k_ctx_free(ctx);
}

static void
test_export_nfc(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_vmware_options o = opts_for(&vc);
    h2k_vmware_client *c = connect_ok(ctx, &o);
    char *out = ts_join(tmp, "nfc");
    h2k_vmware_export_result *r = NULL;
    ts_assert_rc(ctx, h2k_vmware_export_vm(c, "DC0_H0_VM1", out, "nfc", &r), 0);
    assert_string_equal(r->transport, "nfc");
    assert_int_equal(r->n_disks, 1);
    char *want = ts_join(out, "DC0_H0_VM1-disk-0.vmdk");
    assert_string_equal(r->disk_paths[0], want);
    assert_true(r->bytes_downloaded > 0);
    assert_true(r->bytes_downloaded < SEED_SIZE); /* streamOptimized compresses */
    assert_same_disk(r->disk_paths[0], seed);
    h2k_disk_info *info = NULL;
    ts_assert_rc(ctx, h2k_disk_probe(ctx, r->disk_paths[0], NULL, &info), 0);
    assert_string_equal(info->subformat, "streamOptimized");
    h2k_disk_info_free(info);
    check_ovf_roundtrip(ctx, r);
    h2k_vm_spec *s = NULL;
    ts_assert_rc(ctx, h2k_ovf_parse_file(ctx, r->ovf_path, &s), 0);
    assert_string_equal(s->disks[0].format_hint, "vmdk-streamOptimized");
    h2k_vm_spec_free(s);
    h2k_vmware_export_result_free(r);
    free(want);
    free(out);
    h2k_vmware_client_free(c);
    h2k_ctx_free(ctx);
}

static void
test_powered_on(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_vmware_options o = opts_for(&vc);
    h2k_vmware_client *c = connect_ok(ctx, &o);
    char *out = ts_join(tmp, "on");
    h2k_vmware_export_result *r = NULL;
    ts_assert_rc(ctx, h2k_vmware_export_vm(c, "DC0_C0_RP0_VM1", out, "http", &r),
                 H2K_ERR_VALIDATION);
    const char *m = h2k_ctx_last_error(ctx)->message;
    assert_non_null(strstr(m, "DC0_C0_RP0_VM1"));
    assert_non_null(strstr(m, "poweredOn"));
    assert_non_null(strstr(m, "--snapshot"));
    assert_null(r);
    h2k_vmware_client_free(c);

    o.powered_on = H2K_VMWARE_POWERED_ON_SNAPSHOT;
    c = connect_ok(ctx, &o);
    /* ExportVm needs a powered-off VM even with a snapshot */
    ts_assert_rc(ctx, h2k_vmware_export_vm(c, "DC0_C0_RP0_VM1", out, "nfc", &r),
                 H2K_ERR_VALIDATION);
    ts_assert_rc(ctx, h2k_vmware_export_vm(c, "DC0_C0_RP0_VM1", out, "http", &r), 0);
    assert_int_equal(r->used_snapshot, 1);
    assert_same_disk(r->disk_paths[0], seed);
    h2k_vmware_export_result_free(r);
    /* the snapshot was removed afterwards */
    char *moref = NULL;
    ts_assert_rc(ctx, hk_vmw_find_vm(c, "DC0_C0_RP0_VM1", &moref), 0);
    hk_vmw_response resp = {0};
    hk_buf b = {0};
    hk_buf_printf(&b,
                  "<specSet><propSet><type>VirtualMachine</type><pathSet>snapshot."
                  "rootSnapshotList</pathSet></propSet><objectSet><obj type=\"VirtualMachine\">"
                  "%s</obj></objectSet></specSet><options/>",
                  moref);
    ts_assert_rc(ctx,
                 hk_vmw_call(c, "RetrievePropertiesEx", "PropertyCollector", c->property_collector,
                             b.data, &resp),
                 0);
    xmlNodePtr obj = hk_vmw_child(hk_vmw_child(resp.result, "returnval"), "objects");
    xmlNodePtr list = hk_vmw_obj_prop(obj, "snapshot.rootSnapshotList");
    assert_true(list == NULL || hk_vmw_child(list, "VirtualMachineSnapshotTree") == NULL);
    hk_vmw_response_clear(&resp);
    hk_buf_free(&b);
    free(moref);
    free(out);
    h2k_vmware_client_free(c);
    h2k_ctx_free(ctx);
}

/* ---------------------------------------------------------- errors */

static void
test_wrong_password(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_vmware_options o = opts_for(&vc);
    o.password = "S3cr3t-wrong&<>";
    h2k_vmware_client *c = NULL;
    ts_assert_rc(ctx, h2k_vmware_client_new(ctx, &o, &c), H2K_ERR_AUTHENTICATION);
    assert_null(c);
    const char *m = h2k_ctx_last_error(ctx)->message;
    assert_non_null(strstr(m, vc.host));
    assert_non_null(strstr(m, "Login"));
    assert_non_null(strstr(m, "InvalidLogin"));
    assert_no_password(m);
    assert_null(strstr(m, "wrong"));
    h2k_ctx_free(ctx);
}

static int
closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t l = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    close(fd); /* nobody listens there now */
    return ntohs(a.sin_port);
}

static void
test_connection_refused(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    char host[64];
    snprintf(host, sizeof(host), "127.0.0.1:%d", closed_port());
    h2k_vmware_options o = opts_for(&vc);
    o.host = host;
    h2k_vmware_client *c = NULL;
    ts_assert_rc(ctx, h2k_vmware_client_new(ctx, &o, &c), H2K_ERR_CONNECTION);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, host));
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "RetrieveServiceContent"));
    h2k_ctx_free(ctx);
}

/* SHA-1 thumbprint of the certificate the simulator serves, via OpenSSL. */
static void
served_thumbprint(int port, char out[64])
{
    SSL_CTX *sc = SSL_CTX_new(TLS_client_method());
    SSL *ssl = SSL_new(sc);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    SSL_set_fd(ssl, fd);
    assert_int_equal(SSL_connect(ssl), 1);
    X509 *cert = SSL_get_peer_certificate(ssl);
    assert_non_null(cert);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    assert_int_equal(X509_digest(cert, EVP_sha1(), md, &n), 1);
    assert_int_equal(n, 20);
    size_t o = 0;
    for (unsigned i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, 64 - o, i ? ":%02X" : "%02X", md[i]);
    X509_free(cert);
    SSL_shutdown(ssl);
    SSL_free(ssl);
    SSL_CTX_free(sc);
    close(fd);
}

static void
test_tls(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_vmware_options o = opts_for(&vc);
    o.insecure = 0;
    h2k_vmware_client *c = NULL;
    ts_assert_rc(ctx, h2k_vmware_client_new(ctx, &o, &c), H2K_ERR_CONNECTION);
    const char *m = h2k_ctx_last_error(ctx)->message;
    assert_non_null(strstr(m, vc.host));
    assert_non_null(strstr(m, "--ca-file"));
    assert_non_null(strstr(m, "--thumbprint"));
    assert_non_null(strstr(m, "--insecure"));
    char tp[64];
    served_thumbprint(vc.port, tp);
    assert_non_null(strstr(m, tp)); /* the message shows what the server presented */
    /* pinned: accepted */
    o.thumbprint = tp;
    c = connect_ok(ctx, &o);
    h2k_vmware_vm_info *v = NULL;
    size_t n = 0;
    ts_assert_rc(ctx, h2k_vmware_list_vms(c, &v, &n), 0);
    assert_int_equal(n, 4);
    h2k_vmware_vm_list_free(v, n);
    h2k_vmware_client_free(c);
    /* another thumbprint: refused */
    char bad[64];
    snprintf(bad, sizeof(bad), "%s", tp);
    bad[0] = bad[0] == 'A' ? 'B' : 'A';
    o.thumbprint = bad;
    c = NULL;
    ts_assert_rc(ctx, h2k_vmware_client_new(ctx, &o, &c), H2K_ERR_CONNECTION);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "does not match"));
    o.thumbprint = "12:34";
    ts_assert_rc(ctx, h2k_vmware_client_new(ctx, &o, &c), H2K_ERR_INVALID_ARG);
    h2k_ctx_free(ctx);
}

/* ---------------------------------------------------------- resume */

static void
cancel_at_16m(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    h2k_ctx *ctx = ud;
    (void)total;
    if (strcmp(stage, "download") == 0 && done >= (16u << 20))
        h2k_ctx_cancel(ctx);
}

static void
test_resume(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_vmware_options o = opts_for(&vc);
    h2k_vmware_client *c = connect_ok(ctx, &o);
    char *out = ts_join(tmp, "resume");
    h2k_ctx_set_progress(ctx, cancel_at_16m, ctx);
    h2k_vmware_export_result *r = NULL;
    ts_assert_rc(ctx, h2k_vmware_export_vm(c, "DC0_C0_RP0_VM0", out, "http", &r),
                 H2K_ERR_CANCELLED);
    assert_null(r);
    char *part = ts_join(out, "disk1-flat.vmdk.part");
    struct stat st;
    assert_int_equal(stat(part, &st), 0);
    assert_true(st.st_size >= (16 << 20));
    assert_true(st.st_size < (off_t)SEED_SIZE);
    off_t kept = st.st_size;
    h2k_ctx_reset_cancel(ctx);
    h2k_ctx_set_progress(ctx, NULL, NULL);
    ts_assert_rc(ctx, h2k_vmware_export_vm(c, "DC0_C0_RP0_VM0", out, "http", &r), 0);
    assert_int_equal(r->bytes_resumed, (uint64_t)kept);
    assert_int_equal(r->bytes_downloaded, SEED_SIZE - (uint64_t)kept);
    assert_same_disk(r->disk_paths[0], seed);
    assert_false(ts_exists(part));
    h2k_vmware_export_result_free(r);
    free(part);
    free(out);
    h2k_vmware_client_free(c);
    h2k_ctx_free(ctx);
}

/* ---------------------------------------------------------- parallel */

typedef struct job {
    const char *vm;
    const char *transport;
    char *out;
    int rc;
    char *path;
} job;

static void *
run_job(void *arg)
{
    job *j = arg;
    h2k_ctx *ctx = NULL;
    h2k_ctx_new(&ctx);
    h2k_ctx_set_log(ctx, capture_log, NULL, H2K_LOG_DEBUG);
    h2k_vmware_options o = opts_for(&vc);
    o.parallel_streams = 2;
    h2k_vmware_client *c = NULL;
    j->rc = h2k_vmware_client_new(ctx, &o, &c);
    if (j->rc == 0) {
        h2k_vmware_export_result *r = NULL;
        j->rc = h2k_vmware_export_vm(c, j->vm, j->out, j->transport, &r);
        if (j->rc == 0)
            j->path = strdup(r->disk_paths[0]);
        else
            fprintf(stderr, "%s: %s\n", j->vm, h2k_ctx_last_error(ctx)->message);
        h2k_vmware_export_result_free(r);
    }
    h2k_vmware_client_free(c);
    h2k_ctx_free(ctx);
    return NULL;
}

static void
test_parallel(void **state)
{
    (void)state;
    job jobs[3] = {
        {"DC0_H0_VM0", "http", ts_join(tmp, "p0"), -1, NULL},
        {"DC0_H0_VM1", "nfc", ts_join(tmp, "p1"), -1, NULL},
        {"DC0_C0_RP0_VM0", "nfc", ts_join(tmp, "p2"), -1, NULL},
    };
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, run_job, &jobs[i]), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(jobs[i].rc, 0);
        assert_same_disk(jobs[i].path, seed);
        free(jobs[i].path);
        free(jobs[i].out);
    }
}

/* ---------------------------------------------------------- vddk */

static void
test_vddk_missing(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_vmware_options o = opts_for(&vc);
    h2k_vmware_client *c = connect_ok(ctx, &o);
    char *out = ts_join(tmp, "vddk");
    h2k_vmware_export_result *r = NULL;
    ts_assert_rc(ctx, h2k_vmware_export_vm(c, "DC0_H0_VM0", out, "vddk", &r), H2K_ERR_UNSUPPORTED);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "--vddk-libdir"));
    h2k_vmware_client_free(c);
    /* a library folder, but nbdkit has no vddk plugin here */
    char *lib = ts_join(tmp, "vddk-lib/lib64");
    char *libdir = ts_join(tmp, "vddk-lib");
    mkdir(libdir, 0755);
    mkdir(lib, 0755);
    char *so = ts_join(lib, "libvixDiskLib.so");
    ts_write_file(so, "", 0);
    o.vddk_libdir = libdir;
    c = connect_ok(ctx, &o);
    ts_assert_rc(ctx, h2k_vmware_export_vm(c, "DC0_H0_VM0", out, "vddk", &r), H2K_ERR_UNSUPPORTED);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "vddk plugin"));
    ts_assert_rc(ctx, h2k_vmware_export_vm(c, "DC0_H0_VM0", out, "ftp", &r), H2K_ERR_INVALID_ARG);
    h2k_vmware_client_free(c);
    free(so);
    free(lib);
    free(libdir);
    free(out);
    h2k_ctx_free(ctx);
}

/* ---------------------------------------------------------- CLI */

static int
run_cli(const char *const *args, const char *pw_env, char **out)
{
    const char *argv[24] = {ts_env("H2K_CLI")};
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char *envs[2] = {pw_env ? hk_asprintf("H2K_VC_PW=%s", pw_env) : NULL, NULL};
    h2k_ctx *ctx = NULL;
    h2k_ctx_new(&ctx);
    hk_run_opts o = {0};
    o.envp = (const char *const *)envs;
    o.timeout_seconds = 120;
    hk_run_result r = {0};
    assert_int_equal(hk_run(ctx, argv, &o, &r), 0);
    *out = hk_asprintf("%s%s", r.stdout_tail ? r.stdout_tail : "",
                       r.stderr_tail ? r.stderr_tail : "");
    int st = r.exit_status;
    hk_run_result_clear(&r);
    h2k_ctx_free(ctx);
    free(envs[0]);
    return st;
}

static void
test_cli(void **state)
{
    (void)state;
    char *out = NULL;
    const char *list[] = {"vsphere",   "--vcenter",  vc.host,  "--user", "user", "--password-env",
                          "H2K_VC_PW", "--insecure", "--list", "--json", NULL};
    assert_int_equal(run_cli(list, PASSWORD, &out), 0);
    assert_non_null(strstr(out, "\"name\":\"DC0_C0_RP0_VM1\""));
    assert_non_null(strstr(out, "\"power_state\":\"poweredOn\""));
    assert_no_password(out);
    free(out);

    /* wrong password from a file: AUTHENTICATION = exit 13 */
    char *pwf = ts_join(tmp, "pw.txt");
    ts_write_file(pwf, "S3cr3t-nope\nsecond line\n", 24);
    const char *bad[] = {"vsphere",         "--vcenter", vc.host,      "--user", "user",
                         "--password-file", pwf,         "--insecure", "--list", NULL};
    assert_int_equal(run_cli(bad, NULL, &out), 10 + 3);
    assert_non_null(strstr(out, "InvalidLogin"));
    assert_null(strstr(out, "S3cr3t"));
    free(out);
    /* usage: no password source */
    const char *usage[] = {"vsphere", "--vcenter", vc.host, "--user", "user", "--list", NULL};
    assert_int_equal(run_cli(usage, NULL, &out), 2);
    free(out);

    /* export only, and convert to qcow2 (a whole migration is in test_vsphere_migrate) */
    char *dir = ts_join(tmp, "cli");
    const char *exp[] = {"vsphere",        "--vcenter", vc.host,       "--user", "user",
                         "--password-env", "H2K_VC_PW", "--insecure",  "--vm",   "DC0_H0_VM0",
                         "--output-dir",   dir,         "--transport", "nfc",    "--export-only",
                         "--json",         NULL};
    int st = run_cli(exp, PASSWORD, &out);
    if (st != 0)
        fail_msg("hyper2kvm vsphere --vm failed (%d): %s", st, out);
    assert_non_null(strstr(out, "\"transport\":\"nfc\""));
    assert_no_password(out);
    free(out);
    char *qcow = ts_join(dir, "DC0_H0_VM0-disk1.qcow2");
    assert_same_disk(qcow, seed);
    free(qcow);
    free(dir);
    free(pwf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_vcenter),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_export_http),
        cmocka_unit_test(test_export_nfc),
        cmocka_unit_test(test_powered_on),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_parallel),
        cmocka_unit_test(test_vddk_missing),
        cmocka_unit_test(test_esx_mode),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
