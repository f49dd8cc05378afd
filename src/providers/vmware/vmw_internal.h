/*
 * Internals of the vSphere client.  Never installed.
 *
 *   soap.c     envelope building, response/fault parsing (pure, fuzzed)
 *   parse.c    PropertyCollector results -> VM list, VM spec, task, lease (pure, fuzzed)
 *   client.c   libcurl session, TLS checks, login, SOAP calls, property paging
 *   transfer.c parallel downloads with resume (curl multi)
 *   export.c   the http / nfc / vddk exports
 *   ovf_write.c the OVF descriptor of an export (libxml2)
 */
#ifndef HK_VMW_INTERNAL_H
#define HK_VMW_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <libxml/tree.h>

#include "core/internal.h"
#include "hyper2kvm/h2k_vmware.h"

#define HK_VMW_DOMAIN "vmware"
/* Largest SOAP response accepted. */
#define HK_VMW_MAX_RESPONSE (64u << 20)
/* Largest number of objects a listing accepts (all pages). */
#define HK_VMW_MAX_OBJECTS 1000000u
/* Largest number of devices of one VM, and of disks exported. */
#define HK_VMW_MAX_DEVICES 4096u
#define HK_VMW_SOAP_ACTION "urn:vim25/6.5"

/* ------------------------------------------------------------ soap.c */

/* Appends "<NAME type=\"TYPE\">VALUE</NAME>" (a managed object reference). */
void hk_vmw_buf_moref(hk_buf *b, const char *name, const char *type, const char *value);
/* Wraps a method element into a SOAP envelope; caller frees; NULL on OOM. */
char *hk_vmw_envelope(const char *method_xml);

/* A parsed SOAP response: @result is the "<MethodResponse>" element. */
typedef struct hk_vmw_response {
    xmlDocPtr doc;
    xmlNodePtr result;
} hk_vmw_response;

/*
 * Parses a response body received with HTTP status @http_status for @method on
 * @host.  Occurrences of @secret (the password; may be NULL) in the server's
 * text are replaced by "***".  A SOAP fault is mapped to an h2k_code (hk_vmw_fault_code) and
 * recorded as "HOST: METHOD: FaultType: faultstring"; a non-XML body, a DOCTYPE,
 * or a body without the expected "<METHODResponse>" is H2K_ERR_FORMAT (or
 * H2K_ERR_CONNECTION for an HTTP error status without a SOAP fault).  On
 * success *out holds the document (caller clears with hk_vmw_response_clear()).
 * *fault_type_out, when not NULL, receives the fault type (caller frees) or NULL.
 */
int hk_vmw_soap_parse(h2k_ctx *ctx, const char *body, size_t len, long http_status,
                      const char *host, const char *method, const char *secret,
                      hk_vmw_response *out, char **fault_type_out);
void hk_vmw_response_clear(hk_vmw_response *r);

/* The h2k_code for a vim25 fault type ("InvalidLogin" -> AUTHENTICATION, ...). */
int hk_vmw_fault_code(const char *fault_type);

/* Tree helpers: elements matched by local name. */
xmlNodePtr hk_vmw_child(const xmlNode *n, const char *name);
xmlNodePtr hk_vmw_next(const xmlNode *n, const char *name);
/* Text of @n trimmed (caller frees), NULL when @n is NULL; *oom set on failure. */
char *hk_vmw_text(const xmlNode *n, bool *oom);
char *hk_vmw_child_text(const xmlNode *n, const char *name, bool *oom);
/* xsi:type of @n without any prefix ("VirtualDisk"); caller frees; NULL when absent. */
char *hk_vmw_xsi_type(const xmlNode *n, bool *oom);
/* Parses the text of child @name as a decimal integer; false when absent/invalid. */
bool hk_vmw_child_i64(const xmlNode *n, const char *name, int64_t *out);

/* ------------------------------------------------------------ parse.c */

/* Splits "[datastore] folder/file.vmdk" into its parts (caller frees both). */
int hk_vmw_split_ds_path(const char *ds_path, char **ds, char **path);

/* Fills @info from one <objects> element (name, runtime.powerState, config.uuid,
 * config.files.vmPathName).  Caller clears the strings. */
int hk_vmw_parse_vm_info(h2k_ctx *ctx, const xmlNode *obj, h2k_vmware_vm_info *info);
void hk_vmw_vm_info_clear(h2k_vmware_vm_info *info);

