/* h2k_guest_identity: release, names, JSON form. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/internal.h"
#include "core/json_util.h"
#include "gfs.h"
#include "hyper2kvm/h2k_guest.h"

const char *
h2k_guest_type_name(h2k_guest_type type)
{
    switch (type) {
    case H2K_GUEST_LINUX:
        return "linux";
    case H2K_GUEST_WINDOWS:
        return "windows";
    case H2K_GUEST_UNKNOWN:
        break;
    }
    return "unknown";
}

static void
windows_info_free(h2k_windows_info *w)
{
    if (!w)
        return;
    free(w->product_name);
    free(w->installation_type);
    free(w->edition);
    free(w->os_short);
    free(w->arch);
    free(w->system_root);
    free(w->current_control_set);
    for (size_t i = 0; i < w->n_drives; i++) {
        free(w->drive_letters[i]);
        free(w->drive_devices[i]);
    }
    free(w->drive_letters);
    free(w->drive_devices);
    free(w->vmware_tools_product_code);
    for (size_t i = 0; i < w->n_adapters; i++) {
        h2k_win_adapter *a = &w->adapters[i];
        free(a->guid);
        free(a->description);
        for (size_t k = 0; k < a->n_addresses; k++)
            free(a->addresses[k]);
        free(a->addresses);
        free(a->prefixes);
        free(a->gateway);
        for (size_t k = 0; k < a->n_dns; k++)
            free(a->dns[k]);
        free(a->dns);
    }
    free(w->adapters);
    free(w);
}

static json_object *
strv_json(char *const *v, size_t n)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(v[i] ? v[i] : ""));
    return a;
}

static json_object *
windows_info_json(const h2k_windows_info *w)
{
    json_object *o = json_object_new_object();
    hk_json_add_str(o, "product_name", w->product_name);
    json_object_object_add(o, "major_version", json_object_new_int(w->major_version));
    json_object_object_add(o, "minor_version", json_object_new_int(w->minor_version));
    json_object_object_add(o, "build", json_object_new_int(w->build));
    json_object_object_add(o, "server", json_object_new_boolean(w->server));
    hk_json_add_str(o, "installation_type", w->installation_type);
    hk_json_add_str(o, "edition", w->edition);
    hk_json_add_str(o, "os_short", w->os_short);
    hk_json_add_str(o, "arch", w->arch);
    hk_json_add_str(o, "system_root", w->system_root);
    hk_json_add_str(o, "current_control_set", w->current_control_set);
    json_object *d = json_object_new_array();
    for (size_t i = 0; i < w->n_drives; i++) {
        json_object *jd = json_object_new_object();
        hk_json_add_str(jd, "letter", w->drive_letters[i]);
        hk_json_add_str(jd, "device", w->drive_devices[i]);
        json_object_array_add(d, jd);
    }
    json_object_object_add(o, "drives", d);
    json_object_object_add(o, "hibernated", json_object_new_boolean(w->hibernated));
    json_object_object_add(o, "fast_startup", json_object_new_boolean(w->fast_startup));
    json_object_object_add(o, "vmware_tools", json_object_new_boolean(w->vmware_tools));
    hk_json_add_str(o, "vmware_tools_product_code", w->vmware_tools_product_code);
    json_object *ad = json_object_new_array();
    for (size_t i = 0; i < w->n_adapters; i++) {
        const h2k_win_adapter *a = &w->adapters[i];
        json_object *ja = json_object_new_object();
        hk_json_add_str(ja, "guid", a->guid);
        hk_json_add_str(ja, "description", a->description);
        json_object_object_add(ja, "dhcp", json_object_new_boolean(a->dhcp));
        json_object *addrs = json_object_new_array();
        for (size_t k = 0; k < a->n_addresses; k++) {
            char *cidr = hk_asprintf("%s/%d", a->addresses[k], a->prefixes[k]);
            json_object_array_add(addrs, json_object_new_string(cidr ? cidr : ""));
            free(cidr);
        }
        json_object_object_add(ja, "addresses", addrs);
        hk_json_add_str(ja, "gateway", a->gateway);
        json_object_object_add(ja, "dns", strv_json(a->dns, a->n_dns));
        json_object_array_add(ad, ja);
    }
    json_object_object_add(o, "adapters", ad);
    return o;
}

void
h2k_guest_identity_free(h2k_guest_identity *id)
{
    if (!id)
        return;
    windows_info_free(id->windows);
    free(id->os_id);
    free(id->os_version);
    free(id->os_pretty);
    free(id->distro_family);
    free(id->architecture);
    free(id->init_system);
    free(id->package_manager);
    free(id->hostname);
    free(id->root_device);
    free(id->selinux);
    free(id->network_config);
    for (size_t i = 0; i < id->n_mounts; i++) {
        free(id->mounts[i].mountpoint);
        free(id->mounts[i].device);
    }
    free(id->mounts);
    for (size_t i = 0; i < id->n_kernels; i++) {
        free(id->kernels[i].version);
        free(id->kernels[i].kernel_path);
        free(id->kernels[i].initrd_path);
    }
    free(id->kernels);
    free(id);
}

/* strdup of an optional string into *dst; counts a failed copy in *bad.  Every
 * pointer of a copy is replaced, even after a failure, so that freeing the copy
 * never frees the original's strings. */
static void
dup_str(char **dst, const char *src, int *bad)
{
    *dst = src ? strdup(src) : NULL;
    if (src && !*dst)
        (*bad)++;
}

