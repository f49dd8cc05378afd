/*
 * The Azure client against the suite's ARM stand-in (loopback TLS) and a real
 * Azurite holding fixed-VHD page blobs with only their allocated pages written:
 * list, describe (throttled once: 429 + Retry-After), download (sparse,
 * byte-identical, bytes fetched = allocated bytes, endGetAccess), an
 * interrupted download resumed, and the failures: untrusted certificate,
 * running VM (and its snapshot-based copy), unknown VM, bad secret.  No
 * secret (client secret, token, SAS signature) may reach a log or an error.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "azure.h"
#include "providers/azure/az_internal.h"
#include "testsupport.h"

#define SECRET "s3cret-Value+/="
#define MIB (1024u * 1024u)

static ts_azure az;
static char *os_vhd, *data_vhd, *frag_vhd;
static uint64_t os_alloc, data_alloc, frag_alloc;

static const char config[] =
    "{\"tenant\":\"tenant-1\",\"client_id\":\"app-1\",\"client_secret\":\"" SECRET "\","
    "\"subscription\":\"sub-1\",\"resource_group\":\"rg-1\",\"location\":\"westeurope\","
    "\"azurite\":\"@AZURITE@\","
    "\"vms\":{"
    " \"vm1\":{\"size\":\"Standard_B2s\",\"power\":\"deallocated\",\"os_disk\":\"vm1-os\","
    "   \"security_type\":\"TrustedLaunch\",\"secure_boot\":true,"
    "   \"data_disks\":[{\"lun\":0,\"disk\":\"vm1-data\"}],\"nics\":[\"vm1-nic\"]},"
    " \"vmrun\":{\"size\":\"Standard_B1s\",\"power\":\"running\",\"os_disk\":\"vmrun-os\","
    "   \"nics\":[]},"
    " \"vmfrag\":{\"size\":\"Standard_B1s\",\"power\":\"deallocated\",\"os_disk\":\"frag\","
    "   \"nics\":[]}},"
    "\"disks\":{"
    " \"vm1-os\":{\"blob\":\"disks/os.vhd\",\"size\":67108864,\"gen\":\"V2\",\"os\":\"Linux\"},"
    " \"vm1-data\":{\"blob\":\"disks/data.vhd\",\"size\":16777216},"
    " \"vmrun-os\":{\"blob\":\"disks/os.vhd\",\"size\":67108864,\"gen\":\"V1\",\"os\":\"Linux\"},"
    " \"frag\":{\"blob\":\"disks/frag.vhd\",\"size\":8388608}},"
    "\"nics\":{\"vm1-nic\":{\"mac\":\"00-0D-3A-1B-2C-3D\",\"ip\":\"10.0.0.4\"}},"
    "\"throttle\":[\"vm1\"]}";

/* A fixed VHD of @mib MiB with random MiBs at @offs (MiB), -1 ended. */
static char *
make_vhd(const char *name, unsigned mib, const int *offs)
{
    char *p = ts_tmp_path(name);
    char size[32];
    snprintf(size, sizeof(size), "%uM", mib);
    ts_qemu_img_create("vpc", "subformat=fixed,force_size=on", NULL, NULL, p, size);
    int fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    char *buf = malloc(MIB);
    assert_non_null(buf);
    unsigned seed = 7;
    for (size_t i = 0; offs[i] >= 0; i++) {
        for (size_t k = 0; k < MIB; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[k] = (char)(seed >> 16);
        }
        assert_int_equal(pwrite(fd, buf, MIB, (off_t)offs[i] * MIB), (ssize_t)MIB);
    }
    free(buf);
    close(fd);
    return p;
}

