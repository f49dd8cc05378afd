/*
 * vSphere client: the HTTPS session (libcurl), certificate checks, login,
 * SOAP calls, PropertyCollector paging, VM lookup and description, tasks.
 *
 * References: VMware vSphere Web Services API (vim25): ServiceInstance,
 * SessionManager.Login/Logout, ViewManager.CreateContainerView,
 * PropertyCollector.RetrievePropertiesEx/ContinueRetrievePropertiesEx,
 * Task.info (TaskInfo).
 *
 * The password lives in one malloc'd buffer, is only ever copied into the
 * Login request body (wiped after the call) and is wiped on free.  Errors
 * name the host and the method; a server message that would echo the
 * password is withheld.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/curl_util.h"
#include "providers/vmware/vmw_internal.h"

/* Process-wide library set-up, written once by global_init() under
 * pthread_once(&global_once) before any client exists, and only read after that
 * (pthread_once orders those writes before every later read on any thread):
 * curl and libxml2 need their global initialisation exactly once, and the SSL
 * ex-data index is a process-wide OpenSSL slot. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int ssl_ex_index = -1;
static bool curl_is_openssl;

static void
global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    xmlInitParser();
    ssl_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
    curl_is_openssl = vi && vi->ssl_version && strncmp(vi->ssl_version, "OpenSSL", 7) == 0;
}

static void
wipe(void *p, size_t n)
{
    if (p && n)
        explicit_bzero(p, n);
}

/* ------------------------------------------------------------ TLS */

static void
hex_colon(const unsigned char *d, size_t n, char *out, size_t out_size)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < out_size; i++)
        o += (size_t)snprintf(out + o, out_size - o, i ? ":%02X" : "%02X", d[i]);
}

static int
verify_cb(int preverify_ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    h2k_vmware_client *c = ssl ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ssl_ex_index) : NULL;
    if (!c)
        return preverify_ok;
    int depth = X509_STORE_CTX_get_error_depth(store);
    if (depth != 0)
        return c->pin_len ? 1 : preverify_ok;
    X509 *cert = X509_STORE_CTX_get_current_cert(store);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (cert && X509_digest(cert, EVP_sha1(), md, &mdlen) == 1)
        hex_colon(md, mdlen, c->seen_sha1, sizeof(c->seen_sha1));
    if (!c->pin_len)
        return preverify_ok;
    mdlen = 0;
    const EVP_MD *alg = c->pin_len == 20 ? EVP_sha1() : EVP_sha256();
    if (!cert || X509_digest(cert, alg, md, &mdlen) != 1 || mdlen != c->pin_len ||
        CRYPTO_memcmp(md, c->pin, c->pin_len) != 0) {
        c->pin_mismatch = 1;
        return 0;
    }
    c->pin_mismatch = 0;
    return 1;
}

static CURLcode
ssl_ctx_cb(CURL *easy, void *sslctx, void *ud)
{
    (void)easy;
    h2k_vmware_client *c = ud;
    SSL_CTX *sc = sslctx;
    SSL_CTX_set_ex_data(sc, ssl_ex_index, c);
    int mode = c->pin_len ? SSL_VERIFY_PEER : SSL_CTX_get_verify_mode(sc);
    SSL_CTX_set_verify(sc, mode, verify_cb);
    return CURLE_OK;
}

int
hk_vmw_setup_easy(h2k_vmware_client *c, CURL *e)
{
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)c->timeout);
    curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "hyper2kvm");
    if (c->share)
        curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    /* a pinned certificate is checked by verify_cb instead */
    hk_curl_tls(e, !c->pin_len && !c->insecure, c->ca_file);
    if (curl_is_openssl) {
        curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
        curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, c);
    }
    return 0;
}

