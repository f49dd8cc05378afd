/*
 * Example: migrate a VM from Azure to KVM (the API document's Azure example):
 * an Azure client (service principal), then the orchestrator downloads the
 * VM's managed disks (only their allocated pages), repairs the guest, converts
 * to compressed qcow2 and writes the libvirt domain and the report.
 *
 *   cc azure_migrate.c $(pkg-config --cflags --libs hyper2kvm) -o azure_migrate
 *   AZURE_CLIENT_SECRET=... ./azure_migrate SUBSCRIPTION RESOURCE_GROUP VM TENANT CLIENT_ID \
 *       OUTPUT_DIR
 *   Optional: AZURE_AUTHORITY_HOST, AZURE_RESOURCE_MANAGER (sovereign clouds),
 *   AZURE_CA_FILE (a private CA).  The secret is read from the environment, never
 *   from the command line, and removed from the environment once read.
 *   ./azure_migrate --self-test   (checks a configuration; no network)
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hyper2kvm.h>

static int
self_test(void)
{
    h2k_ctx *ctx = NULL;
    if (h2k_ctx_new(&ctx) < 0)
        return 1;
    h2k_azure_config config = H2K_AZURE_CONFIG_INIT;
    config.subscription_id = "00000000-0000-0000-0000-000000000000";
    config.resource_group = "my-rg";
    config.vm_name = "ubuntu-vm-01";
    config.tenant_id = "your-tenant-id";
    config.client_id = "your-client-id";
    h2k_azure_client *provider = NULL;
    /* no secret: refused, naming the missing setting */
    int bad = h2k_azure_client_new(ctx, &config, &provider);
    const char *field = h2k_ctx_last_error(ctx)->field;
    int ok = bad == H2K_ERR_INVALID_ARG && field && strcmp(field, "client_secret") == 0;
    config.client_secret = "example-secret";
    ok = ok && h2k_azure_client_new(ctx, &config, &provider) == 0;
    h2k_azure_client_free(provider);
    h2k_ctx_free(ctx);
    return ok ? 0 : 1;
}

int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--self-test") == 0)
        return self_test();
    if (argc != 7) {
        fprintf(stderr,
                "usage: AZURE_CLIENT_SECRET=... %s SUBSCRIPTION RESOURCE_GROUP VM TENANT "
                "CLIENT_ID OUTPUT_DIR\n",
                argv[0]);
        return 2;
    }
    const char *env = getenv("AZURE_CLIENT_SECRET");
    if (!env || !*env) {
        fprintf(stderr, "AZURE_CLIENT_SECRET is not set\n");
        return 2;
    }
    char *secret = strdup(env);
    unsetenv("AZURE_CLIENT_SECRET"); /* no child process inherits it */
    if (!secret)
        return 1;

    h2k_ctx *ctx = NULL;
    if (h2k_ctx_new(&ctx) < 0)
        return 1;

    /* Configure the Azure source */
    h2k_azure_config config = H2K_AZURE_CONFIG_INIT;
    config.subscription_id = argv[1];
    config.resource_group = argv[2];
    config.vm_name = argv[3];
    config.tenant_id = argv[4];
    config.client_id = argv[5];
    config.client_secret = secret;
    config.authority_host = getenv("AZURE_AUTHORITY_HOST");
    config.resource_manager = getenv("AZURE_RESOURCE_MANAGER");
    config.ca_file = getenv("AZURE_CA_FILE");

    /* Initialise the provider */
    h2k_azure_client *provider = NULL;
    int rc = h2k_azure_client_new(ctx, &config, &provider);
    memset(secret, 0, strlen(secret));
    free(secret);

    /* Run the full migration */
    h2k_migration_result *result = NULL;
    if (rc == 0) {
        h2k_run_options opts = H2K_RUN_OPTIONS_INIT;
        opts.azure = provider;
        opts.output_dir = argv[6];
        opts.compress = 1;
        opts.fixes = H2K_FIX_ALL; /* apply_fixes=True */
        rc = h2k_orchestrator_run(ctx, &opts, &result);
    }
    if (rc < 0) {
        const h2k_error *e = h2k_ctx_last_error(ctx);
        fprintf(stderr, "migration failed at %s [%s]: %s\n", e->stage ? e->stage : "?",
                h2k_code_name(rc), e->message);
    } else {
        printf("Migration complete!\n");
        printf("  Source: %s\n", result->n_sources ? result->sources[0] : "?");
        printf("  Output: %s\n", result->n_outputs ? result->outputs[0].path : "?");
        printf("  Fixes:  %zu\n", result->n_fixes);
    }
    h2k_migration_result_free(result);
    h2k_azure_client_free(provider);
    h2k_ctx_free(ctx);
    return rc < 0 ? 1 : 0;
}