static int
group_setup(void **state)
{
    ts_setup_tmpdir(state);
    ts_azure_init(&az);
    static const int os_offs[] = {0, 3, 17, 40, 41, 63, -1};
    static const int data_offs[] = {5, 9, -1};
    os_vhd = make_vhd("os.vhd", 64, os_offs);
    data_vhd = make_vhd("data.vhd", 16, data_offs);
    /* a fragmented disk, like a file system's extents: in its first 4 MiB, 4 KiB of
     * data every 16 KiB; in the next 4 MiB, 4 KiB every 256 KiB */
    frag_vhd = make_vhd("frag.vhd", 8, (const int[]){-1});
    int fd = open(frag_vhd, O_WRONLY);
    assert_true(fd >= 0);
    char blk[4096];
    for (unsigned i = 0; i < 256 + 16; i++) {
        memset(blk, (int)(0x41 + i % 50), sizeof(blk));
        off_t at = i < 256 ? (off_t)i * 16384 : (off_t)(4 * MIB + (i - 256) * 262144u);
        assert_int_equal(pwrite(fd, blk, sizeof(blk), at), (ssize_t)sizeof(blk));
    }
    close(fd);
    frag_alloc = ts_azure_seed(&az, "disks/frag.vhd", frag_vhd);
    assert_int_equal(frag_alloc, (256 + 16) * 4096 + 512);
    os_alloc = ts_azure_seed(&az, "disks/os.vhd", os_vhd);
    data_alloc = ts_azure_seed(&az, "disks/data.vhd", data_vhd);
    /* six MiB of data and the footer: a tenth of the disk */
    assert_int_equal(os_alloc, 6 * MIB + 512);
    assert_int_equal(data_alloc, 2 * MIB + 512);
    ts_azure_start(&az, config);
    return 0;
}

static int
group_teardown(void **state)
{
    ts_azure_stop(&az);
    free(os_vhd);
    free(data_vhd);
    free(frag_vhd);
    return ts_teardown_tmpdir(state);
}

/* Every log message, to check that no secret reaches one. */
static hk_buf logs;

static void
on_log(void *ud, h2k_log_level lvl, const char *dom, const char *msg)
{
    (void)ud;
    (void)lvl;
    hk_buf_printf(&logs, "%s: %s\n", dom, msg);
}

static h2k_ctx *
new_ctx(void)
{
    h2k_ctx *ctx = NULL;
    assert_int_equal(h2k_ctx_new(&ctx), 0);
    h2k_ctx_set_log(ctx, on_log, NULL, H2K_LOG_DEBUG);
    return ctx;
}

static h2k_azure_client *
new_client(h2k_ctx *ctx, const char *secret, const char *ca, h2k_azure_running running)
{
    h2k_azure_config cfg = H2K_AZURE_CONFIG_INIT;
    cfg.subscription_id = "sub-1";
    cfg.resource_group = "rg-1";
    cfg.tenant_id = "tenant-1";
    cfg.client_id = "app-1";
    cfg.client_secret = secret;
    cfg.authority_host = az.url;
    cfg.resource_manager = az.url;
    cfg.ca_file = ca;
    cfg.timeout_seconds = 20;
    cfg.running = running;
    h2k_azure_client *c = NULL;
    assert_int_equal(h2k_azure_client_new(ctx, &cfg, &c), 0);
    c->poll_min = 0.05; /* polls without Retry-After: quick on loopback */
    return c;
}

/* No secret in the logs nor in the last error. */
static void
assert_no_secret(h2k_ctx *ctx)
{
    const char *m = h2k_ctx_last_error(ctx)->message;
    const char *l = logs.data ? logs.data : "";
    assert_null(strstr(m, SECRET));
    assert_null(strstr(l, SECRET));
    assert_null(strstr(m, "sig="));
    assert_null(strstr(l, "sig="));
    assert_null(strstr(m, "Bearer"));
    assert_null(strstr(l, "Bearer"));
}

/* Names of the entries of @dir, sorted by readdir order, joined by ' '. */
static char *
list_dir(const char *dir)
{
    hk_buf b = {0};
    hk_buf_puts(&b, "");
    DIR *d = opendir(dir);
    if (!d)
        return hk_buf_steal(&b);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            hk_buf_printf(&b, "%s ", e->d_name);
    closedir(d);
    return hk_buf_steal(&b);
}

