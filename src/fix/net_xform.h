/*
 * Pure text transforms of a Linux guest's network configuration, so that its
 * NICs come up under KVM with the names and addresses the configs expect.
 *
 * Policy.  The libvirt XML normally reuses the source MAC of every NIC
 * (keep_mac = true).  Then the configs stay as they are and the old interface
 * name (ens192, eth0...) is pinned to that MAC with a systemd .link file or a
 * udev rule (hk_net_link_files()); the transforms only remove pins that can no
 * longer match under KVM (udev rules bound to VMware/Hyper-V drivers or to
 * kernel names, systemd/NetworkManager matches on those drivers).
 *
 * When the VM gets NEW MACs (keep_mac = false), each NIC's old name is renamed
 * to its new name everywhere (whole words only: ens192 never touches ens1920,
 * but VLANs and aliases such as ens192.100 and ens192:1 follow their parent),
 * and the MAC pins of the old hardware (HWADDR=, MACADDR=, LLADDR=,
 * hwaddress, mac-address=, macaddress:, MACAddress=) are dropped, or re-pinned
 * to the new MAC where a config cannot do without one.  Under keep_mac =
 * false, new_name == NULL means "keep the old name".  Under keep_mac = true
 * the transforms ignore new_name.
 *
 * Every transform: text in (NUL-terminated, LF or CRLF line ends, CRLF is
 * preserved), hk_xform_out out (text NULL when nothing changed, one note per
 * change).  No I/O.  Idempotent as long as no new name is also an old name
 * (a swap eth0 <-> eth1 is done correctly in one pass but is its own inverse).
 * Lines the transform does not understand are kept byte for byte.
 * Returns 0, H2K_ERR_INVALID_ARG (NULL argument, invalid name or MAC in the
 * policy, input over HK_NET_MAX_INPUT) or H2K_ERR_NO_MEMORY; on error @out is
 * left empty.  @out must be zeroed (or cleared) before the call.
 */
#ifndef HK_FIX_NET_XFORM_H
#define HK_FIX_NET_XFORM_H

#include <stdbool.h>
#include <stddef.h>

#include "fix/xform.h"

/* Largest config text accepted (bytes). */
#define HK_NET_MAX_INPUT (4u * 1024u * 1024u)
/* Most notes one transform lists; the rest are counted in a last note. */
#define HK_NET_MAX_NOTES 200
/* Longest interface name Linux accepts (IFNAMSIZ - 1). */
#define HK_NET_MAX_IFNAME 15

/* One NIC of the VM. */
typedef struct hk_nic_rename {
    const char *old_name; /* name in the source guest ("ens192"), or NULL when unknown */
    const char *new_name; /* name to use under KVM, or NULL to keep old_name */
    const char *mac;      /* MAC of the NIC under KVM, "xx:xx:xx:xx:xx:xx" lower case, or NULL */
} hk_nic_rename;

typedef struct hk_net_policy {
    const hk_nic_rename *nics;
    size_t n;
    bool keep_mac; /* true: the KVM NICs keep their source MACs */
} hk_net_policy;

/* The config formats, for hk_net_scan() and table-driven callers. */
typedef enum hk_net_fmt {
    HK_NET_IFUPDOWN = 0, /* Debian /etc/network/interfaces, interfaces.d/ */
    HK_NET_NETPLAN,      /* /etc/netplan/ *.yaml */
    HK_NET_NM,           /* NetworkManager keyfiles (system-connections/ *.nmconnection) */
    HK_NET_IFCFG,        /* Red Hat network-scripts/ifcfg-*, SUSE sysconfig/network/ifcfg-* */
    HK_NET_NETWORKD,     /* systemd-networkd .network (and .link) files */
    HK_NET_WICKED,       /* /etc/wicked/ifconfig/ *.xml */
    HK_NET_UDEV,         /* udev rules (70-persistent-net.rules) */
    HK_NET_FMT_COUNT
} hk_net_fmt;

/* Short name of a format ("ifupdown", "netplan", "nm", "ifcfg", "networkd",
 * "wicked", "udev"), or NULL; and the reverse (-1 when unknown).  Static strings. */
const char *hk_net_fmt_name(hk_net_fmt fmt);
int hk_net_fmt_from_name(const char *name);

/* Checks a policy: names valid Linux interface names (1..15 bytes, no '/',
 * ':', whitespace, not "." or ".."), MACs six lower-case hex pairs, no old
 * name twice.  Returns 0 or H2K_ERR_INVALID_ARG. */
int hk_net_policy_check(const hk_net_policy *p);

/* iface/auto/allow-* stanza heads, options naming interfaces (bond-slaves,
 * bridge_ports, vlan-raw-device, up/down commands...); drops hwaddress lines. */
int hk_net_xform_ifupdown(const char *in, const hk_net_policy *p, hk_xform_out *out);
/* Line-based YAML edit (no YAML library): interface keys and name values,
 * match: macaddress: (dropped when another match key remains, else re-pinned to
 * the new MAC when the NIC is known), macaddress: (dropped), set-name:. */
