/*
 * Unit tests of the vSphere client without a server: SOAP envelopes and
 * escaping, response and fault parsing, the VM description from a canned
 * hardware listing, tasks, leases, manifests, PropertyCollector paging through
 * a scripted transport (tests/data/vmware/), and the OVF of an export read
 * back with h2k_ovf_parse_file().
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "testsupport.h"
#include "providers/vmware/vmw_internal.h"

#define PASSWORD "Top&Secret1"

/* ---------------------------------------------------------- helpers */

static char *
data(const char *name, size_t *len)
{
    char *rel = hk_asprintf("vmware/%s", name);
    char *p = ts_data_path(rel);
    char *text = ts_read_file(p, len);
    free(rel);
    free(p);
    return text;
}

static hk_buf logs;

static void
capture(void *ud, h2k_log_level l, const char *d, const char *m)
{
    (void)ud, (void)l;
    hk_buf_printf(&logs, "%s: %s\n", d, m);
}

static h2k_ctx *
ctx_capturing(void)
{
    h2k_ctx *ctx = NULL;
    assert_int_equal(h2k_ctx_new(&ctx), 0);
    h2k_ctx_set_log(ctx, capture, NULL, H2K_LOG_DEBUG);
    return ctx;
}

/* A scripted server: each call must be the next method, answered by a file. */
typedef struct step {
    const char *method;
    const char *file;
    long status;
} step;

typedef struct script {
    const step *steps;
    size_t n, next;
    hk_buf requests; /* every request, in order */
} script;

static int
hook(void *ud, const char *method, const char *request, char **resp, size_t *len, long *status)
{
    script *s = ud;
    if (s->next >= s->n)
        fail_msg("unexpected call %s (script has %zu steps)", method, s->n);
    const step *st = &s->steps[s->next++];
    if (strcmp(st->method, method) != 0)
        fail_msg("call %zu: got %s, want %s", s->next, method, st->method);
    hk_buf_printf(&s->requests, "=== %s\n%s\n", method, request);
    *resp = data(st->file, len);
    *status = st->status ? st->status : 200;
    return 0;
}

static h2k_vmware_options
fake_opts(void)
{
    h2k_vmware_options o = H2K_VMWARE_OPTIONS_INIT;
    o.host = "vc.example.test";
    o.user = "admin@vsphere.local";
    o.password = PASSWORD;
    o.max_objects = 2;
    return o;
}

/* ---------------------------------------------------------- building */

static void
test_escape_and_envelope(void **state)
{
    (void)state;
    hk_buf b = {0};
    hk_buf_xml_escape(&b, "a&b<c>\"d'e\x01"
                          "f");
    assert_string_equal(b.data, "a&amp;b&lt;c&gt;&quot;d&apos;e?f");
    hk_buf_free(&b);
    hk_vmw_buf_moref(&b, "_this", "Virtual<Machine", "vm-1&");
    assert_string_equal(b.data, "<_this type=\"Virtual&lt;Machine\">vm-1&amp;</_this>");
    char *env = hk_vmw_envelope(b.data);
    assert_non_null(strstr(env, "<soapenv:Body><_this type="));
    assert_non_null(strstr(env, "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\""));
    assert_true(hk_endswith_nocase(env, "</soapenv:Body></soapenv:Envelope>"));
    /* the envelope parses */
    xmlDocPtr d = xmlReadMemory(env, (int)strlen(env), "x", NULL, XML_PARSE_NONET);
    assert_non_null(d);
    xmlFreeDoc(d);
    free(env);
    hk_buf_free(&b);
}

static void
test_split_ds_path(void **state)
{
    (void)state;
    char *ds, *p;
    assert_int_equal(hk_vmw_split_ds_path("[LocalDS_0] vm/disk1.vmdk", &ds, &p), 0);
    assert_string_equal(ds, "LocalDS_0");
    assert_string_equal(p, "vm/disk1.vmdk");
    free(ds);
    free(p);
    assert_int_equal(hk_vmw_split_ds_path("[datastore 2]   a b/c.vmdk", &ds, &p), 0);
    assert_string_equal(ds, "datastore 2");
    assert_string_equal(p, "a b/c.vmdk");
    free(ds);
    free(p);
    assert_int_equal(hk_vmw_split_ds_path("[] x", &ds, &p), H2K_ERR_FORMAT);
    assert_int_equal(hk_vmw_split_ds_path("[ds]", &ds, &p), H2K_ERR_FORMAT);
    assert_int_equal(hk_vmw_split_ds_path("/vmfs/volumes/x", &ds, &p), H2K_ERR_FORMAT);
    assert_null(ds);
}