static void
assert_same_file(const char *a, const char *b)
{
    const char *argv[] = {"cmp", a, b, NULL};
    ts_run_ok(argv);
}

static void
test_list(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_azure_client *c = new_client(ctx, SECRET, az.ca, H2K_AZURE_RUNNING_REFUSE);
    h2k_azure_vm *vms = NULL;
    size_t n = 0;
    assert_int_equal(h2k_azure_list_vms(c, &vms, &n), 0);
    assert_int_equal(n, 3); /* three pages of one VM each */
    assert_string_equal(vms[0].name, "vm1");
    assert_string_equal(vms[0].power_state, "deallocated");
    assert_string_equal(vms[0].vm_size, "Standard_B2s");
    assert_string_equal(vms[1].name, "vmfrag");
    assert_string_equal(vms[2].name, "vmrun");
    assert_string_equal(vms[2].power_state, "running");
    h2k_azure_vm_list_free(vms, n);
    assert_no_secret(ctx);
    h2k_azure_client_free(c);
    h2k_ctx_free(ctx);
}

static void
test_describe(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_azure_client *c = new_client(ctx, SECRET, az.ca, H2K_AZURE_RUNNING_REFUSE);
    ts_azure_clear_events(&az);
    h2k_azure_vm *vm = NULL;
    assert_int_equal(h2k_azure_describe_vm(c, "vm1", &vm), 0);
    /* the first GET of vm1 was throttled (429, Retry-After: 1) and retried */
    assert_int_equal(ts_azure_count(&az, "throttled vm1"), 1);
    assert_int_equal(vm->vcpus, 2);
    assert_int_equal(vm->memory_bytes, 4096ull << 20);
    assert_string_equal(vm->os_type, "Linux");
    assert_string_equal(vm->location, "westeurope");
    assert_int_equal(vm->n_disks, 2);
    assert_string_equal(vm->disks[0].name, "vm1-os");
    assert_int_equal(vm->disks[0].lun, -1);
    assert_int_equal(vm->disks[0].size_bytes, 64 * MIB);
    assert_string_equal(vm->disks[0].hyperv_generation, "V2");
    assert_string_equal(vm->disks[1].name, "vm1-data");
    assert_int_equal(vm->disks[1].lun, 0);
    assert_int_equal(vm->n_nics, 1);
    assert_string_equal(vm->nics[0].mac, "00:0d:3a:1b:2c:3d");
    assert_string_equal(vm->nics[0].private_ip, "10.0.0.4");
    assert_string_equal(vm->power_state, "deallocated");
    h2k_vm_spec *s = vm->spec;
    assert_string_equal(s->source_type, "azure");
    assert_int_equal(s->firmware, H2K_FIRMWARE_UEFI);
    assert_int_equal(s->secure_boot, 1);
    assert_int_equal(s->vcpus, 2);
    assert_int_equal(s->n_disks, 2);
    assert_int_equal(s->disks[1].unit, 0);
    assert_int_equal(s->n_nics, 1);
    assert_string_equal(s->nics[0].mac, "00:0d:3a:1b:2c:3d");
    h2k_azure_vm_free(vm);
    h2k_azure_client_free(c);
    h2k_ctx_free(ctx);
}