int
hk_guest_identity_dup(h2k_ctx *ctx, const h2k_guest_identity *id, h2k_guest_identity **out)
{
    *out = NULL;
    h2k_guest_identity *c = calloc(1, sizeof(*c));
    if (!c)
        return hk_error_nomem(ctx);
    *c = *id; /* scalars; every pointer is replaced below */
    c->mounts = NULL;
    c->n_mounts = 0;
    c->kernels = NULL;
    c->n_kernels = 0;
    int bad = 0;
    dup_str(&c->os_id, id->os_id, &bad);
    dup_str(&c->os_version, id->os_version, &bad);
    dup_str(&c->os_pretty, id->os_pretty, &bad);
    dup_str(&c->distro_family, id->distro_family, &bad);
    dup_str(&c->architecture, id->architecture, &bad);
    dup_str(&c->init_system, id->init_system, &bad);
    dup_str(&c->package_manager, id->package_manager, &bad);
    dup_str(&c->hostname, id->hostname, &bad);
    dup_str(&c->root_device, id->root_device, &bad);
    dup_str(&c->selinux, id->selinux, &bad);
    dup_str(&c->network_config, id->network_config, &bad);
    if (!bad && id->n_mounts) {
        if (!(c->mounts = calloc(id->n_mounts, sizeof(*c->mounts))))
            bad++;
        for (size_t i = 0; !bad && i < id->n_mounts; i++) {
            c->n_mounts = i + 1;
            dup_str(&c->mounts[i].mountpoint, id->mounts[i].mountpoint, &bad);
            dup_str(&c->mounts[i].device, id->mounts[i].device, &bad);
        }
    }
    if (!bad && id->n_kernels) {
        if (!(c->kernels = calloc(id->n_kernels, sizeof(*c->kernels))))
            bad++;
        for (size_t i = 0; !bad && i < id->n_kernels; i++) {
            c->n_kernels = i + 1;
            c->kernels[i] = id->kernels[i];
            dup_str(&c->kernels[i].version, id->kernels[i].version, &bad);
            dup_str(&c->kernels[i].kernel_path, id->kernels[i].kernel_path, &bad);
            dup_str(&c->kernels[i].initrd_path, id->kernels[i].initrd_path, &bad);
        }
    }
    if (bad) {
        h2k_guest_identity_free(c);
        return hk_error_nomem(ctx);
    }
    *out = c;
    return 0;
}

char *
h2k_guest_identity_to_json(const h2k_guest_identity *id)
{
    if (!id)
        return NULL;
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    hk_json_add_str(o, "type", h2k_guest_type_name(id->type));
    hk_json_add_str(o, "os_id", id->os_id);
    hk_json_add_str(o, "os_version", id->os_version);
    hk_json_add_str(o, "os_pretty", id->os_pretty);
    hk_json_add_str(o, "distro_family", id->distro_family);
    json_object_object_add(o, "major_version", json_object_new_int(id->major_version));
    json_object_object_add(o, "minor_version", json_object_new_int(id->minor_version));
    hk_json_add_str(o, "architecture", id->architecture);
    hk_json_add_str(o, "firmware", h2k_firmware_name(id->firmware));
    hk_json_add_str(o, "init_system", id->init_system);
    hk_json_add_str(o, "package_manager", id->package_manager);
    hk_json_add_str(o, "hostname", id->hostname);
    hk_json_add_str(o, "root_device", id->root_device);
    json_object *m = json_object_new_array();
    for (size_t i = 0; i < id->n_mounts; i++) {
        json_object *jm = json_object_new_object();
        hk_json_add_str(jm, "mountpoint", id->mounts[i].mountpoint);
        hk_json_add_str(jm, "device", id->mounts[i].device);
        json_object_array_add(m, jm);
    }
    json_object_object_add(o, "mounts", m);
    json_object *k = json_object_new_array();
    for (size_t i = 0; i < id->n_kernels; i++) {
        const h2k_guest_kernel *kk = &id->kernels[i];
        json_object *jk = json_object_new_object();
        hk_json_add_str(jk, "version", kk->version);
        hk_json_add_str(jk, "kernel_path", kk->kernel_path);
        hk_json_add_str(jk, "initrd_path", kk->initrd_path);
        json_object_object_add(jk, "has_virtio_blk", json_object_new_boolean(kk->has_virtio_blk));
        json_object_object_add(jk, "has_virtio_scsi", json_object_new_boolean(kk->has_virtio_scsi));
        json_object_object_add(jk, "has_virtio_net", json_object_new_boolean(kk->has_virtio_net));
        json_object_object_add(jk, "has_virtio_pci", json_object_new_boolean(kk->has_virtio_pci));
        json_object_object_add(jk, "initrd_has_virtio",
                               kk->initrd_has_virtio < 0
                                   ? NULL
                                   : json_object_new_boolean(kk->initrd_has_virtio));
        json_object_array_add(k, jk);
    }
    json_object_object_add(o, "kernels", k);
    json_object_object_add(o, "vmware_tools", json_object_new_boolean(id->vmware_tools));
    hk_json_add_str(o, "selinux", id->selinux);
    hk_json_add_str(o, "network_config", id->network_config);
    if (id->windows)
        json_object_object_add(o, "windows", windows_info_json(id->windows));
    return hk_json_steal_string(o);
}