/* ---------------------------------------------------------- parsing */

static int
parse_file(h2k_ctx *ctx, const char *file, long status, const char *method, const char *secret,
           char **fault_type)
{
    size_t len;
    char *t = data(file, &len);
    hk_vmw_response r = {0};
    int rc = hk_vmw_soap_parse(ctx, t, len, status, "vc:443", method, secret, &r, fault_type);
    hk_vmw_response_clear(&r);
    free(t);
    return rc;
}

static void
test_faults(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    char *ft = NULL;
    ts_assert_rc(ctx, parse_file(ctx, "fault-invalid-login.xml", 500, "Login", NULL, &ft),
                 H2K_ERR_AUTHENTICATION);
    assert_string_equal(ft, "InvalidLogin");
    free(ft);
    assert_string_equal(h2k_ctx_last_error(ctx)->message,
                        "vc:443: Login: InvalidLogin: Cannot complete login due to an incorrect "
                        "user name or password.");
    ts_assert_rc(ctx,
                 parse_file(ctx, "fault-not-found.xml", 500, "RetrievePropertiesEx", NULL, NULL),
                 H2K_ERR_NOT_FOUND);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "ManagedObjectNotFound"));
    ts_assert_rc(ctx, parse_file(ctx, "fault-power-state.xml", 500, "ExportVm", NULL, NULL),
                 H2K_ERR_VALIDATION);
    assert_non_null(
        strstr(h2k_ctx_last_error(ctx)->message, "vc:443: ExportVm: InvalidPowerState"));
    /* type from the element name when xsi:type is missing */
    ts_assert_rc(ctx, parse_file(ctx, "fault-no-xsi-type.xml", 500, "ExportVm", NULL, &ft),
                 H2K_ERR_AUTHENTICATION);
    assert_string_equal(ft, "NotAuthenticated");
    free(ft);
    /* a server echoing the password: withheld */
    ts_assert_rc(ctx, parse_file(ctx, "fault-echo.xml", 500, "Login", PASSWORD, NULL),
                 H2K_ERR_VALIDATION);
    assert_null(strstr(h2k_ctx_last_error(ctx)->message, "Secret"));
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "<password>***</password>"));
    /* not SOAP */
    ts_assert_rc(ctx, parse_file(ctx, "http-503.html", 503, "Login", NULL, NULL),
                 H2K_ERR_CONNECTION);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "503"));
    ts_assert_rc(ctx, parse_file(ctx, "http-503.html", 200, "Login", NULL, NULL), H2K_ERR_FORMAT);
    ts_assert_rc(ctx, parse_file(ctx, "doctype.xml", 200, "Login", NULL, NULL), H2K_ERR_FORMAT);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "DOCTYPE"));
    /* the wrong response element */
    ts_assert_rc(ctx, parse_file(ctx, "login.xml", 200, "Logout", NULL, NULL), H2K_ERR_FORMAT);
    ts_assert_rc(ctx, parse_file(ctx, "login.xml", 200, "Login", NULL, NULL), 0);
    hk_vmw_response r = {0};
    ts_assert_rc(ctx, hk_vmw_soap_parse(ctx, "", 0, 502, "vc", "Login", NULL, &r, NULL),
                 H2K_ERR_CONNECTION);
    ts_assert_rc(ctx, hk_vmw_soap_parse(ctx, "<a", 2, 200, "vc", "Login", NULL, &r, NULL),
                 H2K_ERR_FORMAT);
    assert_int_equal(hk_vmw_fault_code("InvalidState"), H2K_ERR_VALIDATION);
    assert_int_equal(hk_vmw_fault_code("FileNotFound"), H2K_ERR_NOT_FOUND);
    assert_int_equal(hk_vmw_fault_code("SomethingElse"), H2K_ERR_GENERIC);
    assert_int_equal(hk_vmw_fault_code(NULL), H2K_ERR_GENERIC);
    h2k_ctx_free(ctx);
}