/* Everything describe/export needs about a VM. */
typedef struct hk_vmw_vm {
    char *moref;
    char *power_state;
    char *vmx_path;
    h2k_vm_spec *spec;
    size_t n_pg_keys; /* NICs on distributed port groups: key to resolve */
    char **pg_keys;   /* pg_keys[i] belongs to spec->nics[pg_nic[i]] */
    size_t *pg_nic;
} hk_vmw_vm;
void hk_vmw_vm_clear(hk_vmw_vm *vm);

/* Fills @vm from one <objects> element holding name, config.* and runtime.powerState
 * (see the property list in client.c).  @host names the server in messages. */
int hk_vmw_parse_vm(h2k_ctx *ctx, const char *host, const xmlNode *obj, hk_vmw_vm *vm);

/* Parses the devices of a <val xsi:type="VirtualHardware"> (or ArrayOfVirtualDevice)
 * into spec disks, removables and NICs (appended); also numCPU, memoryMB,
 * numCoresPerSocket when present. */
int hk_vmw_parse_hardware(h2k_ctx *ctx, const char *host, const xmlNode *hw, hk_vmw_vm *vm);

/* Returns the <val> of property @name in an <objects> element, or NULL. */
xmlNodePtr hk_vmw_obj_prop(const xmlNode *obj, const char *name);

/* Task state from a TaskInfo <val>: 1 success, 0 running/queued, negative
 * h2k_code on error (recorded naming @host and @what). *result_moref gets
 * info.result when it is a managed object reference (caller frees). */
int hk_vmw_parse_task_info(h2k_ctx *ctx, const char *host, const char *what, const xmlNode *info,
                           char **result_moref);

/* A device URL of an HttpNfcLease. */
typedef struct hk_vmw_device_url {
    char *key;
    char *url;
    char *target_id;
    bool disk;
    int64_t file_size; /* -1 when absent */
} hk_vmw_device_url;

typedef struct hk_vmw_manifest_entry {
    char *key;
    char *sha1; /* lower-case hex */
    int64_t size;
} hk_vmw_manifest_entry;

/* Parses HttpNfcLeaseInfo (<val> of property "info"). Caller frees with
 * hk_vmw_device_urls_free(). */
int hk_vmw_parse_lease_info(h2k_ctx *ctx, const char *host, const xmlNode *info,
                            hk_vmw_device_url **urls, size_t *n);
void hk_vmw_device_urls_free(hk_vmw_device_url *urls, size_t n);
/* Parses an HttpNfcLeaseGetManifestResponse. */
int hk_vmw_parse_manifest(h2k_ctx *ctx, const char *host, const xmlNode *resp,
                          hk_vmw_manifest_entry **entries, size_t *n);
void hk_vmw_manifest_free(hk_vmw_manifest_entry *e, size_t n);

/* Iterates the <objects> of a RetrieveResult (<returnval>); *token gets the
 * paging token or NULL (caller frees). */
typedef int (*hk_vmw_obj_fn)(void *ud, const xmlNode *obj);
int hk_vmw_walk_result(h2k_ctx *ctx, const xmlNode *returnval, hk_vmw_obj_fn fn, void *ud,
                       size_t *count, char **token);

/* ------------------------------------------------------------ client.c */

/* Replaces the network for unit tests: called with the method name and the
 * full request; returns 0 and a malloc'd response body with its HTTP status,
 * or a negative h2k_code (recorded by the hook). */
typedef int (*hk_vmw_soap_hook)(void *ud, const char *method, const char *request, char **response,
                                size_t *len, long *http_status);

struct h2k_vmware_client {
    h2k_ctx *ctx;
    char *host;     /* host[:port] as given */
    char *base_url; /* "https://host[:port]" */
    char *user;
    char *password;
    size_t password_len;
    char *datacenter;
    int insecure;
    char *ca_file;
    unsigned char pin[32];
    size_t pin_len; /* 0, 20 (SHA-1) or 32 (SHA-256) */
    unsigned timeout;
    unsigned max_objects;
    unsigned streams;
    h2k_vmware_powered_on powered_on;
    int keep_snapshot;
    char *vddk_libdir;

    CURL *soap;
    CURLSH *share;
    struct curl_slist *soap_headers;
    char errbuf[CURL_ERROR_SIZE];
    char seen_sha1[64]; /* the server certificate's SHA-1 "AA:BB:..", once seen */
    int pin_mismatch;

