/*
 * Fuzz target: the Azure parsers of what the resource manager, the token
 * endpoint and the blob service return: VM (and the spec made from it),
 * instance view, disk, NIC, VM sizes, token, access grant, async operation,
 * error bodies, and the Get Page Ranges XML.  The first byte picks the parser.
 */
#include "fuzz_common.h"

#include <string.h>

#include "providers/azure/az_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    h2k_ctx *ctx = NULL;
    if (h2k_ctx_new(&ctx) < 0)
        return 0;
    unsigned which = data[0] % 10;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    if (which == 9) {
        hk_az_range *r = NULL;
        size_t n = 0, cap = 0;
        char *marker = NULL;
        hk_az_parse_pagelist(ctx, "fuzz", body, len, UINT64_C(1) << 40, &r, &n, &cap, &marker);
        free(r);
        free(marker);
    } else if (which == 8) {
        char *code = NULL, *msg = NULL;
        hk_az_parse_error(body, len, &code, &msg);
        free(code);
        free(msg);
    } else if (which == 5) {
        char *tok = NULL;
        long exp = 0;
        if (hk_az_parse_token(ctx, body, len, 1700000000, &tok, &exp) == 0)
            free(tok);
    } else {
        json_object *o = NULL;
        if (hk_az_json_parse(ctx, "fuzz", body, len, &o) == 0) {
            switch (which) {
            case 0: {
                h2k_azure_vm vm;
                memset(&vm, 0, sizeof(vm));
                if (hk_az_parse_vm(ctx, "fuzz", o, &vm) == 0 &&
                    hk_az_build_spec(ctx, &vm, hk_az_vm_secure_boot(o)) == 0) {
                    char *j = h2k_vm_spec_to_json(vm.spec);
                    free(j);
                }
                hk_az_vm_clear(&vm);
                break;
            }
            case 1: {
                char *st = NULL;
                hk_az_parse_power_state(ctx, "fuzz", o, &st);
                free(st);
                break;
            }
            case 2: {
                h2k_azure_disk d;
                memset(&d, 0, sizeof(d));
                hk_az_parse_disk(ctx, "fuzz", o, &d);
                hk_az_disk_clear(&d);
                break;
            }
            case 3: {
                h2k_azure_nic n;
                memset(&n, 0, sizeof(n));
                hk_az_parse_nic(ctx, "fuzz", o, &n);
                hk_az_nic_clear(&n);
                break;
            }
            case 4: {
                unsigned cpus = 0;
                uint64_t mem = 0;
                hk_az_parse_vm_size(ctx, "fuzz", o, "Standard_B2s", &cpus, &mem);
                break;
            }
            case 6: {
                char *sas = NULL;
                if (hk_az_parse_sas(ctx, "fuzz", o, &sas) == 0)
                    free(sas);
                break;
            }
            default:
                hk_az_parse_operation(ctx, "fuzz", o);
            }
            json_object_put(o);
        }
    }
    h2k_ctx_free(ctx);
    return 0;
}
