/*
 * vSphere client, the session: HTTPS (libcurl), certificate checks, login,
 * logout and SOAP calls.  What the session is used for (PropertyCollector
 * paging, VM lookup and description, tasks) is in inventory.c.
 *
 * References: VMware vSphere Web Services API (vim25): ServiceInstance,
 * SessionManager.Login/Logout.
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
    return hk_error(ctx, H2K_ERR_CONNECTION, "%s: %s: cannot reach the server (%s)", c->host, what,
                    msg);
}

/* ------------------------------------------------------------ SOAP */

/* POSTs @request; returns 0 with the body and status, or a negative code. */
static int
soap_post(h2k_vmware_client *c, const char *method, const char *request, char **resp, size_t *len,
          long *status)
{
    *resp = NULL;
    *len = 0;
    *status = 0;
    if (c->hook)
        return c->hook(c->hook_ud, method, request, resp, len, status);
    CURL *e = c->soap;
    hk_curl_sink r = {.max = HK_VMW_MAX_RESPONSE};
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
call_raw(h2k_vmware_client *c, const char *method, const char *method_xml, hk_vmw_response *out,
         bool sensitive)
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
hk_vmw_call(h2k_vmware_client *c, const char *method, const char *this_type, const char *this_value,
            const char *args_xml, hk_vmw_response *out)
{
    hk_buf b = {0};
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
        char hx[3] = {p[0], p[1], 0};
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
    hk_vmw_response r = {0};
    int rc = hk_vmw_call(c, "RetrieveServiceContent", "ServiceInstance", "ServiceInstance", "", &r);
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
    hk_buf b = {0};
    hk_buf_puts(&b, "<Login xmlns=\"urn:vim25\">");
    hk_vmw_buf_moref(&b, "_this", "SessionManager", c->session_manager);
    hk_buf_puts(&b, "<userName>");
    hk_buf_xml_escape(&b, c->user);
    hk_buf_puts(&b, "</userName><password>");
    hk_buf_xml_escape(&b, c->password);
    hk_buf_puts(&b, "</password></Login>");
    if (b.oom) {
        wipe(b.data, b.len);
        hk_buf_free(&b);
        return hk_error_nomem(c->ctx);
    }
    hk_vmw_response r = {0};
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
        hk_warn(ctx, HK_VMW_DOMAIN,
                "%s: --insecure ignored: the certificate is pinned by its "
                "thumbprint",
                c->host);
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
hk_vmw_client_new_hooked(h2k_ctx *ctx, const h2k_vmware_options *o, hk_vmw_soap_hook hook, void *ud,
                         h2k_vmware_client **out)
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
    struct curl_slist *h2 = c->soap_headers ? curl_slist_append(c->soap_headers,
                                                                "SOAPAction: " HK_VMW_SOAP_ACTION)
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
        hk_buf b = {0};
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
