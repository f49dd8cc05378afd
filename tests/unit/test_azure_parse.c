/*
 * Unit tests of the Azure parsers (no network): VM, instance view, disk, NIC,
 * sizes, token, grant, async operation, error bodies, page lists, MACs,
 * resource ids, URL redaction, and the client's settings checks.
 */
#include <stdlib.h>
#include <string.h>

#include "providers/azure/az_internal.h"
#include "testsupport.h"

#define ID "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/disks/"

static json_object *
parse(h2k_ctx *ctx, const char *text)
{
    json_object *o = NULL;
    assert_int_equal(hk_az_json_parse(ctx, "test", text, strlen(text), &o), 0);
    return o;
}

static const char vm_json[] =
    "{\"name\":\"vm1\",\"id\":\"/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/"
    "virtualMachines/vm1\",\"location\":\"westeurope\",\"properties\":{"
    "\"hardwareProfile\":{\"vmSize\":\"Standard_D4s_v5\"},"
    "\"storageProfile\":{\"osDisk\":{\"osType\":\"Windows\",\"name\":\"os\","
    "\"managedDisk\":{\"id\":\"" ID "os\"}},\"dataDisks\":["
    "{\"lun\":3,\"name\":\"d3\",\"managedDisk\":{\"id\":\"" ID "d3\"}},"
    "{\"lun\":0,\"name\":\"d0\",\"managedDisk\":{\"id\":\"" ID "d0\"}}]},"
    "\"networkProfile\":{\"networkInterfaces\":[{\"id\":\"/subscriptions/s/resourceGroups/g/"
    "providers/Microsoft.Network/networkInterfaces/nic-a\",\"properties\":{\"primary\":true}}]}}}";

static void
test_vm(void **state)
{
    ts_fixture *f = *state;
    json_object *o = parse(f->ctx, vm_json);
    h2k_azure_vm vm;
    memset(&vm, 0, sizeof(vm));
    assert_int_equal(hk_az_parse_vm(f->ctx, "test", o, &vm), 0);
    assert_string_equal(vm.name, "vm1");
    assert_string_equal(vm.vm_size, "Standard_D4s_v5");
    assert_string_equal(vm.os_type, "Windows");
    assert_int_equal(vm.n_disks, 3);
    assert_int_equal(vm.disks[0].lun, -1);
    assert_string_equal(vm.disks[1].name, "d0"); /* sorted by LUN */
    assert_int_equal(vm.disks[2].lun, 3);
    assert_int_equal(vm.n_nics, 1);
    assert_string_equal(vm.nics[0].name, "nic-a");
    assert_int_equal(vm.nics[0].primary, 1);
    /* no generation recorded, no security type: BIOS */
    assert_int_equal(hk_az_build_spec(f->ctx, &vm, false), 0);
    assert_int_equal(vm.spec->firmware, H2K_FIRMWARE_BIOS);
    assert_int_equal(vm.spec->n_disks, 3);
    assert_int_equal(vm.spec->disks[2].unit, 3);
    assert_int_equal(vm.spec->disks[0].bus, H2K_BUS_SCSI);
    /* a V2 OS disk: UEFI */
    vm.disks[0].hyperv_generation = strdup("V2");
    assert_int_equal(hk_az_build_spec(f->ctx, &vm, true), 0);
    assert_int_equal(vm.spec->firmware, H2K_FIRMWARE_UEFI);
    assert_int_equal(vm.spec->secure_boot, 1);
    hk_az_vm_clear(&vm);
    json_object_put(o);
}