static void
test_download(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_azure_client *c = new_client(ctx, SECRET, az.ca, H2K_AZURE_RUNNING_REFUSE);
    ts_azure_clear_events(&az);
    char *out = ts_tmp_path("dl");
    h2k_azure_download_result *r = NULL;
    int rc = h2k_azure_download_vm(c, "vm1", out, &r);
    if (rc < 0)
        fail_msg("download: %s", h2k_ctx_last_error(ctx)->message);
    assert_int_equal(r->n_disks, 2);
    assert_same_file(r->disk_paths[0], os_vhd);
    assert_same_file(r->disk_paths[1], data_vhd);
    /* only the allocated pages came over the wire */
    assert_int_equal(r->allocated_bytes, os_alloc + data_alloc);
    assert_int_equal(r->bytes_downloaded, os_alloc + data_alloc);
    assert_int_equal(r->disk_bytes, 80 * MIB + 1024);
    assert_int_equal(r->bytes_resumed, 0);
    print_message("vm1: %llu bytes of disks, %llu allocated, %llu fetched\n",
                  (unsigned long long)r->disk_bytes, (unsigned long long)r->allocated_bytes,
                  (unsigned long long)r->bytes_downloaded);
    /* sparse: the local copy allocates about what was fetched */
    struct stat sb;
    assert_int_equal(stat(r->disk_paths[0], &sb), 0);
    assert_true((uint64_t)sb.st_blocks * 512 < os_alloc + 2 * MIB);
    assert_int_equal(sb.st_mode & 077, 0);
    assert_non_null(r->vm->spec->disks[0].path);
    assert_int_equal(ts_azure_count(&az, "beginGetAccess vm1-os"), 1);
    assert_int_equal(ts_azure_count(&az, "endGetAccess vm1-os"), 1);
    assert_int_equal(ts_azure_count(&az, "beginGetAccess vm1-data"), 1);
    assert_int_equal(ts_azure_count(&az, "endGetAccess vm1-data"), 1);
    char *names = list_dir(out);
    /* the two disks and nothing else (no partial file, no progress file) */
    assert_non_null(strstr(names, "vm1-os.vhd "));
    assert_non_null(strstr(names, "vm1-data.vhd "));
    assert_int_equal(strlen(names), strlen("vm1-os.vhd vm1-data.vhd "));
    free(names);
    /* a second download does not overwrite */
    h2k_azure_download_result_free(r);
    ts_azure_clear_events(&az);
    assert_int_equal(h2k_azure_download_vm(c, "vm1", out, &r), H2K_ERR_EXISTS);
    assert_null(r);
    assert_int_equal(ts_azure_count(&az, "beginGetAccess vm1-os"), 0);
    assert_no_secret(ctx);
    ts_rmtree(out);
    free(out);
    h2k_azure_client_free(c);
    h2k_ctx_free(ctx);
}

/* Small ranges close together are fetched together (gaps read as zeros) and the
 * copy stays as sparse as the blob. */
static void
test_download_fragmented(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_azure_client *c = new_client(ctx, SECRET, az.ca, H2K_AZURE_RUNNING_REFUSE);
    char *out = ts_tmp_path("frag");
    h2k_azure_download_result *r = NULL;
    int rc = h2k_azure_download_vm(c, "vmfrag", out, &r);
    if (rc < 0)
        fail_msg("download: %s", h2k_ctx_last_error(ctx)->message);
    assert_same_file(r->disk_paths[0], frag_vhd);
    assert_int_equal(r->allocated_bytes, frag_alloc);
    /* the 12 KiB gaps of the first 4 MiB (and the one after them) come along: a
     * request of 4 MiB instead of 257; the 252 KiB gaps that follow do not */
    assert_int_equal(r->bytes_downloaded, 4 * MIB + 16 * 4096 + 512);
    struct stat sb;
    assert_int_equal(stat(r->disk_paths[0], &sb), 0);
    assert_true((uint64_t)sb.st_blocks * 512 <= frag_alloc + 64 * 1024);
    print_message("fragmented disk: %llu allocated, %llu fetched, %llu bytes on disk\n",
                  (unsigned long long)frag_alloc, (unsigned long long)r->bytes_downloaded,
                  (unsigned long long)sb.st_blocks * 512);
    h2k_azure_download_result_free(r);
    ts_rmtree(out);
    free(out);
    h2k_azure_client_free(c);
    h2k_ctx_free(ctx);
}

/* Cancels the download once some but not all bytes arrived. */
static void
cancel_midway(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    if (strcmp(stage, "download") == 0 && done >= 2 * MIB && done < total)
        h2k_ctx_cancel(ud);
}

