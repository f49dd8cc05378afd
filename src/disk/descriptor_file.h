/* Reading a VM descriptor file (OVF, VMX) into a spec: shared by the readers. */
#ifndef HK_DISK_DESCRIPTOR_FILE_H
#define HK_DISK_DESCRIPTOR_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"
#include "hyper2kvm/h2k_spec.h"

/* What VMware itself allows one VM (vSphere 8 configuration maximums); a
 * descriptor asking for more is refused, not clamped. */
#define HK_VM_MAX_MEMORY_MIB (UINT64_C(24) << 20) /* 24 TiB */
#define HK_VM_MAX_VCPUS 768u
#define HK_VM_MAX_DISK_BYTES (UINT64_C(62) << 40) /* 62 TiB, the largest VMDK */

/* A reader of descriptor text (h2k_ovf_parse_memory, h2k_vmx_parse_memory). */
typedef int (*hk_descriptor_parse_fn)(h2k_ctx *ctx, const char *text, size_t len,
                                      const char *base_dir, const char *name_for_errors,
                                      h2k_vm_spec **out);

/* Reads @path (at most @max_size bytes), parses it with @parse with the file's
 * folder as base directory, and records @path as the spec's source_path.
 * @api names the public function in argument errors.  Caller owns *out. */
int hk_descriptor_parse_file(h2k_ctx *ctx, const char *path, size_t max_size,
                             hk_descriptor_parse_fn parse, const char *api, h2k_vm_spec **out);

/* A copy of @s in lower case.  Caller frees; NULL on allocation failure. */
char *hk_descriptor_lower_dup(const char *s);

/* "00:50:56:AB:CD:EF" (or with '-') -> "00:50:56:ab:cd:ef".  Caller frees;
 * NULL when malformed (not an error) or on allocation failure. */
char *hk_descriptor_mac(const char *s);

#endif