static void
test_vm_bad(void **state)
{
    ts_fixture *f = *state;
    static const char *const bad[] = {
        "{\"name\":\"v\"}",
        "{\"name\":\"v\",\"properties\":{\"storageProfile\":{\"osDisk\":{\"name\":\"x\","
        "\"vhd\":{\"uri\":\"https://a/b.vhd\"}}}}}",
        "{\"name\":\"v\",\"properties\":{\"storageProfile\":{\"dataDisks\":[{\"name\":\"x\","
        "\"managedDisk\":{\"id\":\"" ID "x\"}}]}}}",
        "{\"name\":\"v\",\"properties\":{\"storageProfile\":{\"osDisk\":{\"name\":\"x\","
        "\"managedDisk\":{\"id\":\"/subscriptions/../../etc\"}}}}}",
        "{\"name\":\"v\",\"properties\":{\"storageProfile\":{\"dataDisks\":["
        "{\"lun\":1,\"managedDisk\":{\"id\":\"" ID "a\"}},"
        "{\"lun\":1,\"managedDisk\":{\"id\":\"" ID "b\"}}]}}}",
        "{\"name\":\"v\\u0001\",\"properties\":{}}",
    };
    static const int codes[] = {H2K_ERR_FORMAT, H2K_ERR_UNSUPPORTED, H2K_ERR_FORMAT,
                                H2K_ERR_FORMAT, H2K_ERR_FORMAT,      H2K_ERR_FORMAT};
    for (size_t i = 0; i < HK_ARRAY_LEN(bad); i++) {
        json_object *o = parse(f->ctx, bad[i]);
        h2k_azure_vm vm;
        memset(&vm, 0, sizeof(vm));
        assert_int_equal(hk_az_parse_vm(f->ctx, "GET VM v", o, &vm), codes[i]);
        assert_non_null(strstr(h2k_ctx_last_error(f->ctx)->message, "GET VM v"));
        hk_az_vm_clear(&vm);
        json_object_put(o);
    }
    json_object *o = NULL;
    assert_int_equal(hk_az_json_parse(f->ctx, "x", "{\"a\":1} x", 9, &o), H2K_ERR_FORMAT);
    assert_int_equal(hk_az_json_parse(f->ctx, "x", "[1]", 3, &o), H2K_ERR_FORMAT);
    assert_int_equal(hk_az_json_parse(f->ctx, "x", "{\"a\":", 5, &o), H2K_ERR_FORMAT);
    assert_null(o);
}

static void
test_resources(void **state)
{
    ts_fixture *f = *state;
    json_object *o = parse(f->ctx, "{\"statuses\":[{\"code\":\"ProvisioningState/succeeded\"},"
                                   "{\"code\":\"PowerState/running\"}]}");
    char *ps = NULL;
    assert_int_equal(hk_az_parse_power_state(f->ctx, "t", o, &ps), 0);
    assert_string_equal(ps, "running");
    free(ps);
    json_object_put(o);

    o = parse(f->ctx, "{\"properties\":{\"diskSizeBytes\":34359738368,\"diskState\":\"Reserved\","
                      "\"hyperVGeneration\":\"V1\",\"osType\":\"Linux\"}}");
    h2k_azure_disk d;
    memset(&d, 0, sizeof(d));
    assert_int_equal(hk_az_parse_disk(f->ctx, "t", o, &d), 0);
    assert_int_equal(d.size_bytes, 32ull << 30);
    assert_string_equal(d.disk_state, "Reserved");
    assert_string_equal(d.hyperv_generation, "V1");
    hk_az_disk_clear(&d);
    json_object_put(o);
    o = parse(f->ctx, "{\"properties\":{\"diskSizeBytes\":1000}}");
    assert_int_equal(hk_az_parse_disk(f->ctx, "t", o, &d), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(f->ctx)->field, "properties.diskSizeBytes");
    hk_az_disk_clear(&d);
    json_object_put(o);

    o = parse(f->ctx, "{\"properties\":{\"macAddress\":\"00-0D-3A-AB-cd-EF\",\"ipConfigurations\":"
                      "[{\"properties\":{\"privateIPAddress\":\"10.1.2.3\"}}]}}");
    h2k_azure_nic n;
    memset(&n, 0, sizeof(n));
    assert_int_equal(hk_az_parse_nic(f->ctx, "t", o, &n), 0);
    assert_string_equal(n.mac, "00:0d:3a:ab:cd:ef");
    assert_string_equal(n.private_ip, "10.1.2.3");
    hk_az_nic_clear(&n);
    json_object_put(o);

    o = parse(f->ctx,
              "{\"value\":[{\"name\":\"Standard_B1s\",\"numberOfCores\":1,\"memoryInMB\":"
              "1024},{\"name\":\"Standard_D4s_v5\",\"numberOfCores\":4,\"memoryInMB\":16384}]}");
    unsigned cpus = 0;
    uint64_t mem = 0;
    assert_int_equal(hk_az_parse_vm_size(f->ctx, "t", o, "standard_d4s_v5", &cpus, &mem), 0);
    assert_int_equal(cpus, 4);
    assert_int_equal(mem, 16ull << 30);
    assert_int_equal(hk_az_parse_vm_size(f->ctx, "t", o, "Standard_X", &cpus, &mem),
                     H2K_ERR_NOT_FOUND);
    json_object_put(o);
}