int hk_net_xform_netplan(const char *in, const hk_net_policy *p, hk_xform_out *out);
/* [connection] id=/interface-name=, [vlan] parent=, [match] interface-name=
 * renamed; [ethernet] mac-address=/cloned-mac-address=<MAC> dropped;
 * [match] driver= entries for VMware/Hyper-V drivers removed in both modes. */
int hk_net_xform_nm(const char *in, const hk_net_policy *p, hk_xform_out *out);
/* Red Hat and SUSE ifcfg: names renamed in every value; HWADDR=, MACADDR=,
 * LLADDR= dropped.  The file name follows the device: see hk_net_file_rename(). */
int hk_net_xform_ifcfg(const char *in, const hk_net_policy *p, hk_xform_out *out);
/* [Match] Name=/OriginalName=, [Link] Name=; [Match] MACAddress=/
 * PermanentMACAddress= dropped when another match key remains (else re-pinned
 * or kept with a warning); [Match] Driver= of VMware/Hyper-V drivers removed. */
int hk_net_xform_networkd(const char *in, const hk_net_policy *p, hk_xform_out *out);
/* <name>, <device>, <link>... element texts renamed; lines holding only an
 * <address>/<lladdr>/<link-addr> MAC dropped. */
int hk_net_xform_wicked(const char *in, const hk_net_policy *p, hk_xform_out *out);
/* Removes net rules that cannot match under KVM: DRIVERS/DRIVER== a VMware or
 * Hyper-V driver (both modes), and rules that NAME= one of the VM's old names
 * while matching on DRIVERS, KERNEL=="eth*" or ATTR{dev_id} (and, with new
 * MACs, on an ATTR{address} other than the new one).  Adds nothing: the
 * replacement pin comes from hk_net_link_files(). */
int hk_net_xform_udev(const char *in, const hk_net_policy *p, hk_xform_out *out);

/* Runs the transform for @fmt. */
int hk_net_xform(hk_net_fmt fmt, const char *in, const hk_net_policy *p, hk_xform_out *out);

/* New base name for a per-interface config file when its interface is renamed:
 * "ifcfg-ens192" -> "ifcfg-eth0" (also route-, route6-, rule-, rule6- and
 * "ifcfg-ens192.xml"), "ens192.nmconnection" -> "eth0.nmconnection",
 * "ifcfg-ens192.100" -> "ifcfg-eth0.100".  Returns a malloc'd name (caller
 * frees) or NULL when the file keeps its name (keep_mac, not renamed, no
 * match, or out of memory). */
char *hk_net_file_rename(const char *basename, const hk_net_policy *p);

/* One interface reference found in a config: a name, a MAC, or both when the
 * config ties them together (one ifcfg file, one stanza, one section, one rule). */
typedef struct hk_net_ref {
    char *name; /* interface name, or NULL */
    char *mac;  /* MAC, lower case "xx:xx:xx:xx:xx:xx", or NULL */
} hk_net_ref;

/* Most references hk_net_scan() returns. */
#define HK_NET_MAX_REFS 256

/* Lists the interfaces @text names (without "lo" and duplicates), in order of
 * appearance, at most HK_NET_MAX_REFS.  *refs_out is malloc'd (free with hk_net_refs_free()), NULL
 * when none.  Returns 0, H2K_ERR_INVALID_ARG or H2K_ERR_NO_MEMORY. */
int hk_net_scan(hk_net_fmt fmt, const char *text, hk_net_ref **refs_out, size_t *n_out);
void hk_net_refs_free(hk_net_ref *refs, size_t n);

/* The pins that keep every NIC's name under KVM. */
typedef struct hk_net_link {
    char *name;      /* interface name pinned: old_name (keep_mac) or new_name/old_name */
    char *mac;       /* the MAC it is pinned to */
    char *file_name; /* "10-hyper2kvm-<name>.link", for /etc/systemd/network/ */
    char *link_text; /* contents of that .link file */
    char *udev_rule; /* one udev rule line (with "\n"), for guests without .link support */
} hk_net_link;

/* File name for the udev rules made of every hk_net_link.udev_rule. */
#define HK_NET_UDEV_RULES_FILE "70-hyper2kvm-net.rules"

/* Builds one pin per NIC that has a MAC and a name (NICs without either are
 * skipped).  *links_out is malloc'd (free with hk_net_links_free()), NULL when
 * none.  Returns 0, H2K_ERR_INVALID_ARG or H2K_ERR_NO_MEMORY. */
int hk_net_link_files(const hk_net_policy *p, hk_net_link **links_out, size_t *n_out);
/* The whole udev rules file (comment header + one rule per NIC); caller frees.
 * NULL on error or when there is no NIC to pin. */
char *hk_net_udev_rules(const hk_net_policy *p);
void hk_net_links_free(hk_net_link *links, size_t n);

#endif
