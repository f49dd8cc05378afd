/*
 * The minimal libvirt domain of a boot test: a pure function of a plan, so
 * that it is tested against golden files.
 */
#ifndef HK_TEST_LIBVIRT_XML_H
#define HK_TEST_LIBVIRT_XML_H

#include "boot_internal.h"

typedef struct hk_libvirt_plan {
    const char *name; /* domain name */
    const char *type; /* "kvm" or "qemu" */
    hk_boot_vm vm;
    long run_as_uid; /* >= 0: qemu runs as uid:gid, no relabelling */
    long run_as_gid;
} hk_libvirt_plan;

/* Builds the domain XML (caller frees).  Returns 0, H2K_ERR_INVALID_ARG or
 * H2K_ERR_NO_MEMORY. */
int hk_libvirt_xml(h2k_ctx *ctx, const hk_libvirt_plan *plan, char **out);

#endif