static void
test_token_grant_operation(void **state)
{
    ts_fixture *f = *state;
    static const char tok[] = "{\"token_type\":\"Bearer\",\"expires_in\":\"3599\","
                              "\"access_token\":\"abc.def\"}";
    char *t = NULL;
    long exp = 0;
    assert_int_equal(hk_az_parse_token(f->ctx, tok, strlen(tok), 1000, &t, &exp), 0);
    assert_string_equal(t, "abc.def");
    assert_int_equal(exp, 4599);
    free(t);
    static const char mi[] = "{\"access_token\":\"x\",\"expires_on\":\"5000\","
                             "\"token_type\":\"Bearer\"}";
    assert_int_equal(hk_az_parse_token(f->ctx, mi, strlen(mi), 1000, &t, &exp), 0);
    assert_int_equal(exp, 5000);
    free(t);
    static const char notok[] = "{\"token_type\":\"Bearer\",\"expires_in\":3599}";
    assert_int_equal(hk_az_parse_token(f->ctx, notok, strlen(notok), 1000, &t, &exp),
                     H2K_ERR_FORMAT);

    json_object *o = parse(f->ctx, "{\"accessSAS\":\"https://a.blob/x/y?sv=1&sig=S\"}");
    char *sas = NULL;
    assert_int_equal(hk_az_parse_sas(f->ctx, "t", o, &sas), 0);
    assert_string_equal(sas, "https://a.blob/x/y?sv=1&sig=S");
    free(sas);
    json_object_put(o);
    o = parse(f->ctx, "{\"status\":\"Succeeded\",\"properties\":{\"output\":{\"accessSAS\":"
                      "\"https://b/c?sig=T\"}}}");
    assert_int_equal(hk_az_parse_sas(f->ctx, "t", o, &sas), 0);
    assert_string_equal(sas, "https://b/c?sig=T");
    free(sas);
    assert_int_equal(hk_az_parse_operation(f->ctx, "t", o), 1);
    json_object_put(o);
    o = parse(f->ctx, "{\"accessSAS\":\"http://plain/x?sig=1\"}");
    assert_int_equal(hk_az_parse_sas(f->ctx, "t", o, &sas), H2K_ERR_FORMAT);
    assert_null(strstr(h2k_ctx_last_error(f->ctx)->message, "sig="));
    json_object_put(o);
    o = parse(f->ctx, "{\"status\":\"InProgress\"}");
    assert_int_equal(hk_az_parse_operation(f->ctx, "t", o), 0);
    json_object_put(o);
    o = parse(f->ctx,
              "{\"status\":\"Failed\",\"error\":{\"code\":\"Conflict\",\"message\":\"m\"}}");
    assert_int_equal(hk_az_parse_operation(f->ctx, "op", o), H2K_ERR_VALIDATION);
    assert_non_null(strstr(h2k_ctx_last_error(f->ctx)->message, "Conflict: m"));
    json_object_put(o);
}

