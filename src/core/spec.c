/*
 * h2k_vm_spec: allocation, release, names and JSON form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hyper2kvm/h2k_spec.h"
#include "internal.h"
#include "json_util.h"

h2k_vm_spec *
h2k_vm_spec_new(void)
{
    h2k_vm_spec *s = calloc(1, sizeof(*s));
    if (s)
        s->firmware = H2K_FIRMWARE_UNKNOWN;
    return s;
}

void
h2k_vm_spec_free(h2k_vm_spec *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_disks; i++) {
        h2k_vm_disk *d = &s->disks[i];
        free(d->path);
        free(d->file_ref);
        free(d->controller_model);
        free(d->format_hint);
        free(d->compression);
        free(d->container_path);
    }
    for (size_t i = 0; i < s->n_removables; i++) {
        free(s->removables[i].kind);
        free(s->removables[i].path);
    }
    for (size_t i = 0; i < s->n_nics; i++) {
        free(s->nics[i].mac);
        free(s->nics[i].network);
        free(s->nics[i].model);
    }
    free(s->disks);
    free(s->removables);
    free(s->nics);
    free(s->name);
    free(s->uuid);
    free(s->source_type);
    free(s->source_path);
    free(s->os_type);
    free(s);
}

int
h2k_vm_spec_add_disk(h2k_vm_spec *spec, h2k_vm_disk **out)
{
    if (out)
        *out = NULL;
    if (!spec)
        return H2K_ERR_INVALID_ARG;
    h2k_vm_disk *d = hk_array_grow((void **)&spec->disks, &spec->n_disks, sizeof(*d));
    if (!d)
        return H2K_ERR_NO_MEMORY;
    d->bus = H2K_BUS_UNKNOWN;
    d->controller_index = -1;
    d->unit = -1;
    if (out)
        *out = d;
    return 0;
}

int
h2k_vm_spec_add_removable(h2k_vm_spec *spec, h2k_vm_removable **out)
{
    if (out)
        *out = NULL;
    if (!spec)
        return H2K_ERR_INVALID_ARG;
    h2k_vm_removable *r = hk_array_grow((void **)&spec->removables, &spec->n_removables,
                                        sizeof(*r));
    if (!r)
        return H2K_ERR_NO_MEMORY;
    r->bus = H2K_BUS_UNKNOWN;
    r->slot = -1;
    if (out)
        *out = r;
    return 0;
}

int
h2k_vm_spec_add_nic(h2k_vm_spec *spec, h2k_vm_nic **out)
{
    if (out)
        *out = NULL;
    if (!spec)
        return H2K_ERR_INVALID_ARG;
    h2k_vm_nic *n = hk_array_grow((void **)&spec->nics, &spec->n_nics, sizeof(*n));
    if (!n)
        return H2K_ERR_NO_MEMORY;
    if (out)
        *out = n;
    return 0;
}

const h2k_vm_disk *
h2k_vm_spec_disk_at(const h2k_vm_spec *spec, size_t i)
{
    return spec && i < spec->n_disks ? &spec->disks[i] : NULL;
}

const h2k_vm_removable *
h2k_vm_spec_removable_at(const h2k_vm_spec *spec, size_t i)
{
    return spec && i < spec->n_removables ? &spec->removables[i] : NULL;
}

const h2k_vm_nic *
h2k_vm_spec_nic_at(const h2k_vm_spec *spec, size_t i)
{
    return spec && i < spec->n_nics ? &spec->nics[i] : NULL;
}

const char *
h2k_bus_name(h2k_bus bus)
{
    switch (bus) {
    case H2K_BUS_IDE:
        return "ide";
    case H2K_BUS_SATA:
        return "sata";
    case H2K_BUS_SCSI:
        return "scsi";
    case H2K_BUS_NVME:
        return "nvme";
    case H2K_BUS_VIRTIO:
        return "virtio";
    case H2K_BUS_FLOPPY:
        return "floppy";
    case H2K_BUS_UNKNOWN:
        break;
    }
    return "unknown";
}

int
h2k_bus_from_name(const char *name)
{
    static const h2k_bus all[] = {H2K_BUS_IDE,  H2K_BUS_SATA,   H2K_BUS_SCSI,
                                  H2K_BUS_NVME, H2K_BUS_VIRTIO, H2K_BUS_FLOPPY};
    for (size_t i = 0; name && i < HK_ARRAY_LEN(all); i++)
        if (strcmp(name, h2k_bus_name(all[i])) == 0)
            return (int)all[i];
    return -1;
}

const char *
h2k_firmware_name(h2k_firmware fw)
{
    switch (fw) {
    case H2K_FIRMWARE_BIOS:
        return "bios";
    case H2K_FIRMWARE_UEFI:
        return "uefi";
    case H2K_FIRMWARE_UNKNOWN:
        break;
    }
    return "unknown";
}

char *
h2k_vm_spec_to_json(const h2k_vm_spec *s)
{
    if (!s)
        return NULL;
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    hk_json_add_str(o, "name", s->name);
    hk_json_add_str(o, "uuid", s->uuid);
    hk_json_add_str(o, "source_type", s->source_type);
    hk_json_add_str(o, "source_path", s->source_path);
    hk_json_add_u64(o, "memory_bytes", s->memory_bytes);
    hk_json_add_u64(o, "vcpus", s->vcpus);
    hk_json_add_u64(o, "cores_per_socket", s->cores_per_socket);
    hk_json_add_str(o, "firmware", h2k_firmware_name(s->firmware));
    json_object_object_add(o, "secure_boot", json_object_new_boolean(s->secure_boot));
    if (s->vtpm) /* only when present: descriptions without one stay as they were */
        json_object_object_add(o, "vtpm", json_object_new_boolean(1));
    hk_json_add_str(o, "os_type", s->os_type);

    json_object *disks = json_object_new_array();
    for (size_t i = 0; i < s->n_disks; i++) {
        const h2k_vm_disk *d = &s->disks[i];
        json_object *jd = json_object_new_object();
        hk_json_add_str(jd, "path", d->path);
        hk_json_add_str(jd, "file_ref", d->file_ref);
        hk_json_add_str(jd, "bus", h2k_bus_name(d->bus));
        hk_json_add_str(jd, "controller_model", d->controller_model);
        json_object_object_add(jd, "controller_index", json_object_new_int(d->controller_index));
        json_object_object_add(jd, "unit", json_object_new_int(d->unit));
        hk_json_add_u64(jd, "capacity", d->capacity);
        hk_json_add_u64(jd, "populated_size", d->populated_size);
        hk_json_add_str(jd, "format_hint", d->format_hint);
        hk_json_add_str(jd, "compression", d->compression);
        if (d->container_path) {
            hk_json_add_str(jd, "container_path", d->container_path);
            hk_json_add_u64(jd, "container_offset", d->container_offset);
            hk_json_add_u64(jd, "container_size", d->container_size);
        }
        json_object_array_add(disks, jd);
    }
    json_object_object_add(o, "disks", disks);

    json_object *rem = json_object_new_array();
    for (size_t i = 0; i < s->n_removables; i++) {
        const h2k_vm_removable *r = &s->removables[i];
        json_object *jr = json_object_new_object();
        hk_json_add_str(jr, "kind", r->kind);
        hk_json_add_str(jr, "bus", h2k_bus_name(r->bus));
        json_object_object_add(jr, "slot", json_object_new_int(r->slot));
        hk_json_add_str(jr, "path", r->path);
        json_object_array_add(rem, jr);
    }
    json_object_object_add(o, "removables", rem);

    json_object *nics = json_object_new_array();
    for (size_t i = 0; i < s->n_nics; i++) {
        const h2k_vm_nic *n = &s->nics[i];
        json_object *jn = json_object_new_object();
        hk_json_add_str(jn, "mac", n->mac);
        hk_json_add_str(jn, "network", n->network);
        json_object_object_add(jn, "is_bridge", json_object_new_boolean(n->is_bridge));
        hk_json_add_str(jn, "model", n->model);
        json_object_array_add(nics, jn);
    }
    json_object_object_add(o, "nics", nics);

    char *out = hk_json_steal_string(o);
    return out;
}
