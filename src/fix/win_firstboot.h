/*
 * Windows first boot: the work that can only be done inside the running
 * guest (install the remaining drivers with pnputil, uninstall VMware Tools,
 * re-apply static IP settings to the virtio NIC with the source NIC's MAC,
 * bring data disks online) written as numbered steps that our own service,
 * h2kfirstboot.exe (windows/firstboot/), runs as LocalSystem at the next
 * boot, logging each step, before it removes its registration.
 *
 * Two layers:
 *   - pure script generators and strict validators (text in, text out, no
 *     guest): every value that comes from the guest or the VM description is
 *     parsed into binary form and written back in a canonical form, so
 *     nothing of the input's own bytes (quotes, '&', '%', '^', newlines) ever
 *     reaches a script; anything that does not parse is refused with
 *     H2K_ERR_VALIDATION naming the field;
 *   - hk_win_firstboot_install(), which copies the helper and the steps into
 *     the guest through the fixer's libguestfs handle and registers the
 *     service in the SYSTEM hive through the registry layer, recording every
 *     file and registry change for the report.
 *
 * Every function here may run concurrently on different handles; nothing
 * keeps state between calls.
 */
#ifndef HK_FIX_WIN_FIRSTBOOT_H
#define HK_FIX_WIN_FIRSTBOOT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/internal.h"
#include "guest/win_registry.h"
#include "hyper2kvm/h2k_fix.h"
#include "hyper2kvm/h2k_guest.h"

/* ------------------------------------------------------------ inputs */

typedef enum hk_win_arch {
    HK_WIN_ARCH_X64 = 0, /* x86_64 ("amd64") */
    HK_WIN_ARCH_X86 = 1, /* i386 */
} hk_win_arch;

/* The guest's Windows version, from inspection (SOFTWARE hive CurrentVersion). */
typedef struct hk_win_version {
    unsigned major; /* 6 (Vista/7/8/8.1, 2008/2008 R2/2012/2012 R2) or 10 (10/11/2016+) */
    unsigned minor; /* 0 Vista, 1 Windows 7, 2 Windows 8, 3 Windows 8.1 */
    unsigned build; /* CurrentBuild; informational */
    bool server;    /* InstallationType "Server" */
    hk_win_arch arch;
} hk_win_version;

/* One IP address with its prefix length (0..32 for IPv4, 0..128 for IPv6). */
typedef struct hk_win_ip {
    const char *address; /* "192.0.2.10" or "2001:db8::10" */
    unsigned prefix;
} hk_win_ip;

/* The network settings of one source NIC.  A DHCP NIC needs nothing (the new
 * NIC starts with DHCP): its step only logs it. */
typedef struct hk_win_nic {
    const char *mac; /* the source NIC's MAC = the virtio NIC's; "00:50:56:aa:bb:cc"
                      * or with '-' */
    bool dhcp;
    const hk_win_ip *addresses; /* static addresses, IPv4 and/or IPv6 */
    size_t n_addresses;
    const char *const *gateways; /* default gateways (IPv4 and/or IPv6) */
    size_t n_gateways;
    const char *const *dns; /* DNS servers in order (IPv4 and/or IPv6) */
    size_t n_dns;
} hk_win_nic;

/* One generated step: its file name in the scripts folder ("NNNN-name.cmd"
 * or ".ps1") and its text (ASCII, CRLF line ends).  Owned by whoever holds
 * it; free with hk_win_fb_step_clear(). */
typedef struct hk_win_fb_step {
    char *name;
    char *text;
} hk_win_fb_step;

void hk_win_fb_step_clear(hk_win_fb_step *step);

/* ---------------------------------------------------------- validators */

/* Parses a product code "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}" (hex, any
 * case, braces optional) into @out (38 characters + NUL, braced, upper case).
 * Returns 0, or H2K_ERR_VALIDATION naming @field. */
int hk_win_parse_guid(h2k_ctx *ctx, const char *field, const char *s, char out[39]);

/* Parses a MAC address: six pairs of hex digits separated by all ':' or all
 * '-'.  Returns 0 and the bytes, or H2K_ERR_VALIDATION naming @field. */
int hk_win_parse_mac(h2k_ctx *ctx, const char *field, const char *s, unsigned char mac[6]);