int
hk_vmw_curl_error(h2k_vmware_client *c, CURLcode cc, const char *what, const char *detail)
{
    h2k_ctx *ctx = c->ctx;
    const char *msg = detail && *detail ? detail : curl_easy_strerror(cc);
    if (cc == CURLE_ABORTED_BY_CALLBACK && h2k_ctx_is_cancelled(ctx))
        return hk_error(ctx, H2K_ERR_CANCELLED, "%s: %s: cancelled", c->host, what);
    if (c->pin_mismatch)
        return hk_error(ctx, H2K_ERR_CONNECTION,
                        "%s: %s: the certificate of %s (SHA-1 thumbprint %s) does not match the "
                        "thumbprint given with --thumbprint; the connection was refused",
                        c->host, what, c->host, c->seen_sha1[0] ? c->seen_sha1 : "unknown");
    switch (cc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CONNECT_ERROR:
        if (cc == CURLE_SSL_CONNECT_ERROR && !c->seen_sha1[0])
            break;
        return hk_error(ctx, H2K_ERR_CONNECTION,
                        "%s: %s: the TLS certificate of %s is not trusted (%s)%s%s%s; pass "
                        "--ca-file FILE with the CA that signed it, --thumbprint to pin it, or "
                        "--insecure to skip the check (not recommended)",
                        c->host, what, c->host, msg,
                        c->seen_sha1[0] ? "; the server presented a certificate with SHA-1 "
                                          "thumbprint "
                                        : "",
                        c->seen_sha1, "");
    case CURLE_OPERATION_TIMEDOUT:
        return hk_error(ctx, H2K_ERR_TIMEOUT, "%s: %s: timed out (%s)", c->host, what, msg);
    case CURLE_WRITE_ERROR:
        if (h2k_ctx_is_cancelled(ctx))
            return hk_error(ctx, H2K_ERR_CANCELLED, "%s: %s: cancelled", c->host, what);
        return hk_error(ctx, H2K_ERR_IO, "%s: %s: cannot store the data received (%s)", c->host,
                        what, msg);
    default:
        break;
    }
    return hk_error(ctx, H2K_ERR_CONNECTION, "%s: %s: cannot reach the server (%s)", c->host,
                    what, msg);
}

/* ------------------------------------------------------------ SOAP */

/* POSTs @request; returns 0 with the body and status, or a negative code. */
static int
soap_post(h2k_vmware_client *c, const char *method, const char *request, char **resp,
          size_t *len, long *status)
{
    *resp = NULL;
    *len = 0;
    *status = 0;
    if (c->hook)
        return c->hook(c->hook_ud, method, request, resp, len, status);
    CURL *e = c->soap;
    hk_curl_sink r = { .max = HK_VMW_MAX_RESPONSE };
    char *url = hk_asprintf("%s/sdk", c->base_url);
    if (!url)
        return hk_error_nomem(c->ctx);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(request));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hk_curl_sink_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->soap_headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)c->timeout);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    c->errbuf[0] = '\0';
    c->pin_mismatch = 0;
    CURLcode cc = curl_easy_perform(e);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    free(url);
    if (cc != CURLE_OK) {
        hk_buf_free(&r.b);
        if (r.too_big)
            return hk_error(c->ctx, H2K_ERR_FORMAT, "%s: %s: response larger than %u bytes",
                            c->host, method, HK_VMW_MAX_RESPONSE);
        return hk_vmw_curl_error(c, cc, method, c->errbuf);
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    *len = r.b.len;
    *resp = r.b.data ? r.b.data : strdup("");
    if (!*resp)
        return hk_error_nomem(c->ctx);
    return 0;
}

static int
call_raw(h2k_vmware_client *c, const char *method, const char *method_xml,
         hk_vmw_response *out, bool sensitive)
{
    int rc = hk_check_cancel(c->ctx);
    if (rc < 0)
        return rc;
    char *req = hk_vmw_envelope(method_xml);
    if (!req)
        return hk_error_nomem(c->ctx);
    hk_debug(c->ctx, HK_VMW_DOMAIN, "%s: %s", c->host, method);
    char *resp = NULL;
    size_t len = 0;
    long status = 0;
    rc = soap_post(c, method, req, &resp, &len, &status);
    if (sensitive)
        wipe(req, strlen(req));
    free(req);
    if (rc == 0) {
        rc = hk_vmw_soap_parse(c->ctx, resp, len, status, c->host, method,
                               c->password_len ? c->password : NULL, out, NULL);
        if (sensitive)
            wipe(resp, len);
    }
    free(resp);
    return rc;
}

int
hk_vmw_call(h2k_vmware_client *c, const char *method, const char *this_type,
            const char *this_value, const char *args_xml, hk_vmw_response *out)
{
    hk_buf b = { 0 };
    hk_buf_printf(&b, "<%s xmlns=\"urn:vim25\">", method);
    hk_vmw_buf_moref(&b, "_this", this_type, this_value);
    hk_buf_puts(&b, args_xml ? args_xml : "");
    hk_buf_printf(&b, "</%s>", method);
    char *x = hk_buf_steal(&b);
    if (!x)
        return hk_error_nomem(c->ctx);
    int rc = call_raw(c, method, x, out, false);
    free(x);
    return rc;
}

/* ------------------------------------------------------------ connect */

static int
parse_thumbprint(const char *t, unsigned char *out, size_t *len)
{
    size_t n = 0;
    const char *p = t;
    while (*p) {
        if (*p == ':' || *p == ' ') {
            p++;
            continue;
        }
        if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) || n >= 32)
            return -1;
        char hx[3] = { p[0], p[1], 0 };
        out[n++] = (unsigned char)strtoul(hx, NULL, 16);
        p += 2;
    }
    if (n != 20 && n != 32)
        return -1;
    *len = n;
    return 0;
}