static xmlNodePtr
first_object(hk_vmw_response *r, h2k_ctx *ctx, const char *file, const char *method)
{
    size_t len;
    char *t = data(file, &len);
    ts_assert_rc(ctx, hk_vmw_soap_parse(ctx, t, len, 200, "vc", method, NULL, r, NULL), 0);
    free(t);
    return hk_vmw_child(hk_vmw_child(r->result, "returnval"), "objects");
}

static void
test_tasks_leases_manifest(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    hk_vmw_response r = {0};
    xmlNodePtr o = first_object(&r, ctx, "task-success.xml", "RetrievePropertiesEx");
    char *res = NULL;
    assert_int_equal(hk_vmw_parse_task_info(ctx, "vc", "snap", hk_vmw_obj_prop(o, "info"), &res),
                     1);
    assert_string_equal(res, "snapshot-3");
    free(res);
    hk_vmw_response_clear(&r);
    o = first_object(&r, ctx, "task-error.xml", "RetrievePropertiesEx");
    ts_assert_rc(ctx, hk_vmw_parse_task_info(ctx, "vc", "snap", hk_vmw_obj_prop(o, "info"), &res),
                 H2K_ERR_VALIDATION);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "InvalidPowerState"));
    assert_null(res);
    hk_vmw_response_clear(&r);

    o = first_object(&r, ctx, "lease-info.xml", "RetrievePropertiesEx");
    hk_vmw_device_url *u = NULL;
    size_t n = 0;
    ts_assert_rc(ctx, hk_vmw_parse_lease_info(ctx, "vc", hk_vmw_obj_prop(o, "info"), &u, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(u[0].url, "https://*/nfc/52a9/disk-0.vmdk");
    assert_string_equal(u[0].target_id, "disk-0.vmdk");
    assert_string_equal(u[0].key, "/vm-7/VirtualLsiLogicController0:0");
    assert_true(u[0].disk);
    assert_int_equal(u[0].file_size, 123456);
    assert_false(u[1].disk);
    assert_int_equal(u[1].file_size, -1);
    hk_vmw_device_urls_free(u, n);
    hk_vmw_response_clear(&r);

    size_t len;
    char *t = data("manifest.xml", &len);
    ts_assert_rc(ctx,
                 hk_vmw_soap_parse(ctx, t, len, 200, "vc", "HttpNfcLeaseGetManifest", NULL, &r,
                                   NULL),
                 0);
    free(t);
    hk_vmw_manifest_entry *m = NULL;
    ts_assert_rc(ctx, hk_vmw_parse_manifest(ctx, "vc", r.result, &m, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].sha1, "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3");
    assert_int_equal(m[0].size, 4);
    assert_string_equal(m[1].sha1, "0000000000000000000000000000000000000000");
    assert_int_equal(m[1].size, 7);
    hk_vmw_manifest_free(m, n);
    hk_vmw_response_clear(&r);
    h2k_ctx_free(ctx);
}

/* ---------------------------------------------------------- scripted client */

static void
test_list_paging(void **state)
{
    (void)state;
    static const step steps[] = {
        {"RetrieveServiceContent", "service-content.xml", 0},
        {"Login", "login.xml", 0},
        {"CreateContainerView", "create-view.xml", 0},
        {"RetrievePropertiesEx", "list-page1.xml", 0},
        {"ContinueRetrievePropertiesEx", "list-page2.xml", 0},
        {"ContinueRetrievePropertiesEx", "list-page3.xml", 0},
        {"DestroyView", "destroy-view.xml", 0},
        {"Logout", "logout.xml", 0},
    };
    script s = {steps, HK_ARRAY_LEN(steps), 0, {0}};
    h2k_ctx *ctx = ctx_capturing();
    h2k_vmware_options o = fake_opts();
    h2k_vmware_client *c = NULL;
    ts_assert_rc(ctx, hk_vmw_client_new_hooked(ctx, &o, hook, &s, &c), 0);
    assert_string_equal(h2k_vmware_client_api_type(c), "VirtualCenter");
    h2k_vmware_vm_info *v = NULL;
    size_t n = 0;
    ts_assert_rc(ctx, h2k_vmware_list_vms(c, &v, &n), 0);
    assert_int_equal(n, 5);
    assert_string_equal(v[0].name, "web01");
    assert_string_equal(v[0].power_state, "poweredOn");
    assert_string_equal(v[0].moref, "vm-1");
    assert_string_equal(v[0].path, "[ds1] web01/web01.vmx");
    assert_string_equal(v[1].name, "db & cache");
    assert_string_equal(v[2].power_state, "suspended");
    assert_string_equal(v[4].uuid, "4210aaaa-0000-0000-0000-000000000005");
    h2k_vmware_vm_list_free(v, n);
    h2k_vmware_client_free(c);
    assert_int_equal(s.next, s.n);
    const char *req = s.requests.data;
    /* the requests: escaped password, page size, the tokens in order, the view */
    assert_non_null(strstr(req, "<password>Top&amp;Secret1</password>"));
    assert_non_null(strstr(req, "<userName>admin@vsphere.local</userName>"));
    assert_non_null(strstr(req, "<maxObjects>2</maxObjects>"));
    const char *t1 = strstr(req, "<token>tok-1</token>");
    const char *t2 = strstr(req, "<token>tok-2</token>");
    assert_non_null(t1);
    assert_non_null(t2);
    assert_true(t1 < t2);
    assert_non_null(strstr(req, "<obj type=\"ContainerView\">session[52a9]view-1</obj>"));
    assert_non_null(strstr(req, "<container type=\"Folder\">group-d1</container>"));
    /* never in the logs */
    assert_non_null(logs.data);
    assert_null(strstr(logs.data, "Secret"));
    hk_buf_free(&logs);
    hk_buf_free(&s.requests);
    h2k_ctx_free(ctx);
}

static void
test_login_refused(void **state)
{
    (void)state;
    static const step steps[] = {
        {"RetrieveServiceContent", "service-content.xml", 0},
        {"Login", "fault-invalid-login.xml", 500},
    };
    script s = {steps, HK_ARRAY_LEN(steps), 0, {0}};
    h2k_ctx *ctx = ctx_capturing();
    h2k_vmware_options o = fake_opts();
    h2k_vmware_client *c = NULL;
    ts_assert_rc(ctx, hk_vmw_client_new_hooked(ctx, &o, hook, &s, &c), H2K_ERR_AUTHENTICATION);
    assert_null(c);
    const char *m = h2k_ctx_last_error(ctx)->message;
    assert_non_null(strstr(m, "vc.example.test"));
    assert_non_null(strstr(m, "Login"));
    assert_null(strstr(m, "Secret"));
    assert_int_equal(s.next, 2); /* no Logout after a refused login */
    hk_buf_free(&s.requests);
    hk_buf_free(&logs);
    /* bad options */
    o.host = "vc/evil";
    ts_assert_rc(ctx, hk_vmw_client_new_hooked(ctx, &o, hook, &s, &c), H2K_ERR_INVALID_ARG);
    o = fake_opts();
    o.thumbprint = "AA:BB";
    ts_assert_rc(ctx, hk_vmw_client_new_hooked(ctx, &o, hook, &s, &c), H2K_ERR_INVALID_ARG);
    o = fake_opts();
    o.password = NULL;
    ts_assert_rc(ctx, hk_vmw_client_new_hooked(ctx, &o, hook, &s, &c), H2K_ERR_INVALID_ARG);
    o = fake_opts();
    o.version = 99;
    ts_assert_rc(ctx, hk_vmw_client_new_hooked(ctx, &o, hook, &s, &c), H2K_ERR_INVALID_ARG);
    h2k_ctx_free(ctx);
}

static h2k_vm_spec *
describe_app01(h2k_ctx *ctx)
{
    static const step steps[] = {
        {"RetrieveServiceContent", "service-content.xml", 0},
        {"Login", "login.xml", 0},
        {"CreateContainerView", "create-view.xml", 0},
        {"RetrievePropertiesEx", "find-app01.xml", 0},
        {"DestroyView", "destroy-view.xml", 0},
        {"RetrievePropertiesEx", "vm-describe.xml", 0},
        {"RetrievePropertiesEx", "dvpg-name.xml", 0},
        {"Logout", "logout.xml", 0},
    };
    script s = {steps, HK_ARRAY_LEN(steps), 0, {0}};
    h2k_vmware_options o = fake_opts();
    h2k_vmware_client *c = NULL;
    ts_assert_rc(ctx, hk_vmw_client_new_hooked(ctx, &o, hook, &s, &c), 0);
    h2k_vm_spec *spec = NULL;
    ts_assert_rc(ctx, h2k_vmware_describe(c, "app01", &spec), 0);
    h2k_vmware_client_free(c);
    assert_int_equal(s.next, s.n);
    assert_non_null(
        strstr(s.requests.data, "<obj type=\"DistributedVirtualPortgroup\">dvportgroup-42</obj>"));
    assert_non_null(strstr(s.requests.data, "<pathSet>config.hardware</pathSet>"));
    hk_buf_free(&s.requests);
    return spec;
}

static void
test_describe(void **state)
{
    (void)state;
    h2k_ctx *ctx = ctx_capturing();
    h2k_vm_spec *s = describe_app01(ctx);
    assert_string_equal(s->name, "app01");
    assert_string_equal(s->uuid, "42101111-2222-3333-4444-555566667777");
    assert_string_equal(s->os_type, "rhel8_64Guest");
    assert_string_equal(s->source_type, "vsphere");
    assert_int_equal(s->vcpus, 4);
    assert_int_equal(s->cores_per_socket, 2);
    assert_int_equal(s->memory_bytes, UINT64_C(8192) << 20);
    assert_int_equal(s->firmware, H2K_FIRMWARE_UEFI);
    assert_int_equal(s->secure_boot, 1);
    assert_int_equal(s->vtpm, 1); /* the VirtualTPM device */
    assert_int_equal(s->n_disks, 6);
    static const struct {
        const char *ref;
        h2k_bus bus;
        const char *model;
        int index, unit;
        uint64_t cap;
    } want[] = {
        {"[datastore1] app01/app01.vmdk", H2K_BUS_SCSI, "pvscsi", 0, 0, UINT64_C(17179869184)},
        {"[datastore1] app01/app01_1.vmdk", H2K_BUS_SCSI, "lsilogic", 1, 3, UINT64_C(1) << 30},
        {"[datastore 2] app01/data & logs.vmdk", H2K_BUS_SCSI, "lsisas1068", 2, 1,
         UINT64_C(2) << 30},
        {"[datastore1] app01/app01_3.vmdk", H2K_BUS_SATA, "ahci", 0, 2, UINT64_C(4) << 20},
        {"[datastore1] app01/app01_4.vmdk", H2K_BUS_NVME, "nvme", 0, 0, UINT64_C(8) << 20},
        {"[datastore1] app01/app01_5.vmdk", H2K_BUS_IDE, "ide", 0, 1, UINT64_C(1) << 20},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(want); i++) {
        assert_string_equal(s->disks[i].file_ref, want[i].ref);
        assert_int_equal(s->disks[i].bus, want[i].bus);
        assert_string_equal(s->disks[i].controller_model, want[i].model);
        assert_int_equal(s->disks[i].controller_index, want[i].index);
        assert_int_equal(s->disks[i].unit, want[i].unit);
        assert_int_equal(s->disks[i].capacity, want[i].cap);
        assert_null(s->disks[i].path);
    }
    assert_int_equal(s->n_removables, 2);
    assert_string_equal(s->removables[0].kind, "cdrom");
    assert_int_equal(s->removables[0].bus, H2K_BUS_IDE);
    assert_int_equal(s->removables[0].slot, 2); /* ide1:0 */
    assert_string_equal(s->removables[0].path, "[iso] tools/linux.iso");
    assert_string_equal(s->removables[1].kind, "floppy");
    assert_int_equal(s->removables[1].bus, H2K_BUS_FLOPPY);
    assert_int_equal(s->n_nics, 4);
    static const char *const models[] = {"vmxnet3", "e1000e", "e1000", "vlance"};
    static const char *const nets[] = {"VM Network", "Prod VLAN 42", "DMZ", "Legacy"};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(s->nics[i].model, models[i]);
        assert_string_equal(s->nics[i].network, nets[i]);
        assert_int_equal(s->nics[i].is_bridge, 1);
    }
    assert_string_equal(s->nics[0].mac, "00:50:56:ab:cd:01");
    h2k_vm_spec_free(s);
    hk_buf_free(&logs);
    h2k_ctx_free(ctx);
}