/* Parses an IPv4 (dotted quad, no leading zeros) or IPv6 address into its
 * canonical text (inet_ntop) in @out; *v6 tells which.  Returns 0, or
 * H2K_ERR_VALIDATION naming @field. */
int hk_win_parse_ip(h2k_ctx *ctx, const char *field, const char *s, char out[46], bool *v6);

/* Converts a dotted IPv4 subnet mask ("255.255.255.0", from SubnetMask) into
 * a prefix length; a mask with holes is refused.  Returns 0 or
 * H2K_ERR_VALIDATION naming @field. */
int hk_win_mask_to_prefix(h2k_ctx *ctx, const char *field, const char *mask, unsigned *prefix);

/* True when @s is a Windows folder path we are willing to write into a
 * script: "X:\" then components of [A-Za-z0-9 _.()+-] separated by single
 * backslashes, no ".." component, no trailing backslash (except "X:\"
 * itself), at most 200 characters. */
bool hk_win_path_ok(const char *s);

/* ---------------------------------------------------------- generators */

/* Each generator validates its inputs first and returns 0 with *out filled
 * (caller clears), or a negative h2k_code (H2K_ERR_VALIDATION names the
 * field) with *out untouched.  @number is the step's place in the run order
 * (0..9999); it becomes the name's NNNN. */

/* Installs every driver under @driver_dir (a Windows path, hk_win_path_ok)
 * with pnputil: "pnputil /add-driver DIR\*.inf /subdirs /install" on Windows
 * 10 and later, "pnputil -i -a" for each .inf below DIR on older versions.
 * Name "NNNN-virtio-drivers.cmd". */
int hk_win_fb_script_drivers(h2k_ctx *ctx, unsigned number, const hk_win_version *os,
                             const char *driver_dir, hk_win_fb_step *out);

/* Uninstalls VMware Tools silently by its product code (hk_win_parse_guid):
 * "msiexec /x {CODE} /qn /norestart"; 3010 (restart needed) is passed on to
 * the runner, 1605 (not installed) counts as done.
 * Name "NNNN-vmware-tools-uninstall.cmd". */
int hk_win_fb_script_vmware_tools(h2k_ctx *ctx, unsigned number, const char *product_code,
                                  hk_win_fb_step *out);

/* Re-applies each static NIC's addresses, gateways and DNS servers to the
 * adapter with its MAC, waiting up to 5 minutes for that adapter to appear:
 * PowerShell (NetTCPIP, DnsClient modules) from Windows 8 / 2012 on
 * ("NNNN-network.ps1"), wmic + netsh before ("NNNN-network.cmd").  Every
 * address, gateway and DNS server must parse, prefixes must fit, MACs must
 * be distinct; @n_nics may be 0 only with no NIC (then a step that logs
 * that there is nothing to do). */
int hk_win_fb_script_network(h2k_ctx *ctx, unsigned number, const hk_win_version *os,
                             const hk_win_nic *nics, size_t n_nics, hk_win_fb_step *out);

/* Brings offline (and read-only) disks online and sets the SAN policy to
 * OnlineAll: Get-Disk/Set-Disk from Windows 8 / 2012 on ("NNNN-disks-online.ps1"),
 * diskpart for disks 0..@n_disks-1 before ("NNNN-disks-online.cmd";
 * @n_disks 1..64, ignored from Windows 8 on). */
int hk_win_fb_script_disks_online(h2k_ctx *ctx, unsigned number, const hk_win_version *os,
                                  unsigned n_disks, hk_win_fb_step *out);

/* ------------------------------------------------------------ install */

/* Name of the service and of its folder under Program Files. */
#define HK_WIN_FB_SERVICE "hyper2kvm-firstboot"
#define HK_WIN_FB_DIR "Program Files\\hyper2kvm\\firstboot"
#define HK_WIN_FB_EXE "h2kfirstboot.exe"