static int
check_host(const char *h)
{
    if (!h || !*h || strlen(h) > 255)
        return -1;
    for (const char *p = h; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr(".-:[]_%", *p)))
            return -1;
    return 0;
}

static int
retrieve_service_content(h2k_vmware_client *c)
{
    hk_vmw_response r = { 0 };
    int rc = hk_vmw_call(c, "RetrieveServiceContent", "ServiceInstance", "ServiceInstance", "",
                         &r);
    if (rc < 0)
        return rc;
    bool oom = false;
    xmlNodePtr rv = hk_vmw_child(r.result, "returnval");
    c->root_folder = hk_vmw_child_text(rv, "rootFolder", &oom);
    c->property_collector = hk_vmw_child_text(rv, "propertyCollector", &oom);
    c->view_manager = hk_vmw_child_text(rv, "viewManager", &oom);
    c->session_manager = hk_vmw_child_text(rv, "sessionManager", &oom);
    c->api_type = hk_vmw_child_text(hk_vmw_child(rv, "about"), "apiType", &oom);
    hk_vmw_response_clear(&r);
    if (oom)
        return hk_error_nomem(c->ctx);
    if (!c->root_folder || !c->property_collector || !c->view_manager || !c->session_manager)
        return hk_error(c->ctx, H2K_ERR_FORMAT,
                        "%s: RetrieveServiceContent: the service content lacks rootFolder, "
                        "propertyCollector, viewManager or sessionManager",
                        c->host);
    return 0;
}

static int
login(h2k_vmware_client *c)
{
    hk_buf b = { 0 };
    hk_buf_puts(&b, "<Login xmlns=\"urn:vim25\">");
    hk_vmw_buf_moref(&b, "_this", "SessionManager", c->session_manager);
    hk_buf_puts(&b, "<userName>");
    hk_vmw_buf_escape(&b, c->user);
    hk_buf_puts(&b, "</userName><password>");
    hk_vmw_buf_escape(&b, c->password);
    hk_buf_puts(&b, "</password></Login>");
    if (b.oom) {
        wipe(b.data, b.len);
        hk_buf_free(&b);
        return hk_error_nomem(c->ctx);
    }
    hk_vmw_response r = { 0 };
    int rc = call_raw(c, "Login", b.data, &r, true);
    wipe(b.data, b.len);
    hk_buf_free(&b);
    if (rc < 0) {
        if (rc == H2K_ERR_AUTHENTICATION)
            hk_error_prefix(c->ctx, "login as \"%s\" refused", c->user);
        return rc;
    }
    hk_vmw_response_clear(&r);
    c->logged_in = true;
    hk_info(c->ctx, HK_VMW_DOMAIN, "%s: logged in as %s (%s)", c->host, c->user,
            c->api_type ? c->api_type : "unknown API type");
    return 0;
}

HK_OPTS_LAYOUT(vmware_layout, h2k_vmware_options, sizeof(h2k_vmware_options));

int
h2k_vmware_options_init(h2k_vmware_options *opts, unsigned version)
{
    static const h2k_vmware_options defaults = H2K_VMWARE_OPTIONS_INIT;
    return hk_opts_init(&vmware_layout, opts, version, &defaults);
}