static void
test_errors(void **state)
{
    (void)state;
    char *code, *msg;
    static const char arm[] = "{\"error\":{\"code\":\"ResourceNotFound\",\"message\":\"gone\n\"}}";
    hk_az_parse_error(arm, strlen(arm), &code, &msg);
    assert_string_equal(code, "ResourceNotFound");
    assert_string_equal(msg, "gone "); /* one line */
    free(code);
    free(msg);
    static const char aad[] =
        "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: "
        "Invalid client secret provided.\"}";
    hk_az_parse_error(aad, strlen(aad), &code, &msg);
    assert_string_equal(code, "invalid_client");
    assert_non_null(strstr(msg, "AADSTS7000215"));
    free(code);
    free(msg);
    hk_az_parse_error("<html>", 6, &code, &msg);
    assert_null(code);
    assert_null(msg);
    assert_int_equal(hk_az_status_code(401), H2K_ERR_AUTHENTICATION);
    assert_int_equal(hk_az_status_code(403), H2K_ERR_AUTHENTICATION);
    assert_int_equal(hk_az_status_code(404), H2K_ERR_NOT_FOUND);
    assert_int_equal(hk_az_status_code(409), H2K_ERR_VALIDATION);
    assert_int_equal(hk_az_status_code(400), H2K_ERR_VALIDATION);
    assert_int_equal(hk_az_status_code(503), H2K_ERR_CONNECTION);
}

