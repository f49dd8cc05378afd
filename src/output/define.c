/*
 * Defining a domain in libvirt, and writing the domain XML to a file.
 *
 * libvirt reports errors in two ways: a thread-local "last error" that we read
 * after each failing call, and a handler called as each error is raised.  The
 * handler is per connection here (virConnSetErrorFunc) and sends the message to
 * the context's log; libvirt's process-wide handler (virSetErrorFunc) is left
 * alone, because a library must not change it behind the application's back.
 * The one error raised before a connection exists (virConnectOpen failing) is
 * therefore printed by libvirt's default handler unless the application calls
 * h2k_output_quiet_libvirt_stderr() or sets its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "hyper2kvm/h2k_output.h"

#include "core/internal.h"
#include "core/util.h"
#include "output_internal.h"

#define LV_DOMAIN "libvirt"

static void
quiet_error_fn(void *userdata, virErrorPtr err)
{
    (void)userdata;
    (void)err;
}

void
h2k_output_quiet_libvirt_stderr(void)
{
    virSetErrorFunc(NULL, quiet_error_fn);
}

/* Per-connection handler: libvirt's messages go to the context's log. */
static void
conn_error_fn(void *userdata, virErrorPtr err)
{
    h2k_ctx *ctx = userdata;
    if (ctx && err && err->message)
        hk_log(ctx, H2K_LOG_DEBUG, LV_DOMAIN, "%s", err->message);
}

static const char *
last_message(void)
{
    virErrorPtr e = virGetLastError();
    return (e && e->message) ? e->message : "unknown libvirt error";
}

static int
last_code(void)
{
    virErrorPtr e = virGetLastError();
    return e ? e->code : VIR_ERR_OK;
}

/* Reads the <name> and <uuid> of a domain document (no network, no entities,
 * no DTD).  Caller frees both. */
static int
domain_identity(h2k_ctx *ctx, const char *xml, char **name, char **uuid)
{
    *name = NULL;
    *uuid = NULL;
    size_t len = strlen(xml);
    if (len > (size_t)64 << 20)
        return hk_error_at(ctx, H2K_ERR_VALIDATION, NULL, -1, "xml",
                           "domain XML is larger than 64 MiB");
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return hk_error_at(ctx, H2K_ERR_VALIDATION, NULL, -1, "xml",
                           "domain XML is not well-formed");
    int rc = 0;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root || !xmlStrEqual(root->name, (const xmlChar *)"domain")) {
        rc = hk_error_at(ctx, H2K_ERR_VALIDATION, NULL, -1, "xml",
                         "the root element is not <domain>");
        goto done;
    }
    for (xmlNodePtr n = root->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        char **slot = xmlStrEqual(n->name, (const xmlChar *)"name")   ? name
                      : xmlStrEqual(n->name, (const xmlChar *)"uuid") ? uuid
                                                                      : NULL;
        if (!slot || *slot)
            continue;
        xmlChar *t = xmlNodeGetContent(n);
        *slot = t ? strdup((const char *)t) : NULL;
        xmlFree(t);
        if (!*slot) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
    }
    if (!*name || !**name)
        rc = hk_error_at(ctx, H2K_ERR_VALIDATION, NULL, -1, "name", "the domain XML has no <name>");
done:
    xmlFreeDoc(doc);
    if (rc < 0) {
        free(*name);
        free(*uuid);
        *name = *uuid = NULL;
    }
    return rc;
}

