/*
 * vim25 SOAP: building request envelopes and parsing responses and faults.
 * Pure functions (no I/O); the response parser takes untrusted input and is
 * fuzzed (tests/fuzz/fuzz_soap.c).
 *
 * Safety: bodies over HK_VMW_MAX_RESPONSE are refused; a DOCTYPE is refused
 * before parsing (SOAP has no use for one); the parser never touches the
 * network, loads no DTD and substitutes no entities.
 */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "providers/vmware/vmw_internal.h"

#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
/* Longest server message copied into an error. */
#define MAX_FAULT_TEXT 400

void
hk_vmw_buf_moref(hk_buf *b, const char *name, const char *type, const char *value)
{
    hk_buf_printf(b, "<%s type=\"", name);
    hk_buf_xml_escape(b, type);
    hk_buf_puts(b, "\">");
    hk_buf_xml_escape(b, value);
    hk_buf_printf(b, "</%s>", name);
}

char *
hk_vmw_envelope(const char *method_xml)
{
    hk_buf b = {0};
    hk_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\""
                    " xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\""
                    " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
                    "<soapenv:Body>");
    hk_buf_puts(&b, method_xml);
    hk_buf_puts(&b, "</soapenv:Body></soapenv:Envelope>");
    return hk_buf_steal(&b);
}

/* ------------------------------------------------------------ tree */

static bool
is_elem(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->name && strcmp((const char *)n->name, name) == 0;
}

xmlNodePtr
hk_vmw_child(const xmlNode *n, const char *name)
{
    if (!n)
        return NULL;
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (is_elem(c, name))
            return c;
    return NULL;
}

xmlNodePtr
hk_vmw_next(const xmlNode *n, const char *name)
{
    if (!n)
        return NULL;
    for (xmlNodePtr c = n->next; c; c = c->next)
        if (is_elem(c, name))
            return c;
    return NULL;
}

char *
hk_vmw_text(const xmlNode *n, bool *oom)
{
    if (!n)
        return NULL;
    xmlChar *t = xmlNodeGetContent(n);
    if (!t) {
        /* an element without text content gives an empty string */
        char *e = strdup("");
        if (!e)
            *oom = true;
        return e;
    }
    char *s = strdup((const char *)t);
    xmlFree(t);
    if (!s) {
        *oom = true;
        return NULL;
    }
    return hk_strtrim(s);
}

char *
hk_vmw_child_text(const xmlNode *n, const char *name, bool *oom)
{
    return hk_vmw_text(hk_vmw_child(n, name), oom);
}

char *
hk_vmw_xsi_type(const xmlNode *n, bool *oom)
{
    if (!n)
        return NULL;
    xmlChar *t = xmlGetNsProp(n, (const xmlChar *)"type", (const xmlChar *)XSI_NS);
    if (!t)
        return NULL;
    const char *v = (const char *)t;
    const char *colon = strrchr(v, ':');
    char *s = strdup(colon ? colon + 1 : v);
    xmlFree(t);
    if (!s)
        *oom = true;
    return s;
}

bool
hk_vmw_child_i64(const xmlNode *n, const char *name, int64_t *out)
{
    bool oom = false;
    char *t = hk_vmw_child_text(n, name, &oom);
    if (!t)
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    bool ok = *t && end && *end == '\0' && errno == 0;
    free(t);
    if (ok)
        *out = (int64_t)v;
    return ok;
}

/* ------------------------------------------------------------ faults */

int
hk_vmw_fault_code(const char *t)
{
    static const struct {
        const char *type;
        int code;
    } map[] = {
        {"InvalidLogin", H2K_ERR_AUTHENTICATION},
        {"NotAuthenticated", H2K_ERR_AUTHENTICATION},
        {"NoPermission", H2K_ERR_AUTHENTICATION},
        {"PasswordExpired", H2K_ERR_AUTHENTICATION},
        {"NotFound", H2K_ERR_NOT_FOUND},
        {"ManagedObjectNotFound", H2K_ERR_NOT_FOUND},
        {"FileNotFound", H2K_ERR_NOT_FOUND},
        {"InvalidPowerState", H2K_ERR_VALIDATION},
        {"InvalidState", H2K_ERR_VALIDATION},
        {"InvalidVmState", H2K_ERR_VALIDATION},
        {"TaskInProgress", H2K_ERR_VALIDATION},
        {"InvalidArgument", H2K_ERR_VALIDATION},
        {"InvalidProperty", H2K_ERR_VALIDATION},
        {"InvalidRequest", H2K_ERR_VALIDATION},
        {"NotSupported", H2K_ERR_UNSUPPORTED},
        {"MethodNotFound", H2K_ERR_UNSUPPORTED},
        {"Timedout", H2K_ERR_TIMEOUT},
        {"RequestCanceled", H2K_ERR_CANCELLED},
        {"HostCommunication", H2K_ERR_CONNECTION},
        {"HostNotConnected", H2K_ERR_CONNECTION},
    };
    if (!t)
        return H2K_ERR_GENERIC;
    for (size_t i = 0; i < HK_ARRAY_LEN(map); i++)
        if (strcmp(t, map[i].type) == 0)
            return map[i].code;
    return H2K_ERR_GENERIC;
}

/* Copies at most MAX_FAULT_TEXT printable characters of @s. */
static char *
clean_text(const char *s, const char *secret)
{
    hk_buf b = {0};
    size_t n = 0, sl = secret ? strlen(secret) : 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (sl && strncmp((const char *)p, secret, sl) == 0) {
            hk_buf_puts(&b, "***"); /* a server echoing the password */
            p += sl - 1;
            continue;
        }
        if (n++ >= MAX_FAULT_TEXT) {
            hk_buf_puts(&b, "...");
            break;
        }
        char ch = (*p < 0x20 || *p == 0x7f) ? ' ' : (char)*p;
        hk_buf_append(&b, &ch, 1);
    }
    if (!b.data)
        hk_buf_puts(&b, "");
    return hk_buf_steal(&b);
}

