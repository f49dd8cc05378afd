/*
 * Pure transforms for guests coming from Azure (no I/O; see xform.h).
 */
#ifndef HK_FIX_AZURE_XFORM_H
#define HK_FIX_AZURE_XFORM_H

#include "xform.h"

/* A cloud-init configuration (/etc/cloud/cloud.cfg, cloud.cfg.d/NAME.cfg): "Azure" is
 * removed from a top-level datasource_list, in flow ("[ Azure, None ]") or block
 * ("- Azure") form; a list left empty becomes NoCloud, None (on KVM the Azure
 * datasource waits minutes for Azure's wire server, then fails).  Other keys and
 * comments are kept as they are.  Returns 0 (out->text NULL when unchanged) or -1
 * on allocation failure. */
int hk_xform_cloudinit_azure(const char *text, hk_xform_out *out);

/* /etc/fstab: entries of Azure's temporary resource disk
 * (/dev/disk/cloud/azure_resource*, a disk the KVM guest does not have) are
 * commented out.  Returns 0 (out->text NULL when unchanged) or -1 on allocation failure. */
int hk_xform_fstab_azure(const char *text, hk_xform_out *out);

#endif