    char *root_folder;
    char *property_collector;
    char *view_manager;
    char *session_manager;
    char *api_type;
    bool logged_in;
    char *dc_vm_folder; /* vmFolder of the client's datacenter, once looked up */

    hk_vmw_soap_hook hook;
    void *hook_ud;
};

/* Creates a client whose SOAP calls go to @hook instead of the network (tests).
 * Connects (RetrieveServiceContent, Login) through the hook. */
int hk_vmw_client_new_hooked(h2k_ctx *ctx, const h2k_vmware_options *o, hk_vmw_soap_hook hook,
                             void *ud, h2k_vmware_client **out);

/* Calls @method; @args_xml is the content of the method element after _this
 * (may be empty); @this_type/@this_value the target object. */
int hk_vmw_call(h2k_vmware_client *c, const char *method, const char *this_type,
                const char *this_value, const char *args_xml, hk_vmw_response *out);

/* Applies the TLS settings, cookie share and timeouts to a transfer handle. */
int hk_vmw_setup_easy(h2k_vmware_client *c, CURL *easy);
/* Maps a libcurl failure to an h2k_code and records "HOST: WHAT: ..." */
int hk_vmw_curl_error(h2k_vmware_client *c, CURLcode cc, const char *what, const char *detail);

/* Retrieves properties @paths (NULL-terminated) of objects of @type: either
 * one object (@obj_type/@obj_value) or every object in container view @view.
 * Calls @fn for each <objects> element, following ContinueRetrievePropertiesEx. */
int hk_vmw_retrieve(h2k_vmware_client *c, const char *type, const char *const *paths,
                    const char *obj_type, const char *obj_value, bool via_view, hk_vmw_obj_fn fn,
                    void *ud);

/* Finds the VM named @name: moref (caller frees).  NOT_FOUND / VALIDATION (ambiguous). */
int hk_vmw_find_vm(h2k_vmware_client *c, const char *name, char **moref);
/* Describes the VM @moref into @vm (names of distributed port groups resolved). */
int hk_vmw_get_vm(h2k_vmware_client *c, const char *moref, hk_vmw_vm *vm);
/* Waits for task @task to finish (polling); *result gets a moref result (may be NULL). */
int hk_vmw_wait_task(h2k_vmware_client *c, const char *task, const char *what, char **result);
/* Name of the datacenter holding @moref (or the client's datacenter); caller frees. */
int hk_vmw_datacenter_of(h2k_vmware_client *c, const char *moref, char **dc);

/* ------------------------------------------------------------ transfer.c */

typedef struct hk_vmw_dl {
    const char *url;  /* absolute URL */
    const char *path; /* final local path */
    bool resume;      /* may resume a .part (validated by size and Last-Modified) */
    /* filled in */
    uint64_t size;     /* bytes of the complete file */
    uint64_t resumed;  /* bytes kept from an earlier .part */
    uint64_t received; /* bytes received now */
} hk_vmw_dl;

/* Called about every second during the transfers (NFC lease progress). */
typedef int (*hk_vmw_tick_fn)(void *ud, uint64_t done, uint64_t total);

/* Downloads every file of @dls, at most c->streams at a time, each to
 * "PATH.part" then renamed.  Progress stage "download". */
int hk_vmw_download(h2k_vmware_client *c, hk_vmw_dl *dls, size_t n, hk_vmw_tick_fn tick,
                    void *tick_ud);

/* Fetches a small file (<= @max bytes) into memory; caller frees *out. */
int hk_vmw_fetch_small(h2k_vmware_client *c, const char *url, size_t max, char **out, size_t *len);

/* "?dcPath=..&dsName=.." folder URL of "[ds] path"; caller frees. */
char *hk_vmw_folder_url(h2k_vmware_client *c, const char *dc, const char *ds, const char *path);

/* ------------------------------------------------------------ ovf_write.c */

/* Writes @spec as an OVF descriptor at @path: disks reference the files
 * @hrefs[i] (relative to the descriptor's folder), in format @format_uri. */
int hk_vmw_write_ovf(h2k_ctx *ctx, const h2k_vm_spec *spec, const char *const *hrefs,
                     const char *format_uri, const char *path);

#endif /* HK_VMW_INTERNAL_H */