static void
test_resume(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_azure_client *c = new_client(ctx, SECRET, az.ca, H2K_AZURE_RUNNING_REFUSE);
    c->streams = 1; /* one piece at a time: the cancel lands in the middle */
    h2k_ctx_set_progress(ctx, cancel_midway, ctx);
    ts_azure_clear_events(&az);
    char *out = ts_tmp_path("resume");
    h2k_azure_download_result *r = NULL;
    assert_int_equal(h2k_azure_download_vm(c, "vm1", out, &r), H2K_ERR_CANCELLED);
    assert_null(r);
    /* the grant was revoked although the context is cancelled */
    assert_int_equal(ts_azure_count(&az, "beginGetAccess vm1-os"), 1);
    assert_int_equal(ts_azure_count(&az, "endGetAccess vm1-os"), 1);
    /* nothing under a final name; the partial file and its progress are kept */
    char *fin = ts_join(out, "vm1-os.vhd");
    char *part = ts_join(out, "vm1-os.vhd.part");
    char *st = ts_join(out, "vm1-os.vhd.part.state");
    struct stat sb;
    assert_int_not_equal(stat(fin, &sb), 0);
    assert_int_equal(stat(part, &sb), 0);
    assert_int_equal(stat(st, &sb), 0);
    /* again: only what is missing is fetched */
    h2k_ctx_reset_cancel(ctx);
    h2k_ctx_set_progress(ctx, NULL, NULL);
    c->streams = 4;
    int rc = h2k_azure_download_vm(c, "vm1", out, &r);
    if (rc < 0)
        fail_msg("resumed download: %s", h2k_ctx_last_error(ctx)->message);
    print_message("resume: %llu bytes kept, %llu fetched\n", (unsigned long long)r->bytes_resumed,
                  (unsigned long long)r->bytes_downloaded);
    assert_true(r->bytes_resumed >= 2 * MIB);
    assert_int_equal(r->bytes_resumed + r->bytes_downloaded, os_alloc + data_alloc);
    assert_same_file(r->disk_paths[0], os_vhd);
    assert_same_file(r->disk_paths[1], data_vhd);
    assert_int_not_equal(stat(part, &sb), 0);
    assert_int_not_equal(stat(st, &sb), 0);
    assert_int_equal(ts_azure_count(&az, "endGetAccess vm1-os"), 2);
    assert_no_secret(ctx);
    h2k_azure_download_result_free(r);
    ts_rmtree(out);
    free(out);
    free(fin);
    free(part);
    free(st);
    h2k_azure_client_free(c);
    h2k_ctx_free(ctx);
}

static void
test_untrusted_certificate(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_azure_client *c = new_client(ctx, SECRET, NULL, H2K_AZURE_RUNNING_REFUSE);
    ts_azure_clear_events(&az);
    char *out = ts_tmp_path("untrusted");
    h2k_azure_download_result *r = NULL;
    assert_int_equal(h2k_azure_download_vm(c, "vm1", out, &r), H2K_ERR_CONNECTION);
    const char *m = h2k_ctx_last_error(ctx)->message;
    assert_non_null(strstr(m, "certificate"));
    assert_non_null(strstr(m, "ca_file"));
    /* nothing was sent: not even the token request */
    assert_int_equal(ts_azure_count(&az, "token issued"), 0);
    struct stat sb;
    assert_int_not_equal(stat(out, &sb), 0);
    assert_no_secret(ctx);
    free(out);
    h2k_azure_client_free(c);
    h2k_ctx_free(ctx);
}

