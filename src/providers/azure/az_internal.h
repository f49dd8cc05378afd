/*
 * Internals of the Azure client.  Never installed.
 *
 *   parse.c     ARM JSON -> VM, disk, NIC, size, token, error, SAS (pure, fuzzed)
 *   pagelist.c  Get Page Ranges XML -> ranges (pure, fuzzed)
 *   http.c      libcurl requests: TLS, retry with back-off, error mapping, redaction
 *   auth.c      OAuth2 tokens (client credentials, managed identity), cached
 *   arm.c       ARM calls with pinned api-versions and async-operation polling
 *   client.c    client, list and describe
 *   download.c  disk access grants and the sparse, resumable page-blob download
 */
#ifndef HK_AZ_INTERNAL_H
#define HK_AZ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "core/internal.h"
#include "hyper2kvm/h2k_azure.h"

#define HK_AZ_DOMAIN "azure"
#define HK_AZ_API_COMPUTE "2024-07-01"
#define HK_AZ_API_DISK "2023-10-02"
#define HK_AZ_API_NETWORK "2024-05-01"
#define HK_AZ_STORAGE_VERSION "2021-12-02"
/* Largest ARM response accepted. */
#define HK_AZ_MAX_RESPONSE (16u << 20)
/* Largest number of disks / NICs of one VM, of VMs listed, of page ranges. */
#define HK_AZ_MAX_ITEMS 1024u
#define HK_AZ_MAX_VMS 100000u
#define HK_AZ_MAX_RANGES 10000000u

/* ------------------------------------------------------------ parse.c */

/* Parses @len bytes of JSON into an object (*out, caller puts); FORMAT error naming @what. */
int hk_az_json_parse(h2k_ctx *ctx, const char *what, const char *body, size_t len,
                     json_object **out);

/* {"error":{"code","message"}} (ARM) or {"error":"x","error_description":"AADSTS.."}
 * (token endpoint): *code and *message (caller frees, NULL when absent). */
void hk_az_parse_error(const char *body, size_t len, char **code, char **message);

/* The h2k_code for an HTTP status of an ARM or token call. */
int hk_az_status_code(long status);

/* Token response: access_token and its lifetime (expires_in, a number or a
 * string; or expires_on, absolute, with @now).  *token caller wipes and frees. */
int hk_az_parse_token(h2k_ctx *ctx, const char *body, size_t len, long now, char **token,
                      long *expires_at);

/* A VM resource (GET virtualMachines/NAME) into @vm (disks: names, ids, LUNs;
 * NICs: ids, primary).  Strings owned by @vm. */
int hk_az_parse_vm(h2k_ctx *ctx, const char *what, json_object *o, h2k_azure_vm *vm);
/* instanceView: the "PowerState/x" status -> "x" (caller frees) or NULL. */
int hk_az_parse_power_state(h2k_ctx *ctx, const char *what, json_object *o, char **state);
/* secure boot flag of a VM resource (securityProfile.uefiSettings.secureBootEnabled). */
bool hk_az_vm_secure_boot(json_object *vm);
/* A disk resource into @d (size, state, generation, os type). */
int hk_az_parse_disk(h2k_ctx *ctx, const char *what, json_object *o, h2k_azure_disk *d);
/* A NIC resource into @n (MAC normalised "00:0d:3a:..", private IP). */
int hk_az_parse_nic(h2k_ctx *ctx, const char *what, json_object *o, h2k_azure_nic *n);
/* A vmSizes list: cores and memory of the size @name; 0 when found, NOT_FOUND if not. */
int hk_az_parse_vm_size(h2k_ctx *ctx, const char *what, json_object *o, const char *name,
                        unsigned *vcpus, uint64_t *memory_bytes);
/* The SAS of a grant (accessSAS, or properties.output.accessSAS); caller wipes. */
int hk_az_parse_sas(h2k_ctx *ctx, const char *what, json_object *o, char **sas);
/* Async operation status ("InProgress", "Succeeded", "Failed", "Canceled"): 1 done,
 * 0 running, negative h2k_code recorded for a failure (its error object). */
int hk_az_parse_operation(h2k_ctx *ctx, const char *what, json_object *o);
/* "00-0D-3A-AB-CD-EF" or "000D3AABCDEF" -> "00:0d:3a:ab:cd:ef"; NULL when malformed. */
char *hk_az_normalize_mac(const char *s);
/* Last segment of a resource id ("/.../disks/NAME" -> "NAME"); caller frees. */
char *hk_az_id_name(const char *id);
/* True when @id is a well-formed ARM resource id (starts "/subscriptions/", no
 * '?', '#', "..", control characters or spaces). */
bool hk_az_id_ok(const char *id);
/* Fills vm->spec from the other fields. */
int hk_az_build_spec(h2k_ctx *ctx, h2k_azure_vm *vm, bool secure_boot);
void hk_az_disk_clear(h2k_azure_disk *d);
void hk_az_nic_clear(h2k_azure_nic *n);
void hk_az_vm_clear(h2k_azure_vm *vm);