/* A VM whose name and guest OS hold control characters: kept as sent, and
 * the warning shows them escaped. */
static void
test_vm_name_controls(void **state)
{
    (void)state;
    static const char xml[] =
        "<objects xmlns=\"urn:vim25\"><obj type=\"VirtualMachine\">vm-9</obj>"
        "<propSet><name>name</name><val>evil&#155;[2J&#8238;x</val></propSet>"
        "<propSet><name>config.guestId</name><val>os&#10;x</val></propSet></objects>";
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "vm.xml", NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    h2k_ctx *ctx = ctx_capturing();
    hk_vmw_vm vm;
    ts_assert_rc(ctx, hk_vmw_parse_vm(ctx, "vc", xmlDocGetRootElement(doc), &vm), 0);
    assert_string_equal(vm.spec->name, "evil\xc2\x9b[2J\xe2\x80\xaex");
    assert_string_equal(vm.spec->os_type, "os\nx");
    assert_non_null(logs.data);
    assert_non_null(strstr(logs.data, "name \"evil\\xc2\\x9b[2J\\xe2\\x80\\xaex\" holds control"));
    assert_non_null(strstr(logs.data, "guest OS \"os\\x0ax\" holds control"));
    assert_null(strstr(logs.data, "\xc2\x9b"));
    hk_vmw_vm_clear(&vm);
    xmlFreeDoc(doc);
    hk_buf_free(&logs);
    h2k_ctx_free(ctx);
}