static void
test_running_vm(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_azure_client *c = new_client(ctx, SECRET, az.ca, H2K_AZURE_RUNNING_REFUSE);
    ts_azure_clear_events(&az);
    char *out = ts_tmp_path("running");
    h2k_azure_download_result *r = NULL;
    assert_int_equal(h2k_azure_download_vm(c, "vmrun", out, &r), H2K_ERR_VALIDATION);
    const char *m = h2k_ctx_last_error(ctx)->message;
    assert_non_null(strstr(m, "vmrun"));
    assert_non_null(strstr(m, "running"));
    assert_non_null(strstr(m, "snapshot"));
    assert_int_equal(ts_azure_count(&az, "beginGetAccess vmrun-os"), 0);
    struct stat sb;
    assert_int_not_equal(stat(out, &sb), 0);
    h2k_azure_client_free(c);

    /* asked for: a snapshot is copied, then revoked and deleted */
    c = new_client(ctx, SECRET, az.ca, H2K_AZURE_RUNNING_SNAPSHOT);
    int rc = h2k_azure_download_vm(c, "vmrun", out, &r);
    if (rc < 0)
        fail_msg("snapshot download: %s", h2k_ctx_last_error(ctx)->message);
    assert_int_equal(r->used_snapshot, 1);
    assert_same_file(r->disk_paths[0], os_vhd);
    char *ev = ts_azure_events(&az);
    assert_non_null(strstr(ev, "snapshot created vmrun-os-h2k-"));
    assert_non_null(strstr(ev, "snapshot deleted vmrun-os-h2k-"));
    assert_non_null(strstr(ev, "endGetAccess vmrun-os-h2k-"));
    assert_null(strstr(ev, "beginGetAccess vmrun-os\n"));
    free(ev);
    h2k_azure_download_result_free(r);
    ts_rmtree(out);
    free(out);
    h2k_azure_client_free(c);
    h2k_ctx_free(ctx);
}

static void
test_unknown_vm(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_azure_client *c = new_client(ctx, SECRET, az.ca, H2K_AZURE_RUNNING_REFUSE);
    char *out = ts_tmp_path("unknown");
    h2k_azure_download_result *r = NULL;
    assert_int_equal(h2k_azure_download_vm(c, "nosuchvm", out, &r), H2K_ERR_NOT_FOUND);
    const char *m = h2k_ctx_last_error(ctx)->message;
    assert_non_null(strstr(m, "nosuchvm"));
    assert_non_null(strstr(m, "ResourceNotFound"));
    struct stat sb;
    assert_int_not_equal(stat(out, &sb), 0);
    free(out);
    h2k_azure_client_free(c);
    h2k_ctx_free(ctx);
}

static void
test_bad_secret(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_azure_client *c = new_client(ctx, "wrong-" SECRET, az.ca, H2K_AZURE_RUNNING_REFUSE);
    ts_azure_clear_events(&az);
    char *out = ts_tmp_path("badsecret");
    h2k_azure_download_result *r = NULL;
    assert_int_equal(h2k_azure_download_vm(c, "vm1", out, &r), H2K_ERR_AUTHENTICATION);
    const char *m = h2k_ctx_last_error(ctx)->message;
    assert_non_null(strstr(m, "AADSTS7000215"));
    assert_null(strstr(m, "wrong-"));
    assert_null(strstr(logs.data ? logs.data : "", "wrong-"));
    assert_int_equal(ts_azure_count(&az, "token refused"), 1); /* 401: not retried */
    struct stat sb;
    assert_int_not_equal(stat(out, &sb), 0);
    assert_no_secret(ctx);
    free(out);
    h2k_azure_client_free(c);
    h2k_ctx_free(ctx);
}

/* A managed identity (the metadata endpoint is the stand-in's own). */
static void
test_managed_identity(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    h2k_azure_config cfg = H2K_AZURE_CONFIG_INIT;
    cfg.subscription_id = "sub-1";
    cfg.resource_group = "rg-1";
    cfg.auth = H2K_AZURE_AUTH_MANAGED_IDENTITY;
    char idp[128];
    snprintf(idp, sizeof(idp), "%s/metadata/identity/oauth2/token", az.url);
    cfg.identity_endpoint = idp;
    cfg.resource_manager = az.url;
    cfg.ca_file = az.ca;
    h2k_azure_client *c = NULL;
    assert_int_equal(h2k_azure_client_new(ctx, &cfg, &c), 0);
    ts_azure_clear_events(&az);
    h2k_azure_vm *vm = NULL;
    int rc = h2k_azure_describe_vm(c, "vmrun", &vm);
    if (rc < 0)
        fail_msg("describe with a managed identity: %s", h2k_ctx_last_error(ctx)->message);
    assert_int_equal(ts_azure_count(&az, "identity token issued"), 1);
    assert_string_equal(vm->power_state, "running");
    assert_int_equal(vm->spec->firmware, H2K_FIRMWARE_BIOS); /* generation V1 */
    assert_int_equal(vm->vcpus, 1);
    h2k_azure_vm_free(vm);
    h2k_azure_client_free(c);
    h2k_ctx_free(ctx);
}