/* ------------------------------------------------------------ pagelist.c */

typedef struct hk_az_range {
    uint64_t start;
    uint64_t end; /* inclusive */
} hk_az_range;

/* Appends the ranges of one Get Page Ranges response to (*r, *n, *cap); every
 * range must be 512-aligned, ordered, non-overlapping and below @blob_size.
 * *next_marker gets the NextMarker (caller frees) or NULL.  FORMAT errors name @what. */
int hk_az_parse_pagelist(h2k_ctx *ctx, const char *what, const char *xml, size_t len,
                         uint64_t blob_size, hk_az_range **r, size_t *n, size_t *cap,
                         char **next_marker);

/* ------------------------------------------------------------ http.c */

typedef struct hk_az_resp {
    long status;
    char *body;
    size_t len;
    char *location;          /* Location header, or NULL */
    char *async_op;          /* Azure-AsyncOperation header, or NULL */
    long retry_after;        /* seconds, -1 when absent */
    uint64_t content_length; /* HEAD: Content-Length, or UINT64_MAX */
    char *etag;
    char *blob_type; /* x-ms-blob-type */
} hk_az_resp;
void hk_az_resp_clear(hk_az_resp *r);

/* "https://host/path?<query withheld>": @url without its query, for messages
 * (caller frees; never NULL-unsafe: "<url>" on allocation failure is static). */
char *hk_az_redact(const char *url);

/* Applies TLS settings and timeouts to @e. */
void hk_az_setup_easy(h2k_azure_client *c, CURL *e);

/* Records a libcurl failure "WHAT: URL(redacted): ..." (TLS: how to trust). */
int hk_az_curl_error(h2k_azure_client *c, CURLcode cc, const char *what, const char *url,
                     const char *errbuf);

typedef struct hk_az_req {
    const char *method; /* "GET", "POST", "PUT", "DELETE", "HEAD" */
    const char *url;
    const char *what; /* names the call in messages ("GET VM vm1") */
    const char *body; /* request body or NULL */
    const char *content_type;
    const char *bearer;         /* Authorization: Bearer, or NULL */
    const char *const *headers; /* extra headers, NULL-terminated, or NULL */
    bool retry;                 /* retry 429/5xx and network failures */
    bool no_cancel;             /* runs even when the context is cancelled (clean-up) */
    bool allow_http;            /* plain http allowed (the instance metadata service) */
} hk_az_req;

/* Performs @q; 2xx and 3xx are returned in @out; other statuses are recorded
 * ("WHAT: HTTP 404 Code: message") with the mapped code after the retries. */
int hk_az_http(h2k_azure_client *c, const hk_az_req *q, hk_az_resp *out);

/* Sleeps @seconds in short steps; H2K_ERR_CANCELLED when cancelled (unless @no_cancel). */
int hk_az_sleep(h2k_azure_client *c, double seconds, bool no_cancel);

/* ------------------------------------------------------------ auth.c */

/* A valid token (cached; refreshed when less than 5 minutes are left).  Owned
 * by the client. */
int hk_az_token(h2k_azure_client *c, const char **token);

/* ------------------------------------------------------------ arm.c */

/* "https://management.azure.com" + @path + "?api-version=" + @api; caller frees. */
char *hk_az_arm_url(h2k_azure_client *c, const char *path, const char *api);

/* An ARM call: token, retries; 202 + Location/Azure-AsyncOperation polled until
 * done; the final JSON body in *out (caller puts; may be NULL when unwanted or
 * when the operation returns no body). */
int hk_az_arm(h2k_azure_client *c, const char *method, const char *path, const char *api,
              const char *body, const char *what, bool no_cancel, json_object **out);

/* ------------------------------------------------------------ client.c */

struct h2k_azure_client {
    h2k_ctx *ctx;
    char *subscription;
    char *resource_group;
    char *vm_name;
    h2k_azure_auth auth;
    char *tenant;
    char *client_id;
    char *secret;
    char *authority;
    char *arm;
    char *identity_endpoint;
    char *ca_file;
    int insecure;
    unsigned timeout;
    unsigned max_retries;
    unsigned streams;
    h2k_azure_running running;
    double poll_min; /* shortest wait between polls without Retry-After */

    char *token;        /* cached access token */
    long token_expires; /* time(NULL) when it expires */
    bool warned_insecure;
};

/* "/subscriptions/S/resourceGroups/G/providers/Microsoft.Compute/virtualMachines/V"
 * (caller frees); V escaped. */
char *hk_az_vm_path(h2k_azure_client *c, const char *vm);

/* The VM with disks and NICs described (no power-state/size lookups skipped). */
int hk_az_get_vm(h2k_azure_client *c, const char *vm_name, h2k_azure_vm **out);

#endif /* HK_AZ_INTERNAL_H */
