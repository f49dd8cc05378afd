/* Disk format names. */
#include <string.h>
#include <strings.h>

#include "hyper2kvm/h2k_disk.h"

const char *
h2k_disk_format_name(h2k_disk_format fmt)
{
    switch (fmt) {
    case H2K_FORMAT_RAW:
        return "raw";
    case H2K_FORMAT_VMDK:
        return "vmdk";
    case H2K_FORMAT_VHD:
        return "vhd";
    case H2K_FORMAT_VHDX:
        return "vhdx";
    case H2K_FORMAT_QCOW2:
        return "qcow2";
    case H2K_FORMAT_UNKNOWN:
        break;
    }
    return "unknown";
}

const char *
h2k_disk_format_qemu_name(h2k_disk_format fmt)
{
    if (fmt == H2K_FORMAT_VHD)
        return "vpc"; /* qemu's name of the VHD driver */
    const char *name = h2k_disk_format_name(fmt);
    return strcmp(name, "unknown") == 0 ? NULL : name;
}

h2k_disk_format
h2k_disk_format_from_name(const char *name)
{
    static const struct {
        const char *name;
        h2k_disk_format fmt;
    } names[] = {
        {"raw", H2K_FORMAT_RAW},     {"img", H2K_FORMAT_RAW}, {"vmdk", H2K_FORMAT_VMDK},
        {"vhd", H2K_FORMAT_VHD},     {"vpc", H2K_FORMAT_VHD}, {"vhdx", H2K_FORMAT_VHDX},
        {"qcow2", H2K_FORMAT_QCOW2},
    };
    if (!name)
        return H2K_FORMAT_UNKNOWN;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(name, names[i].name) == 0)
            return names[i].fmt;
    return H2K_FORMAT_UNKNOWN;
}