/* What the first boot does; zero-initialise, then fill from inspection. */
typedef struct hk_win_firstboot {
    hk_win_version os;
    char system_drive;             /* drive letter of the system volume; 0 means 'C' */
    const char *driver_dir;        /* Windows folder of the copied drivers for pnputil, or NULL */
    const char *vmware_tools_code; /* VMware Tools product code, or NULL when not installed */
    const hk_win_nic *nics;        /* the source NICs (DHCP ones are logged only) */
    size_t n_nics;
    bool disks_online;           /* bring offline data disks online */
    unsigned n_disks;            /* disks of the VM (diskpart before Windows 8) */
    const hk_win_fb_step *extra; /* further steps of the caller (names must be steps and must
                                  * not collide), run after ours; may be NULL */
    size_t n_extra;
    bool reboot_if_needed; /* the helper restarts Windows when a step exits 3010/1641 */
    bool remove_helper;    /* the helper deletes itself at the restart after the last step */
} hk_win_firstboot;

/* Builds the steps @fb asks for, in run order: 0010 drivers, 0020 VMware
 * Tools, 0030 network, 0040 disks, then @fb->extra.  Validates everything
 * first: on error nothing is returned.  *steps (caller frees each with
 * hk_win_fb_step_clear() and the array with free()) and *n. */
int hk_win_firstboot_steps(h2k_ctx *ctx, const hk_win_firstboot *fb, hk_win_fb_step **steps,
                           size_t *n);

/* The ImagePath of the service (REG_EXPAND_SZ text): the quoted helper path
 * and its options.  Caller frees; NULL on allocation failure. */
char *hk_win_firstboot_image_path(const hk_win_firstboot *fb);

/* Fills @fb->os (version, server, architecture "amd64"/"x86") and
 * @fb->vmware_tools_code (borrowed from @wi) from the guest's inspection;
 * nothing else is touched.  Returns 0, or H2K_ERR_UNSUPPORTED naming an
 * architecture we have no helper for. */
int hk_win_firstboot_from_info(h2k_ctx *ctx, const h2k_windows_info *wi, hk_win_firstboot *fb);

/* One first-boot NIC from an inspected adapter @a and the MAC @mac the VM
 * description gives that NIC: DHCP or its static addresses (into @ips, which
 * must hold a->n_addresses entries), gateway and DNS servers.  Every pointer
 * in *out is borrowed from @a, @mac and @ips. */
void hk_win_nic_from_adapter(const h2k_win_adapter *a, const char *mac, hk_win_ip *ips,
                             hk_win_nic *out);

/* Installs the first boot @fb describes into the guest of @fx:
 *   - validates everything first (hk_win_firstboot_steps()): a refused value
 *     changes nothing;
 *   - copies the helper for @fb->os.arch to
 *     <system volume>/Program Files/hyper2kvm/firstboot/h2kfirstboot.exe and
 *     each step to .../firstboot/scripts/NNNN-name.ext (folders found
 *     case-insensitively, created when missing), recorded in @res (the
 *     helper by size and SHA-256); files already holding the same bytes are
 *     left alone, so a second run changes nothing;
 *   - registers the service in @system (the SYSTEM hive, opened writable by
 *     the caller) under @cset ("ControlSet001"; NULL: Select\Current)
 *     \Services\hyper2kvm-firstboot: Type=0x10 (own process), Start=2
 *     (automatic), ErrorControl=1, ImagePath (REG_EXPAND_SZ, the quoted
 *     helper path and its options), ObjectName=LocalSystem, DisplayName,
 *     Description, and DelayedAutostart=1 from Vista on; the registry layer
 *     records every change.  The caller commits the hive (hk_hive_commit())
 *     with its own changes.
 * @fx's dry run writes no file (the hive's own dry-run flag governs the
 * registry); otherwise the guest is remounted read-write first
 * (hk_gfs_remount_rw()).  Nothing is installed when @fb asks for no step.  The guest's
 * system volume must be mounted at "/" (libguestfs inspection does).
 * Returns 0, or a negative h2k_code: H2K_ERR_VALIDATION (a refused value,
 * named), H2K_ERR_UNSUPPORTED (library built without mingw-w64),
 * H2K_ERR_FIXER (a guest write failed; @res says which),
 * H2K_ERR_GUEST_DETECTION (no Select\Current). */
int hk_win_firstboot_install(h2k_offline_fixer *fx, h2k_fix_result *res, hk_hive *system,
                             const char *cset, const hk_win_firstboot *fb);

/* The helper executable for @arch embedded at build time; NULL (and *size 0)
 * when the library was built without mingw-w64.  Static data. */
const unsigned char *hk_win_firstboot_helper(hk_win_arch arch, size_t *size);

#endif /* HK_FIX_WIN_FIRSTBOOT_H */
