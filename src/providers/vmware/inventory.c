/*
 * vSphere client, the inventory: PropertyCollector paging, container views,
 * VM listing, lookup and description, tasks, the datacenter of an object.
 * The session these calls run on is in client.c.
 *
 * References: VMware vSphere Web Services API (vim25):
 * ViewManager.CreateContainerView, PropertyCollector.RetrievePropertiesEx /
 * ContinueRetrievePropertiesEx / CancelRetrievePropertiesEx, Task.info
 * (TaskInfo).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "providers/vmware/vmw_internal.h"

/* ------------------------------------------------------------ properties */

typedef struct retrieve_state {
    hk_vmw_obj_fn fn;
    void *ud;
} retrieve_state;

static int
cancel_retrieve(h2k_vmware_client *c, const char *token)
{
    hk_buf b = {0};
    hk_buf_puts(&b, "<token>");
    hk_buf_xml_escape(&b, token);
    hk_buf_puts(&b, "</token>");
    hk_vmw_response r = {0};
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
    hk_buf b = {0};
    hk_buf_puts(&b, "<specSet><propSet><type>");
    hk_buf_xml_escape(&b, type);
    hk_buf_puts(&b, "</type><all>false</all>");
    for (size_t i = 0; paths && paths[i]; i++) {
        hk_buf_puts(&b, "<pathSet>");
        hk_buf_xml_escape(&b, paths[i]);
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
    hk_vmw_response r = {0};
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
        hk_buf_xml_escape(&b, token);
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
    hk_buf b = {0};
    hk_vmw_buf_moref(&b, "container", "Folder", container);
    hk_buf_puts(&b, "<type>");
    hk_buf_xml_escape(&b, type);
    hk_buf_puts(&b, "</type><recursive>true</recursive>");
    char *args = hk_buf_steal(&b);
    if (!args)
        return hk_error_nomem(c->ctx);
    hk_vmw_response r = {0};
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
    hk_vmw_response r = {0};
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
    static const char *const paths[] = {"name", "vmFolder", NULL};
    dc_find f = {c, NULL, 0};
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
    static const char *const paths[] = {"name", "runtime.powerState", "config.uuid",
                                        "config.files.vmPathName", NULL};
    list_state s = {c->ctx, NULL, 0, 0};
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
    static const char *const paths[] = {"name", NULL};
    list_state s = {c->ctx, NULL, 0, 0};
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
    static const char *const paths[] = {"name",
                                        "runtime.powerState",
                                        "config.name",
                                        "config.uuid",
                                        "config.guestId",
                                        "config.firmware",
                                        "config.hardware",
                                        "config.files.vmPathName",
                                        "config.bootOptions.efiSecureBootEnabled",
                                        NULL};
    memset(vm, 0, sizeof(*vm));
    one_vm o = {c, vm, false};
    int rc = hk_vmw_retrieve(c, "VirtualMachine", paths, "VirtualMachine", moref, false, one_vm_cb,
                             &o);
    if (rc == 0 && !o.seen)
        rc = hk_error(c->ctx, H2K_ERR_NOT_FOUND, "%s: RetrievePropertiesEx: VM %s not found",
                      c->host, moref);
    /* names of distributed port groups */
    for (size_t i = 0; rc == 0 && i < vm->n_pg_keys; i++) {
        static const char *const np[] = {"name", NULL};
        one_name on = {c->ctx, NULL};
        int r2 = hk_vmw_retrieve(c, "DistributedVirtualPortgroup", np,
                                 "DistributedVirtualPortgroup", vm->pg_keys[i], false, one_name_cb,
                                 &on);
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
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int
hk_vmw_wait_task(h2k_vmware_client *c, const char *task, const char *what, char **result)
{
    static const char *const paths[] = {"info", NULL};
    if (result)
        *result = NULL;
    double start = hk_now();
    unsigned delay = 50;
    for (;;) {
        task_state t = {c, what, 0, NULL};
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
        static const char *const paths[] = {"parent", "name", NULL};
        parent_state p = {c->ctx, NULL, NULL, NULL};
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