static void
test_pagelist(void **state)
{
    ts_fixture *f = *state;
    static const char xml[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<PageList>"
                              "<PageRange><Start>0</Start><End>511</End></PageRange>"
                              "<PageRange><Start>512</Start><End>1023</End></PageRange>"
                              "<ClearRange><Start>1024</Start><End>4095</End></ClearRange>"
                              "<PageRange><Start>1048576</Start><End>2097151</End></PageRange>"
                              "<NextMarker>2!88!MDAwMDI5</NextMarker></PageList>";
    hk_az_range *r = NULL;
    size_t n = 0, cap = 0;
    char *m = NULL;
    assert_int_equal(hk_az_parse_pagelist(f->ctx, "t", xml, strlen(xml), 4 << 20, &r, &n, &cap, &m),
                     0);
    assert_int_equal(n, 2); /* adjacent ranges merged */
    assert_int_equal(r[0].end, 1023);
    assert_int_equal(r[1].start, 1048576);
    assert_string_equal(m, "2!88!MDAwMDI5");
    free(m);
    static const char xml2[] = "<PageList><PageRange><Start>3145728</Start><End>3146239</End>"
                               "</PageRange><NextMarker /></PageList>";
    assert_int_equal(hk_az_parse_pagelist(f->ctx, "t", xml2, strlen(xml2), 4 << 20, &r, &n, &cap,
                                          &m),
                     0);
    assert_int_equal(n, 3);
    assert_null(m);
    free(r);
    static const char *const bad[] = {
        "<PageList><PageRange><Start>1</Start><End>511</End></PageRange></PageList>",
        "<PageList><PageRange><Start>0</Start><End>510</End></PageRange></PageList>",
        "<PageList><PageRange><Start>0</Start><End>8388607</End></PageRange></PageList>",
        "<PageList><PageRange><Start>512</Start><End>1023</End></PageRange>"
        "<PageRange><Start>0</Start><End>511</End></PageRange></PageList>",
        "<PageList><PageRange><Start>0</Start></PageRange></PageList>",
        "<PageList><PageRange><Start>0</Start><End>511</End></PageRange>",
        "<Error><Code>AuthenticationFailed</Code></Error>",
        "<PageList><Foo/></PageList>",
        "<PageList><PageRange><Start>99999999999999999999999</Start><End>511</End></PageRange>"
        "</PageList>",
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(bad); i++) {
        r = NULL;
        n = cap = 0;
        assert_int_equal(hk_az_parse_pagelist(f->ctx, "pages of d", bad[i], strlen(bad[i]), 4 << 20,
                                              &r, &n, &cap, &m),
                         H2K_ERR_FORMAT);
        assert_non_null(strstr(h2k_ctx_last_error(f->ctx)->message, "pages of d"));
        free(r);
        free(m);
        m = NULL;
    }
}

static void
test_helpers(void **state)
{
    (void)state;
    char *s = hk_az_normalize_mac("000D3A112233");
    assert_string_equal(s, "00:0d:3a:11:22:33");
    free(s);
    assert_null(hk_az_normalize_mac("00-0D-3A-11-22"));
    assert_null(hk_az_normalize_mac("00-0D-3A-11-22-33-44"));
    assert_null(hk_az_normalize_mac("zz-0D-3A-11-22-33"));
    assert_true(hk_az_id_ok(ID "os"));
    assert_false(hk_az_id_ok("/subscriptions/s/../x"));
    assert_false(hk_az_id_ok(ID "os?api-version=1"));
    assert_false(hk_az_id_ok("https://evil/subscriptions/x"));
    assert_false(hk_az_id_ok(ID "a b"));
    assert_false(hk_az_id_ok(ID "%2e%2e"));
    s = hk_az_redact("https://acct.blob.core.windows.net/c/d.vhd?sv=2018&sig=SECRET");
    assert_string_equal(s, "https://acct.blob.core.windows.net/c/d.vhd?<query withheld>");
    free(s);
    s = hk_az_redact("https://h/p");
    assert_string_equal(s, "https://h/p");
    free(s);
}

static void
test_config(void **state)
{
    ts_fixture *f = *state;
    h2k_azure_config cfg = H2K_AZURE_CONFIG_INIT;
    h2k_azure_client *c = NULL;
    assert_int_equal(h2k_azure_client_new(f->ctx, &cfg, &c), H2K_ERR_INVALID_ARG);
    assert_string_equal(h2k_ctx_last_error(f->ctx)->field, "subscription_id");
    cfg.subscription_id = "sub";
    cfg.resource_group = "rg";
    assert_int_equal(h2k_azure_client_new(f->ctx, &cfg, &c), H2K_ERR_INVALID_ARG);
    assert_string_equal(h2k_ctx_last_error(f->ctx)->field, "tenant_id");
    cfg.tenant_id = "t";
    cfg.client_id = "c";
    assert_int_equal(h2k_azure_client_new(f->ctx, &cfg, &c), H2K_ERR_INVALID_ARG);
    assert_string_equal(h2k_ctx_last_error(f->ctx)->field, "client_secret");
    cfg.client_secret = "x";
    cfg.resource_manager = "http://127.0.0.1:1";
    assert_int_equal(h2k_azure_client_new(f->ctx, &cfg, &c), H2K_ERR_INVALID_ARG);
    assert_string_equal(h2k_ctx_last_error(f->ctx)->field, "resource_manager");
    cfg.resource_manager = "https://user@host";
    assert_int_equal(h2k_azure_client_new(f->ctx, &cfg, &c), H2K_ERR_INVALID_ARG);
    cfg.resource_manager = "https://127.0.0.1:1/";
    cfg.resource_group = "rg/../x";
    assert_int_equal(h2k_azure_client_new(f->ctx, &cfg, &c), H2K_ERR_INVALID_ARG);
    cfg.resource_group = "rg";
    cfg.version = 99;
    assert_int_equal(h2k_azure_client_new(f->ctx, &cfg, &c), H2K_ERR_INVALID_ARG);
    cfg.version = H2K_AZURE_CONFIG_VERSION;
    assert_int_equal(h2k_azure_client_new(f->ctx, &cfg, &c), 0);
    assert_string_equal(c->arm, "https://127.0.0.1:1");
    char *u = hk_az_arm_url(c, "/subscriptions/sub/x", "2024-07-01");
    assert_string_equal(u, "https://127.0.0.1:1/subscriptions/sub/x?api-version=2024-07-01");
    free(u);
    h2k_azure_client_free(c);
    cfg.auth = H2K_AZURE_AUTH_MANAGED_IDENTITY;
    cfg.tenant_id = cfg.client_id = cfg.client_secret = NULL;
    assert_int_equal(h2k_azure_client_new(f->ctx, &cfg, &c), 0);
    h2k_azure_client_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vm, ts_fixture_setup, ts_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_vm_bad, ts_fixture_setup, ts_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_resources, ts_fixture_setup, ts_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_token_grant_operation, ts_fixture_setup,
                                        ts_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_errors, ts_fixture_setup, ts_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_pagelist, ts_fixture_setup, ts_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_helpers, ts_fixture_setup, ts_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_config, ts_fixture_setup, ts_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