static int
client_alloc(h2k_ctx *ctx, const h2k_vmware_options *o, h2k_vmware_client **out)
{
    *out = NULL;
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!o)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "vSphere options: missing");
    static const h2k_vmware_options defaults = H2K_VMWARE_OPTIONS_INIT;
    h2k_vmware_options eff;
    int vrc = hk_opts_import(ctx, &vmware_layout, o, &defaults, &eff);
    if (vrc < 0)
        return vrc;
    o = &eff;
    if (check_host(o->host) < 0)
        return hk_error(ctx, H2K_ERR_INVALID_ARG,
                        "vSphere options: host must be \"name\" or \"name:port\" (got \"%.80s\")",
                        o->host ? o->host : "");
    if (!o->user || !*o->user)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "%s: no user name given", o->host);
    if (!o->password)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "%s: no password given", o->host);
    if (o->parallel_streams > 16)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "%s: parallel_streams must be 1..16", o->host);
    pthread_once(&global_once, global_init);
    h2k_vmware_client *c = calloc(1, sizeof(*c));
    if (!c)
        return hk_error_nomem(ctx);
    c->ctx = ctx;
    if (o->thumbprint && *o->thumbprint) {
        if (parse_thumbprint(o->thumbprint, c->pin, &c->pin_len) < 0) {
            free(c);
            return hk_error(ctx, H2K_ERR_INVALID_ARG,
                            "%s: the thumbprint must be 20 (SHA-1) or 32 (SHA-256) hex pairs "
                            "like AA:BB:...",
                            o->host);
        }
        if (!curl_is_openssl) {
            free(c);
            return hk_error(ctx, H2K_ERR_UNSUPPORTED,
                            "%s: thumbprint pinning needs libcurl built with OpenSSL", o->host);
        }
    }
    c->host = strdup(o->host);
    c->base_url = hk_asprintf("https://%s", o->host);
    c->user = strdup(o->user);
    c->password_len = strlen(o->password);
    c->password = malloc(c->password_len + 1);
    if (c->password)
        memcpy(c->password, o->password, c->password_len + 1);
    c->datacenter = hk_strdup0(o->datacenter && *o->datacenter ? o->datacenter : NULL);
    c->ca_file = hk_strdup0(o->ca_file && *o->ca_file ? o->ca_file : NULL);
    c->vddk_libdir = hk_strdup0(o->vddk_libdir && *o->vddk_libdir ? o->vddk_libdir : NULL);
    c->insecure = o->insecure;
    c->timeout = o->timeout_seconds ? o->timeout_seconds : 60;
    c->max_objects = o->max_objects ? o->max_objects : 100;
    c->streams = o->parallel_streams ? o->parallel_streams : 4;
    c->powered_on = o->powered_on;
    c->keep_snapshot = o->keep_snapshot;
    if (!c->host || !c->base_url || !c->user || !c->password ||
        (o->datacenter && *o->datacenter && !c->datacenter) ||
        (o->ca_file && *o->ca_file && !c->ca_file) ||
        (o->vddk_libdir && *o->vddk_libdir && !c->vddk_libdir)) {
        h2k_vmware_client_free(c);
        return hk_error_nomem(ctx);
    }
    if (c->pin_len && c->insecure)
        hk_warn(ctx, HK_VMW_DOMAIN, "%s: --insecure ignored: the certificate is pinned by its "
                                    "thumbprint", c->host);
    else if (c->insecure)
        hk_warn(ctx, HK_VMW_DOMAIN,
                "%s: the server certificate is NOT verified (insecure mode): anyone on the path "
                "can read the credentials",
                c->host);
    *out = c;
    return 0;
}

static int
client_connect(h2k_vmware_client *c)
{
    int rc = retrieve_service_content(c);
    if (rc == 0)
        rc = login(c);
    return rc;
}