static void
test_ovf_roundtrip(void **state)
{
    (void)state;
    h2k_ctx *ctx = ctx_capturing();
    h2k_vm_spec *s = describe_app01(ctx);
    char *dir = ts_mkdtemp();
    const char *hrefs[] = {"app01.vmdk",   "app01_1.vmdk", "disk3/data & logs.vmdk",
                           "app01_3.vmdk", "app01_4.vmdk", "app01_5.vmdk"};
    char *ovf = ts_join(dir, "app01.ovf");
    ts_assert_rc(ctx, hk_vmw_write_ovf(ctx, s, hrefs, NULL, ovf), 0);
    h2k_vm_spec *back = NULL;
    ts_assert_rc(ctx, h2k_ovf_parse_file(ctx, ovf, &back), 0);
    assert_string_equal(back->name, "app01");
    assert_string_equal(back->os_type, "rhel8_64Guest");
    assert_int_equal(back->vcpus, 4);
    assert_int_equal(back->cores_per_socket, 2);
    assert_int_equal(back->memory_bytes, s->memory_bytes);
    assert_int_equal(back->firmware, H2K_FIRMWARE_UEFI);
    assert_int_equal(back->secure_boot, 1);
    assert_int_equal(back->n_disks, 6);
    for (size_t i = 0; i < 6; i++) {
        char *p = ts_join(dir, hrefs[i]);
        assert_string_equal(back->disks[i].path, p);
        free(p);
        assert_int_equal(back->disks[i].capacity, s->disks[i].capacity);
        assert_int_equal(back->disks[i].bus, s->disks[i].bus);
        assert_int_equal(back->disks[i].unit, s->disks[i].unit);
        assert_int_equal(back->disks[i].controller_index, s->disks[i].controller_index);
        if (s->disks[i].bus != H2K_BUS_IDE)
            assert_string_equal(back->disks[i].controller_model, s->disks[i].controller_model);
    }
    assert_int_equal(back->n_nics, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(back->nics[i].mac, s->nics[i].mac);
        assert_string_equal(back->nics[i].model, s->nics[i].model);
        assert_string_equal(back->nics[i].network, s->nics[i].network);
    }
    assert_int_equal(back->n_removables, 2);
    assert_string_equal(back->removables[0].kind, "cdrom");
    assert_int_equal(back->removables[0].bus, H2K_BUS_IDE);
    h2k_vm_spec_free(back);
    /* streamOptimized hint */
    ts_assert_rc(ctx,
                 hk_vmw_write_ovf(ctx, s, hrefs,
                                  "http://www.vmware.com/interfaces/specifications/"
                                  "vmdk.html#streamOptimized",
                                  ovf),
                 0);
    ts_assert_rc(ctx, h2k_ovf_parse_file(ctx, ovf, &back), 0);
    assert_string_equal(back->disks[0].format_hint, "vmdk-streamOptimized");
    h2k_vm_spec_free(back);
    h2k_vm_spec_free(s);
    ts_rmtree(dir);
    free(dir);
    free(ovf);
    hk_buf_free(&logs);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_and_envelope),
        cmocka_unit_test(test_split_ds_path),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_tasks_leases_manifest),
        cmocka_unit_test(test_list_paging),
        cmocka_unit_test(test_login_refused),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_vm_name_controls),
        cmocka_unit_test(test_ovf_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