/* An Azure VM in a batch plan: the plan's "azure" section (the secret from an
 * environment variable), the worker's client, the disks converted; no repair. */
static int batch_rc = 1;

static void
on_batch_vm(void *ud, const h2k_plan_vm *vm, int rc, const h2k_migration_result *res)
{
    (void)ud;
    (void)vm;
    batch_rc = rc;
    if (rc == 0)
        assert_int_equal(res->n_outputs, 2);
}

static void
test_batch_plan(void **state)
{
    (void)state;
    h2k_ctx *ctx = new_ctx();
    setenv("H2K_TEST_AZURE_SECRET", SECRET, 1);
    char *out = ts_tmp_path("batch");
    char *doc = hk_asprintf(
        "{\"output_dir\": \"%s\", \"defaults\": {\"fixes\": \"none\"},"
        " \"azure\": {\"subscription_id\": \"sub-1\", \"resource_group\": \"rg-1\","
        " \"tenant_id\": \"tenant-1\", \"client_id\": \"app-1\","
        " \"client_secret_env\": \"H2K_TEST_AZURE_SECRET\", \"authority_host\": \"%s\","
        " \"resource_manager\": \"%s\", \"ca_file\": \"%s\"},"
        " \"vms\": [{\"name\": \"vm1\", \"vm\": \"vm1\"}]}",
        out, az.url, az.url, az.ca);
    h2k_plan *plan = NULL;
    ts_assert_rc(ctx, h2k_plan_parse(ctx, doc, strlen(doc), NULL, "azure-plan.json", &plan), 0);
    char *st = hk_asprintf("%s.state.json", out);
    ts_azure_clear_events(&az);
    batch_rc = 1;
    ts_assert_rc(ctx, h2k_batch_run(ctx, plan, st, 1, on_batch_vm, NULL), 0);
    assert_int_equal(batch_rc, 0);
    assert_int_equal(ts_azure_count(&az, "endGetAccess vm1-os"), 1);
    assert_int_equal(ts_azure_count(&az, "endGetAccess vm1-data"), 1);
    /* the copies hold what the blobs hold */
    char *q0 = hk_asprintf("%s/vm1/vm1-disk1.qcow2", out);
    struct stat sb;
    if (stat(q0, &sb) != 0) {
        char *names = list_dir(out);
        fail_msg("no %s (output folder: %s)", q0, names);
    }
    const char *cmp[] = {"qemu-img", "compare", "-q", "-f", "vpc", "-F", "qcow2", os_vhd, q0, NULL};
    ts_run_ok(cmp);
    assert_no_secret(ctx);
    unsetenv("H2K_TEST_AZURE_SECRET");
    h2k_plan_free(plan);
    ts_rmtree(out);
    unlink(st);
    free(q0);
    free(st);
    free(doc);
    free(out);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),       cmocka_unit_test(test_describe),
        cmocka_unit_test(test_download),   cmocka_unit_test(test_download_fragmented),
        cmocka_unit_test(test_resume),     cmocka_unit_test(test_untrusted_certificate),
        cmocka_unit_test(test_running_vm), cmocka_unit_test(test_unknown_vm),
        cmocka_unit_test(test_bad_secret), cmocka_unit_test(test_managed_identity),
        cmocka_unit_test(test_batch_plan),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    hk_buf_free(&logs);
    return rc;
}