int
hk_vmw_client_new_hooked(h2k_ctx *ctx, const h2k_vmware_options *o, hk_vmw_soap_hook hook,
                         void *ud, h2k_vmware_client **out)
{
    h2k_vmware_client *c;
    int rc = client_alloc(ctx, o, &c);
    if (rc < 0)
        return rc;
    c->hook = hook;
    c->hook_ud = ud;
    if ((rc = client_connect(c)) < 0) {
        h2k_vmware_client_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int
h2k_vmware_client_new(h2k_ctx *ctx, const h2k_vmware_options *o, h2k_vmware_client **out)
{
    if (!out)
        return ctx ? hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_vmware_client_new: out is NULL")
                   : H2K_ERR_INVALID_ARG;
    h2k_vmware_client *c;
    int rc = client_alloc(ctx, o, &c);
    if (rc < 0)
        return rc;
    c->share = curl_share_init();
    c->soap = curl_easy_init();
    c->soap_headers = curl_slist_append(NULL, "Content-Type: text/xml; charset=utf-8");
    struct curl_slist *h2 =
        c->soap_headers ? curl_slist_append(c->soap_headers, "SOAPAction: " HK_VMW_SOAP_ACTION)
                        : NULL;
    if (!c->share || !c->soap || !h2) {
        h2k_vmware_client_free(c);
        return hk_error_nomem(ctx);
    }
    c->soap_headers = h2;
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    hk_vmw_setup_easy(c, c->soap);
    if ((rc = client_connect(c)) < 0) {
        h2k_vmware_client_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void
h2k_vmware_client_free(h2k_vmware_client *c)
{
    if (!c)
        return;
    if (c->logged_in) {
        unsigned t = c->timeout;
        c->timeout = t < 10 ? t : 10;
        /* a cancelled context must still log out */
        hk_buf b = { 0 };
        hk_buf_puts(&b, "<Logout xmlns=\"urn:vim25\">");
        hk_vmw_buf_moref(&b, "_this", "SessionManager", c->session_manager);
        hk_buf_puts(&b, "</Logout>");
        char *req = b.data ? hk_vmw_envelope(b.data) : NULL;
        hk_buf_free(&b);
        if (req) {
            char *resp = NULL;
            size_t len = 0;
            long status = 0;
            if (soap_post(c, "Logout", req, &resp, &len, &status) < 0 || status >= 400)
                hk_debug(c->ctx, HK_VMW_DOMAIN, "%s: Logout failed", c->host);
            free(resp);
            free(req);
        }
        c->timeout = t;
    }
    if (c->soap)
        curl_easy_cleanup(c->soap);
    if (c->share)
        curl_share_cleanup(c->share);
    curl_slist_free_all(c->soap_headers);
    if (c->password) {
        wipe(c->password, c->password_len);
        free(c->password);
    }
    free(c->host);
    free(c->base_url);
    free(c->user);
    free(c->datacenter);
    free(c->ca_file);
    free(c->vddk_libdir);
    free(c->root_folder);
    free(c->property_collector);
    free(c->view_manager);
    free(c->session_manager);
    free(c->api_type);
    free(c->dc_vm_folder);
    wipe(c, sizeof(*c));
    free(c);
}

const char *
h2k_vmware_client_api_type(const h2k_vmware_client *c)
{
    return c && c->api_type ? c->api_type : "unknown";
}

/* ------------------------------------------------------------ properties */

typedef struct retrieve_state {
    hk_vmw_obj_fn fn;
    void *ud;
} retrieve_state;

static int
cancel_retrieve(h2k_vmware_client *c, const char *token)
{
    hk_buf b = { 0 };
    hk_buf_puts(&b, "<token>");
    hk_vmw_buf_escape(&b, token);
    hk_buf_puts(&b, "</token>");
    hk_vmw_response r = { 0 };
    if (b.data && hk_vmw_call(c, "CancelRetrievePropertiesEx", "PropertyCollector",
                              c->property_collector, b.data, &r) == 0)
        hk_vmw_response_clear(&r);
    hk_buf_free(&b);
    return 0;
}

int
hk_vmw_retrieve(h2k_vmware_client *c, const char *type, const char *const *paths,
                const char *obj_type, const char *obj_value, bool via_view, hk_vmw_obj_fn fn,
                void *ud)
{
    hk_buf b = { 0 };
    hk_buf_puts(&b, "<specSet><propSet><type>");
    hk_vmw_buf_escape(&b, type);
    hk_buf_puts(&b, "</type><all>false</all>");
    for (size_t i = 0; paths && paths[i]; i++) {
        hk_buf_puts(&b, "<pathSet>");
        hk_vmw_buf_escape(&b, paths[i]);
        hk_buf_puts(&b, "</pathSet>");
    }
    hk_buf_puts(&b, "</propSet><objectSet>");
    hk_vmw_buf_moref(&b, "obj", obj_type, obj_value);
    if (via_view)
        hk_buf_puts(&b, "<skip>true</skip><selectSet xsi:type=\"TraversalSpec\"><name>view</name>"
                        "<type>ContainerView</type><path>view</path><skip>false</skip>"
                        "</selectSet>");
    else
        hk_buf_puts(&b, "<skip>false</skip>");
    hk_buf_printf(&b, "</objectSet></specSet><options><maxObjects>%u</maxObjects></options>",
                  c->max_objects);
    char *args = hk_buf_steal(&b);
    if (!args)
        return hk_error_nomem(c->ctx);
    hk_vmw_response r = { 0 };
    int rc = hk_vmw_call(c, "RetrievePropertiesEx", "PropertyCollector", c->property_collector,
                         args, &r);
    free(args);
    size_t count = 0, pages = 1;
    while (rc == 0) {
        char *token = NULL;
        rc = hk_vmw_walk_result(c->ctx, hk_vmw_child(r.result, "returnval"), fn, ud, &count,
                                &token);
        hk_vmw_response_clear(&r);
        if (rc < 0 || !token) {
            if (token)
                cancel_retrieve(c, token);
            free(token);
            break;
        }
        if (++pages > HK_VMW_MAX_OBJECTS) {
            free(token);
            rc = hk_error(c->ctx, H2K_ERR_FORMAT, "%s: RetrievePropertiesEx: too many pages",
                          c->host);
            break;
        }
        hk_buf_puts(&b, "<token>");
        hk_vmw_buf_escape(&b, token);
        hk_buf_puts(&b, "</token>");
        free(token);
        args = hk_buf_steal(&b);
        if (!args)
            return hk_error_nomem(c->ctx);
        rc = hk_vmw_call(c, "ContinueRetrievePropertiesEx", "PropertyCollector",
                         c->property_collector, args, &r);
        free(args);
    }
    hk_vmw_response_clear(&r);
    return rc;
}

static int
create_view(h2k_vmware_client *c, const char *container, const char *type, char **view)
{
    hk_buf b = { 0 };
    hk_vmw_buf_moref(&b, "container", "Folder", container);
    hk_buf_puts(&b, "<type>");
    hk_vmw_buf_escape(&b, type);
    hk_buf_puts(&b, "</type><recursive>true</recursive>");
    char *args = hk_buf_steal(&b);
    if (!args)
        return hk_error_nomem(c->ctx);
    hk_vmw_response r = { 0 };
    int rc = hk_vmw_call(c, "CreateContainerView", "ViewManager", c->view_manager, args, &r);
    free(args);
    if (rc < 0)
        return rc;
    bool oom = false;
    *view = hk_vmw_child_text(r.result, "returnval", &oom);
    hk_vmw_response_clear(&r);
    if (oom)
        return hk_error_nomem(c->ctx);
    if (!*view || !**view) {
        free(*view);
        *view = NULL;
        return hk_error(c->ctx, H2K_ERR_FORMAT, "%s: CreateContainerView returned no view",
                        c->host);
    }
    return 0;
}

static void
destroy_view(h2k_vmware_client *c, const char *view)
{
    hk_vmw_response r = { 0 };
    if (hk_vmw_call(c, "DestroyView", "ContainerView", view, "", &r) == 0)
        hk_vmw_response_clear(&r);
}

typedef struct dc_find {
    h2k_vmware_client *c;
    char *vm_folder;
    size_t matches;
} dc_find;

static int
dc_find_cb(void *ud, const xmlNode *obj)
{
    dc_find *f = ud;
    bool oom = false;
    char *name = hk_vmw_text(hk_vmw_obj_prop(obj, "name"), &oom);
    if (!oom && name && strcmp(name, f->c->datacenter) == 0) {
        f->matches++;
        if (!f->vm_folder)
            f->vm_folder = hk_vmw_text(hk_vmw_obj_prop(obj, "vmFolder"), &oom);
    }
    free(name);
    return oom ? hk_error_nomem(f->c->ctx) : 0;
}

/* The folder whose VMs we see: the datacenter's vmFolder, or the root folder. */
static int
vm_container(h2k_vmware_client *c, const char **folder)
{
    if (!c->datacenter) {
        *folder = c->root_folder;
        return 0;
    }
    if (c->dc_vm_folder) {
        *folder = c->dc_vm_folder;
        return 0;
    }
    char *view = NULL;
    int rc = create_view(c, c->root_folder, "Datacenter", &view);
    if (rc < 0)
        return rc;
    static const char *const paths[] = { "name", "vmFolder", NULL };
    dc_find f = { c, NULL, 0 };
    rc = hk_vmw_retrieve(c, "Datacenter", paths, "ContainerView", view, true, dc_find_cb, &f);
    destroy_view(c, view);
    free(view);
    if (rc < 0) {
        free(f.vm_folder);
        return rc;
    }
    if (!f.vm_folder)
        return hk_error(c->ctx, H2K_ERR_NOT_FOUND, "%s: datacenter \"%s\" not found", c->host,
                        c->datacenter);
    c->dc_vm_folder = f.vm_folder;
    *folder = c->dc_vm_folder;
    return 0;
}

/* ------------------------------------------------------------ VMs */

typedef struct list_state {
    h2k_ctx *ctx;
    h2k_vmware_vm_info *vms;
    size_t n, cap;
} list_state;

static int
list_cb(void *ud, const xmlNode *obj)
{
    list_state *s = ud;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        h2k_vmware_vm_info *p = realloc(s->vms, cap * sizeof(*p));
        if (!p)
            return hk_error_nomem(s->ctx);
        s->vms = p;
        s->cap = cap;
    }
    int rc = hk_vmw_parse_vm_info(s->ctx, obj, &s->vms[s->n]);
    if (rc < 0)
        return rc;
    s->n++;
    return 0;
}

static int
list_vms(h2k_vmware_client *c, const char *const *paths, list_state *s)
{
    const char *folder = NULL;
    int rc = vm_container(c, &folder);
    if (rc < 0)
        return rc;
    char *view = NULL;
    if ((rc = create_view(c, folder, "VirtualMachine", &view)) < 0)
        return rc;
    rc = hk_vmw_retrieve(c, "VirtualMachine", paths, "ContainerView", view, true, list_cb, s);
    destroy_view(c, view);
    free(view);
    return rc;
}

void
h2k_vmware_vm_list_free(h2k_vmware_vm_info *vms, size_t n)
{
    for (size_t i = 0; vms && i < n; i++)
        hk_vmw_vm_info_clear(&vms[i]);
    free(vms);
}

int
h2k_vmware_list_vms(h2k_vmware_client *c, h2k_vmware_vm_info **vms, size_t *n)
{
    if (!c || !vms || !n)
        return c ? hk_error(c->ctx, H2K_ERR_INVALID_ARG, "h2k_vmware_list_vms: NULL argument")
                 : H2K_ERR_INVALID_ARG;
    *vms = NULL;
    *n = 0;
    static const char *const paths[] = { "name", "runtime.powerState", "config.uuid",
                                         "config.files.vmPathName", NULL };
    list_state s = { c->ctx, NULL, 0, 0 };
    int rc = list_vms(c, paths, &s);
    if (rc < 0) {
        h2k_vmware_vm_list_free(s.vms, s.n);
        return rc;
    }
    *vms = s.vms;
    *n = s.n;
    return 0;
}

int
hk_vmw_find_vm(h2k_vmware_client *c, const char *name, char **moref)
{
    *moref = NULL;
    if (!name || !*name)
        return hk_error(c->ctx, H2K_ERR_INVALID_ARG, "%s: no VM name given", c->host);
    static const char *const paths[] = { "name", NULL };
    list_state s = { c->ctx, NULL, 0, 0 };
    int rc = list_vms(c, paths, &s);
    size_t found = 0;
    for (size_t i = 0; rc == 0 && i < s.n; i++) {
        if (strcmp(s.vms[i].name, name) != 0)
            continue;
        if (found++ == 0 && !(*moref = strdup(s.vms[i].moref)))
            rc = hk_error_nomem(c->ctx);
    }
    h2k_vmware_vm_list_free(s.vms, s.n);
    if (rc < 0) {
        free(*moref);
        *moref = NULL;
        return rc;
    }
    if (found == 0)
        return hk_error(c->ctx, H2K_ERR_NOT_FOUND, "%s: no virtual machine named \"%s\"%s%s%s",
                        c->host, name, c->datacenter ? " in datacenter \"" : "",
                        c->datacenter ? c->datacenter : "", c->datacenter ? "\"" : "");
    if (found > 1) {
        free(*moref);
        *moref = NULL;
        return hk_error(c->ctx, H2K_ERR_VALIDATION,
                        "%s: %zu virtual machines are named \"%s\"; pass --datacenter to choose",
                        c->host, found, name);
    }
    return 0;
}

typedef struct one_vm {
    h2k_vmware_client *c;
    hk_vmw_vm *vm;
    bool seen;
} one_vm;

static int
one_vm_cb(void *ud, const xmlNode *obj)
{
    one_vm *o = ud;
    if (o->seen)
        return 0;
    o->seen = true;
    return hk_vmw_parse_vm(o->c->ctx, o->c->host, obj, o->vm);
}

typedef struct one_name {
    h2k_ctx *ctx;
    char *name;
} one_name;

static int
one_name_cb(void *ud, const xmlNode *obj)
{
    one_name *o = ud;
    bool oom = false;
    if (!o->name)
        o->name = hk_vmw_text(hk_vmw_obj_prop(obj, "name"), &oom);
    return oom ? hk_error_nomem(o->ctx) : 0;
}

int
hk_vmw_get_vm(h2k_vmware_client *c, const char *moref, hk_vmw_vm *vm)
{
    static const char *const paths[] = {
        "name", "runtime.powerState", "config.name", "config.uuid", "config.guestId",
        "config.firmware", "config.hardware", "config.files.vmPathName",
        "config.bootOptions.efiSecureBootEnabled", NULL
    };
    memset(vm, 0, sizeof(*vm));
    one_vm o = { c, vm, false };
    int rc = hk_vmw_retrieve(c, "VirtualMachine", paths, "VirtualMachine", moref, false,
                             one_vm_cb, &o);
    if (rc == 0 && !o.seen)
        rc = hk_error(c->ctx, H2K_ERR_NOT_FOUND, "%s: RetrievePropertiesEx: VM %s not found",
                      c->host, moref);
    /* names of distributed port groups */
    for (size_t i = 0; rc == 0 && i < vm->n_pg_keys; i++) {
        static const char *const np[] = { "name", NULL };
        one_name on = { c->ctx, NULL };
        int r2 = hk_vmw_retrieve(c, "DistributedVirtualPortgroup", np,
                                 "DistributedVirtualPortgroup", vm->pg_keys[i], false,
                                 one_name_cb, &on);
        if (r2 == 0 && on.name) {
            h2k_vm_nic *nic = &vm->spec->nics[vm->pg_nic[i]];
            free(nic->network);
            nic->network = on.name;
            on.name = NULL;
        } else if (r2 < 0) {
            hk_warn(c->ctx, HK_VMW_DOMAIN, "%s: port group %s: name unknown", c->host,
                    vm->pg_keys[i]);
            h2k_ctx_clear_error(c->ctx);
        }
        free(on.name);
    }
    if (rc < 0)
        hk_vmw_vm_clear(vm);
    return rc;
}

int
h2k_vmware_describe(h2k_vmware_client *c, const char *vm_name, h2k_vm_spec **out)
{
    if (!c || !out)
        return c ? hk_error(c->ctx, H2K_ERR_INVALID_ARG, "h2k_vmware_describe: NULL argument")
                 : H2K_ERR_INVALID_ARG;
    *out = NULL;
    char *moref = NULL;
    int rc = hk_vmw_find_vm(c, vm_name, &moref);
    if (rc < 0)
        return rc;
    hk_vmw_vm vm;
    rc = hk_vmw_get_vm(c, moref, &vm);
    free(moref);
    if (rc < 0)
        return rc;
    *out = vm.spec;
    vm.spec = NULL;
    hk_vmw_vm_clear(&vm);
    return 0;
}

/* ------------------------------------------------------------ tasks */

typedef struct task_state {
    h2k_vmware_client *c;
    const char *what;
    int state;
    char *result;
} task_state;

static int
task_cb(void *ud, const xmlNode *obj)
{
    task_state *t = ud;
    xmlNodePtr info = hk_vmw_obj_prop(obj, "info");
    if (!info)
        return hk_error(t->c->ctx, H2K_ERR_FORMAT, "%s: %s: the task has no info", t->c->host,
                        t->what);
    free(t->result);
    t->result = NULL;
    int rc = hk_vmw_parse_task_info(t->c->ctx, t->c->host, t->what, info, &t->result);
    if (rc < 0)
        return rc;
    t->state = rc;
    return 0;
}

static void
sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int
hk_vmw_wait_task(h2k_vmware_client *c, const char *task, const char *what, char **result)
{
    static const char *const paths[] = { "info", NULL };
    if (result)
        *result = NULL;
    double start = hk_now();
    unsigned delay = 50;
    for (;;) {
        task_state t = { c, what, 0, NULL };
        int rc = hk_vmw_retrieve(c, "Task", paths, "Task", task, false, task_cb, &t);
        if (rc == 0 && t.state == 1) {
            if (result)
                *result = t.result;
            else
                free(t.result);
            return 0;
        }
        free(t.result);
        if (rc < 0)
            return rc;
        if ((rc = hk_check_cancel(c->ctx)) < 0)
            return rc;
        if (hk_now() - start > 3600.0)
            return hk_error(c->ctx, H2K_ERR_TIMEOUT, "%s: %s: the task did not finish in an hour",
                            c->host, what);
        sleep_ms(delay);
        if (delay < 1000)
            delay *= 2;
    }
}

/* ------------------------------------------------------------ datacenter */

typedef struct parent_state {
    h2k_ctx *ctx;
    char *type;
    char *value;
    char *name;
} parent_state;

static int
parent_cb(void *ud, const xmlNode *obj)
{
    parent_state *p = ud;
    bool oom = false;
    xmlNodePtr v = hk_vmw_obj_prop(obj, "parent");
    if (v && !p->value) {
        xmlChar *t = xmlGetNoNsProp(v, (const xmlChar *)"type");
        if (t) {
            p->type = strdup((const char *)t);
            if (!p->type)
                oom = true;
            xmlFree(t);
            p->value = hk_vmw_text(v, &oom);
        }
    }
    if (!p->name)
        p->name = hk_vmw_text(hk_vmw_obj_prop(obj, "name"), &oom);
    return oom ? hk_error_nomem(p->ctx) : 0;
}

int
hk_vmw_datacenter_of(h2k_vmware_client *c, const char *moref, char **dc)
{
    *dc = NULL;
    if (c->datacenter) {
        *dc = strdup(c->datacenter);
        return *dc ? 0 : hk_error_nomem(c->ctx);
    }
    char *type = strdup("VirtualMachine");
    char *value = strdup(moref);
    int rc = 0;
    if (!type || !value)
        rc = hk_error_nomem(c->ctx);
    for (int depth = 0; rc == 0 && depth < 64; depth++) {
        static const char *const paths[] = { "parent", "name", NULL };
        parent_state p = { c->ctx, NULL, NULL, NULL };
        rc = hk_vmw_retrieve(c, type, paths, type, value, false, parent_cb, &p);
        if (rc == 0 && strcmp(type, "Datacenter") == 0) {
            *dc = p.name;
            p.name = NULL;
            if (!*dc)
                rc = hk_error(c->ctx, H2K_ERR_FORMAT, "%s: datacenter %s has no name", c->host,
                              value);
        } else if (rc == 0 && !p.value) {
            rc = hk_error(c->ctx, H2K_ERR_NOT_FOUND,
                          "%s: no datacenter above VM %s; pass --datacenter", c->host, moref);
        }
        free(type);
        free(value);
        type = p.type;
        value = p.value;
        free(p.name);
        if (*dc || rc < 0)
            break;
    }
    free(type);
    free(value);
    if (rc == 0 && !*dc)
        rc = hk_error(c->ctx, H2K_ERR_FORMAT, "%s: the inventory of %s is too deep", c->host,
                      moref);
    return rc;
}