/* The fault type of a <detail>: its first element's xsi:type, else its name
 * without the "Fault" suffix. */
static char *
fault_type(const xmlNode *fault, bool *oom)
{
    xmlNodePtr detail = hk_vmw_child(fault, "detail");
    if (!detail)
        return NULL;
    for (xmlNodePtr c = detail->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || !c->name)
            continue;
        char *t = hk_vmw_xsi_type(c, oom);
        if (t && *t)
            return t;
        free(t);
        if (*oom)
            return NULL;
        size_t l = strlen((const char *)c->name);
        if (l > 5 && strcmp((const char *)c->name + l - 5, "Fault") == 0)
            l -= 5;
        char *s = hk_strndup((const char *)c->name, l);
        if (!s)
            *oom = true;
        return s;
    }
    return NULL;
}

static int
record_fault(h2k_ctx *ctx, const xmlNode *fault, const char *host, const char *method,
             const char *secret, char **fault_type_out)
{
    bool oom = false;
    char *type = fault_type(fault, &oom);
    char *fs = hk_vmw_child_text(fault, "faultstring", &oom);
    char *fc = hk_vmw_child_text(fault, "faultcode", &oom);
    if (oom) {
        free(type);
        free(fs);
        free(fc);
        return hk_error_nomem(ctx);
    }
    char *text = clean_text(fs, secret);
    char *tname = clean_text(type ? type : (fc ? fc : "SOAP fault"), secret);
    int code = hk_vmw_fault_code(type);
    int rc;
    if (!text || !tname)
        rc = hk_error_nomem(ctx);
    else
        rc = hk_error(ctx, code, "%s: %s: %s: %s", host, method, tname,
                      *text ? text : "(no message)");
    if (fault_type_out && type) {
        *fault_type_out = type;
        type = NULL;
    }
    free(text);
    free(tname);
    free(type);
    free(fs);
    free(fc);
    return rc;
}

void
hk_vmw_response_clear(hk_vmw_response *r)
{
    if (!r)
        return;
    if (r->doc)
        xmlFreeDoc(r->doc);
    r->doc = NULL;
    r->result = NULL;
}

static void
silent_error(void *ud, const char *msg, ...)
{
    (void)ud;
    (void)msg;
}

int
hk_vmw_soap_parse(h2k_ctx *ctx, const char *body, size_t len, long http_status, const char *host,
                  const char *method, const char *secret, hk_vmw_response *out,
                  char **fault_type_out)
{
    out->doc = NULL;
    out->result = NULL;
    if (fault_type_out)
        *fault_type_out = NULL;
    bool http_err = http_status >= 400 || http_status < 100;
    if (!body || len == 0) {
        if (http_err)
            return hk_error(ctx, H2K_ERR_CONNECTION, "%s: %s: HTTP status %ld with an empty body",
                            host, method, http_status);
        return hk_error(ctx, H2K_ERR_FORMAT, "%s: %s: empty response", host, method);
    }
    if (len > HK_VMW_MAX_RESPONSE || len > INT32_MAX)
        return hk_error(ctx, H2K_ERR_FORMAT, "%s: %s: response of %zu bytes is too large", host,
                        method, len);
    if (memmem(body, len, "<!DOCTYPE", 9) || memmem(body, len, "<!doctype", 9))
        return hk_error(ctx, H2K_ERR_FORMAT, "%s: %s: the response has a DOCTYPE (refused)", host,
                        method);
    xmlSetGenericErrorFunc(NULL, silent_error);
    xmlDocPtr doc = xmlReadMemory(body, (int)len, "response", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        if (http_err)
            return hk_error(ctx, H2K_ERR_CONNECTION,
                            "%s: %s: HTTP status %ld and the body is not a SOAP response", host,
                            method, http_status);
        return hk_error(ctx, H2K_ERR_FORMAT, "%s: %s: the response is not well-formed XML", host,
                        method);
    }
    int rc = 0;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr bodyn = NULL;
    if (doc->intSubset || !is_elem(root, "Envelope") || !(bodyn = hk_vmw_child(root, "Body"))) {
        rc = http_err ? hk_error(ctx, H2K_ERR_CONNECTION,
                                 "%s: %s: HTTP status %ld and the body is not a SOAP envelope",
                                 host, method, http_status)
                      : hk_error(ctx, H2K_ERR_FORMAT, "%s: %s: the response is not a SOAP envelope",
                                 host, method);
        goto fail;
    }
    xmlNodePtr first = NULL;
    for (xmlNodePtr c = bodyn->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE) {
            first = c;
            break;
        }
    if (is_elem(first, "Fault")) {
        rc = record_fault(ctx, first, host, method, secret, fault_type_out);
        goto fail;
    }
    if (http_err) {
        rc = hk_error(ctx, H2K_ERR_CONNECTION, "%s: %s: HTTP status %ld", host, method,
                      http_status);
        goto fail;
    }
    size_t ml = strlen(method);
    if (!first || strncmp((const char *)first->name, method, ml) != 0 ||
        strcmp((const char *)first->name + ml, "Response") != 0) {
        rc = hk_error(ctx, H2K_ERR_FORMAT, "%s: %s: the response has no <%sResponse> element", host,
                      method, method);
        goto fail;
    }
    out->doc = doc;
    out->result = first;
    return 0;
fail:
    xmlFreeDoc(doc);
    return rc;
}