static int
map_define_error(h2k_ctx *ctx, const char *uri, const char *name)
{
    int code = last_code();
    const char *msg = last_message();
    switch (code) {
    case VIR_ERR_XML_ERROR:
    case VIR_ERR_XML_DETAIL:
    case VIR_ERR_XML_INVALID_SCHEMA:
    case VIR_ERR_CONFIG_UNSUPPORTED:
    case VIR_ERR_INVALID_ARG:
    case VIR_ERR_NO_SUPPORT:
    case VIR_ERR_NO_DOMAIN:
        return hk_error_at(ctx, H2K_ERR_VALIDATION, NULL, -1, "xml",
                           "libvirt refused domain %s: %s", name, msg);
    case VIR_ERR_DOM_EXIST:
        return hk_error(ctx, H2K_ERR_EXISTS, "libvirt at %s: %s", uri, msg);
    case VIR_ERR_OPERATION_FAILED:
        if (strstr(msg, "already"))
            return hk_error(ctx, H2K_ERR_EXISTS, "libvirt at %s: %s", uri, msg);
        break;
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_RPC:
        return hk_error(ctx, H2K_ERR_CONNECTION, "libvirt at %s: %s", uri, msg);
    default:
        break;
    }
    return hk_error(ctx, H2K_ERR_GENERIC, "libvirt at %s could not define domain %s: %s", uri, name,
                    msg);
}

int
h2k_output_define(h2k_ctx *ctx, const char *uri, const char *xml, char **name_out)
{
    if (name_out)
        *name_out = NULL;
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!xml)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_output_define: NULL XML");
    const char *shown = uri ? uri : "(default URI)";
    char *name = NULL, *uuid = NULL;
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    int rc = domain_identity(ctx, xml, &name, &uuid);
    if (rc < 0)
        goto done;

    conn = virConnectOpen(uri);
    if (!conn) {
        int code = last_code();
        int h2k = (code == VIR_ERR_AUTH_FAILED || code == VIR_ERR_AUTH_CANCELLED ||
                   code == VIR_ERR_AUTH_UNAVAILABLE)
                      ? H2K_ERR_AUTHENTICATION
                      : H2K_ERR_CONNECTION;
        rc = hk_error(ctx, h2k, "cannot connect to libvirt at %s: %s", shown, last_message());
        goto done;
    }
    virConnSetErrorFunc(conn, ctx, conn_error_fn);

    /* Defining over an existing domain would silently replace it: refuse. */
    dom = virDomainLookupByName(conn, name);
    if (dom) {
        rc = hk_error(ctx, H2K_ERR_EXISTS, "libvirt at %s already has a domain named %s", shown,
                      name);
        goto done;
    }
    if (uuid && (dom = virDomainLookupByUUIDString(conn, uuid)) != NULL) {
        const char *other = virDomainGetName(dom);
        rc = hk_error(ctx, H2K_ERR_EXISTS, "libvirt at %s already has a domain with UUID %s (%s)",
                      shown, uuid, other ? other : "?");
        goto done;
    }
    virResetLastError();

    dom = virDomainDefineXMLFlags(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
    if (!dom) {
        rc = map_define_error(ctx, shown, name);
        goto done;
    }
    hk_info(ctx, LV_DOMAIN, "defined domain %s at %s", name, shown);
    if (name_out) {
        const char *n = virDomainGetName(dom);
        *name_out = strdup(n ? n : name);
        if (!*name_out) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
    }
    rc = 0;
done:
    if (dom)
        virDomainFree(dom);
    if (conn) {
        virConnSetErrorFunc(conn, NULL, NULL);
        virConnectClose(conn);
    }
    free(name);
    free(uuid);
    return rc;
}

int
h2k_output_write_file(h2k_ctx *ctx, const char *path, const char *xml)
{
    return hk_output_write_file_mode(ctx, path, xml, 0, NULL);
}

int
hk_output_write_file_mode(h2k_ctx *ctx, const char *path, const char *xml, unsigned mode,
                          const char *source)
{
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!path || !*path || !xml)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_output_write_file: NULL argument");
    size_t len = strlen(xml);
    int rc = hk_write_file_atomic(ctx, path, xml, len, mode, source);
    if (rc < 0)
        return rc;
    hk_debug(ctx, "output", "wrote %s (%zu bytes)", path, len);
    return 0;
}
