#!/bin/bash
# Builds hyper2kvm's phony test guests: small disks with real partition tables,
# real file systems (ext4, xfs, vfat, LVM, swap) and just enough of an OS (release
# files, fstab, GRUB, network configuration, kernels and modules as placeholders,
# package databases) for libguestfs inspection and the offline fixers.  One
# guestfish session per guest: seconds, not minutes.  Nothing in them executes.
#
#   scripts/images/build-phony-guests.sh [--force] [NAME...]
#
# Prints one line per guest: NAME PATH.  Images are cached as
#   ${XDG_CACHE_HOME:-$HOME/.cache}/hyper2kvm/images/phony-NAME.qcow2
# with a stamp of this script's SHA-256: a changed script rebuilds them.
# UUIDs, MACs and names are fixed so that golden tests can name them.
#
# Guests:
#   rhel9   MBR; /boot ext4 on sda1; LVM vg "rhel" (root xfs, swap); GRUB2 with BLS
#           entries; ifcfg + NetworkManager keyfile pinned to a MAC; dracut config;
#           VMware tools files; SELinux enforcing; rpm database (shared test data)
#   sles15  MBR; root ext4 on sda1, swap sda2 named by /dev/disk/by-id in fstab and
#           GRUB; wicked/ifcfg eth0 with a persistent-net rule; /etc/sysconfig/kernel
#   ubuntu  two disks; root ext4 by UUID; /data on sdb1 by name; netplan with a MAC match
#           and set-name; dpkg status (shared test data)
#   uefi    GPT with an ESP (vfat) on sda1 and root ext4 on sda2, Debian-like, ifupdown
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
shared=${H2K_SHARED_DIR:-$top/../shared}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/hyper2kvm/images
stamp=$(sha256sum "$0" | cut -d' ' -f1)
force=0
names=()
for a in "$@"; do
    case $a in
        --force) force=1 ;;
        -*) echo "build-phony-guests: unknown option $a" >&2; exit 2 ;;
        *) names+=("$a") ;;
    esac
done
[ ${#names[@]} -gt 0 ] || names=(rhel9 sles15 ubuntu uefi)

for tool in guestfish qemu-img sqlite3 xzcat tar; do
    command -v "$tool" >/dev/null || { echo "build-phony-guests: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
[ -d "$shared/testdata/phony-guests" ] || { echo "build-phony-guests: $shared/testdata/phony-guests is missing" >&2; exit 1; }
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
# A /dev/kvm without the CPU's vmx/svm flag (nested or paravirtual KVM) cannot run the
# appliance: libguestfs would pick it and hang.
if ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
    export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS-force_tcg}
fi
mkdir -p "$cache"
work=$(mktemp -d "${TMPDIR:-/var/tmp}/h2k-phony-XXXXXX")
trap 'rm -rf "$work"' EXIT

# put FILE CONTENT: writes a file of the staged root
put() { mkdir -p "$(dirname "$root/$1")"; printf '%s' "$2" > "$root/$1"; }
# ln TARGET LINK
lnk() { mkdir -p "$(dirname "$root/$2")"; ln -sfn "$1" "$root/$2"; }
# kernel VERSION INITRD-NAME: placeholder kernel, initramfs and modules (virtio included)
kernel() {
    put "boot/vmlinuz-$1" "phony kernel $1"
    put "boot/$2" "phony initramfs"
    local m="lib/modules/$1/kernel/drivers"
    put "$m/block/virtio_blk.ko.xz" ""
    put "$m/scsi/virtio_scsi.ko.xz" ""
    put "$m/net/virtio_net.ko.xz" ""
    put "$m/virtio/virtio_pci.ko.xz" ""
    put "$m/scsi/vmw_pvscsi.ko.xz" ""
    put "lib/modules/$1/modules.builtin" ""
}
common_unix() {
    mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,var/lib,tmp,proc,sys,dev,run,root}
    lnk usr/bin bin
    lnk usr/sbin sbin
    lnk usr/lib lib
    put usr/bin/sh "" ; put usr/lib/systemd/systemd ""
    put etc/machine-id "0123456789abcdef0123456789abcdef
"
}
vmware_tools_files() {
    put usr/bin/vmtoolsd ""
    put etc/vmware-tools/tools.conf "[logging]
log = true
"
    put usr/lib/systemd/system/vmtoolsd.service "[Service]
ExecStart=/usr/bin/vmtoolsd
"
    lnk /usr/lib/systemd/system/vmtoolsd.service etc/systemd/system/multi-user.target.wants/vmtoolsd.service
}

stage_rhel9() {
    common_unix
    put etc/redhat-release "Red Hat Enterprise Linux release 9.3 (Plow)
"
    put etc/os-release 'NAME="Red Hat Enterprise Linux"
VERSION="9.3 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.3"
PRETTY_NAME="Red Hat Enterprise Linux 9.3 (Plow)"
'
    put etc/hostname "rhel9-phony
"
    put etc/fstab "/dev/mapper/rhel-root   /       xfs     defaults        0 0
/dev/sda1               /boot   ext4    defaults        1 2
/dev/mapper/rhel-swap   none    swap    defaults        0 0
"
    put etc/default/grub 'GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR="$(sed '"'"'s, release .*$,,g'"'"' /etc/system-release)"
GRUB_DEFAULT=saved
GRUB_DISABLE_SUBMENU=true
GRUB_TERMINAL_OUTPUT="console"
GRUB_CMDLINE_LINUX="crashkernel=1G-4G:192M resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap"
GRUB_DISABLE_RECOVERY="true"
GRUB_ENABLE_BLSCFG=true
'
    put boot/loader/entries/0123456789abcdef0123456789abcdef-5.14.0-362.el9.x86_64.conf 'title Red Hat Enterprise Linux (5.14.0-362.el9.x86_64) 9.3 (Plow)
version 5.14.0-362.el9.x86_64
linux /vmlinuz-5.14.0-362.el9.x86_64
initrd /initramfs-5.14.0-362.el9.x86_64.img $tuned_initrd
options root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M resume=/dev/sda3 rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap
grub_users $grub_users
grub_arg --unrestricted
grub_class rhel
'
    put boot/grub2/device.map "# this device map was generated by anaconda
(hd0)      /dev/sda
"
    put boot/grub2/grub.cfg '### BEGIN /etc/grub.d/10_linux ###
insmod part_msdos
search --no-floppy --fs-uuid --set=root 7e1c4f2a-1b1b-4c1c-9d1d-0a0a0a0a0a01
blscfg
### END /etc/grub.d/10_linux ###
'
    put etc/sysconfig/network-scripts/ifcfg-ens192 'TYPE=Ethernet
BOOTPROTO=none
NAME=ens192
DEVICE=ens192
ONBOOT=yes
HWADDR=00:50:56:9a:01:02
IPADDR=192.168.10.21
PREFIX=24
GATEWAY=192.168.10.1
'
    put etc/NetworkManager/system-connections/ens192.nmconnection '[connection]
id=ens192
uuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03
type=ethernet
interface-name=ens192

[ethernet]
mac-address=00:50:56:9A:01:02

[ipv4]
address1=192.168.10.21/24,192.168.10.1
method=manual
'
    put etc/dracut.conf.d/vmware.conf 'add_drivers+=" vmw_pvscsi vmxnet3 "
'
    put etc/selinux/config "SELINUX=enforcing
SELINUXTYPE=targeted
"
    put usr/bin/rpm "" ; put usr/bin/dnf "" ; put usr/bin/dracut ""
    kernel 5.14.0-362.el9.x86_64 initramfs-5.14.0-362.el9.x86_64.img
    vmware_tools_files
    mkdir -p "$root/var/lib/rpm"
    xzcat "$shared/testdata/phony-guests/fedora-db.sql.xz" | sqlite3 "$root/var/lib/rpm/rpmdb.sqlite"
}
disk_rhel9() {
    cat <<GF
part-init /dev/sda mbr
part-add /dev/sda p 2048 526335
part-add /dev/sda p 526336 -2048
mkfs ext4 /dev/sda1
set-uuid /dev/sda1 7e1c4f2a-1b1b-4c1c-9d1d-0a0a0a0a0a01
pvcreate /dev/sda2
vgcreate rhel /dev/sda2
lvcreate swap rhel 128
lvcreate-free root rhel 100
mkfs xfs /dev/rhel/root
set-uuid /dev/rhel/root 7e1c4f2a-1b1b-4c1c-9d1d-0a0a0a0a0a02
mkswap /dev/rhel/swap uuid:7e1c4f2a-1b1b-4c1c-9d1d-0a0a0a0a0a03
mount /dev/rhel/root /
mkdir /boot
mount /dev/sda1 /boot
GF
}

stage_sles15() {
    common_unix
    put etc/os-release 'NAME="SLES"
VERSION="15-SP5"
VERSION_ID="15.5"
PRETTY_NAME="SUSE Linux Enterprise Server 15 SP5"
ID="sles"
ID_LIKE="suse"
'
    put etc/HOSTNAME "sles15-phony
"
    put etc/fstab "/dev/disk/by-id/scsi-36000c29f2b1a3c4d5e6f708192a3b4c5-part1 / ext4 defaults 0 1
/dev/disk/by-id/scsi-36000c29f2b1a3c4d5e6f708192a3b4c5-part2 swap swap defaults 0 0
"
    put etc/default/grub 'GRUB_DISTRIBUTOR="SLES"
GRUB_DEFAULT=saved
GRUB_TIMEOUT=8
GRUB_CMDLINE_LINUX_DEFAULT="splash=silent resume=/dev/disk/by-id/scsi-36000c29f2b1a3c4d5e6f708192a3b4c5-part2 mitigations=auto quiet"
GRUB_CMDLINE_LINUX=""
'
    put boot/grub2/grub.cfg "menuentry 'SLES 15-SP5' {
	insmod ext2
	search --no-floppy --fs-uuid --set=root 5e5e5e5e-0000-4000-8000-000000000001
	linux	/boot/vmlinuz-5.14.21-150500.53-default root=/dev/disk/by-id/scsi-36000c29f2b1a3c4d5e6f708192a3b4c5-part1 splash=silent resume=/dev/disk/by-id/scsi-36000c29f2b1a3c4d5e6f708192a3b4c5-part2 quiet
	initrd	/boot/initrd-5.14.21-150500.53-default
}
"
    put etc/sysconfig/network/ifcfg-eth0 "BOOTPROTO='static'
STARTMODE='auto'
IPADDR='10.20.30.40/24'
LLADDR='00:50:56:9a:0a:0b'
"
    put etc/sysconfig/network/routes "default 10.20.30.1 - -
"
    mkdir -p "$root/etc/wicked"
    put usr/sbin/wicked ""
    put etc/udev/rules.d/70-persistent-net.rules '# This file was automatically generated by the /lib/udev/write_net_rules
SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="00:50:56:9a:0a:0b", ATTR{dev_id}=="0x0", ATTR{type}=="1", KERNEL=="eth*", NAME="eth0"
'
    put etc/sysconfig/kernel 'INITRD_MODULES="vmw_pvscsi"
'
    put usr/bin/zypper "" ; put usr/bin/rpm "" ; put usr/bin/dracut ""
    kernel 5.14.21-150500.53-default initrd-5.14.21-150500.53-default
    vmware_tools_files
}
disk_sles15() {
    cat <<GF
part-init /dev/sda mbr
part-add /dev/sda p 2048 3930111
part-add /dev/sda p 3930112 -2048
mkfs ext4 /dev/sda1
set-uuid /dev/sda1 5e5e5e5e-0000-4000-8000-000000000001
mkswap /dev/sda2 uuid:5e5e5e5e-0000-4000-8000-000000000002
mount /dev/sda1 /
GF
}

stage_ubuntu() {
    common_unix
    put etc/os-release 'PRETTY_NAME="Ubuntu 22.04.3 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
ID=ubuntu
ID_LIKE=debian
'
    put etc/lsb-release 'DISTRIB_ID=Ubuntu
DISTRIB_RELEASE=22.04
DISTRIB_DESCRIPTION="Ubuntu 22.04.3 LTS"
'
    put etc/debian_version "bookworm/sid
"
    put etc/hostname "ubuntu-phony
"
    put etc/fstab "# / was on /dev/sda1 during installation
UUID=b0b0b0b0-1111-4222-8333-000000000001 /     ext4 errors=remount-ro 0 1
/dev/sdb1 /data ext4 defaults 0 2
/swap.img none swap sw 0 0
"
    put etc/netplan/00-installer-config.yaml '# This is the network config written by subiquity
network:
  ethernets:
    ens160:
      match:
        macaddress: 00:50:56:9a:c0:01
      set-name: ens160
      addresses:
      - 172.16.5.10/24
      routes:
      - to: default
        via: 172.16.5.1
  version: 2
'
    put etc/default/grub 'GRUB_DEFAULT=0
GRUB_TIMEOUT_STYLE=hidden
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX=""
'
    put boot/grub/grub.cfg "menuentry 'Ubuntu' {
	search --no-floppy --fs-uuid --set=root b0b0b0b0-1111-4222-8333-000000000001
	linux	/boot/vmlinuz-5.15.0-91-generic root=UUID=b0b0b0b0-1111-4222-8333-000000000001 ro
	initrd	/boot/initrd.img-5.15.0-91-generic
}
"
    mkdir -p "$root/var/lib/dpkg"
    cp "$shared/testdata/phony-guests/debian-packages" "$root/var/lib/dpkg/status"
    put usr/bin/apt-get "" ; put usr/bin/dpkg "" ; put usr/sbin/update-initramfs ""
    kernel 5.15.0-91-generic initrd.img-5.15.0-91-generic
    mkdir -p "$root/data"
}
disk_ubuntu() {
    cat <<GF
part-init /dev/sda mbr
part-add /dev/sda p 2048 -2048
mkfs ext4 /dev/sda1
set-uuid /dev/sda1 b0b0b0b0-1111-4222-8333-000000000001
part-init /dev/sdb mbr
part-add /dev/sdb p 2048 -2048
mkfs ext4 /dev/sdb1
set-uuid /dev/sdb1 b0b0b0b0-1111-4222-8333-000000000002
mount /dev/sda1 /
GF
}

stage_uefi() {
    common_unix
    put etc/os-release 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
'
    put etc/debian_version "12.5
"
    put etc/hostname "uefi-phony
"
    put etc/fstab "/dev/sda2 / ext4 errors=remount-ro 0 1
/dev/sda1 /boot/efi vfat umask=0077 0 1
"
    put etc/default/grub 'GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX=""
GRUB_DISABLE_LINUX_UUID=true
'
    put boot/grub/grub.cfg "menuentry 'Debian GNU/Linux' {
	insmod part_gpt
	search --no-floppy --fs-uuid --set=root e0e0e0e0-2222-4333-8444-000000000002
	linux	/boot/vmlinuz-6.1.0-18-amd64 root=/dev/sda2 ro quiet
	initrd	/boot/initrd.img-6.1.0-18-amd64
}
"
    put etc/network/interfaces 'source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

allow-hotplug ens192
iface ens192 inet static
	address 10.1.2.3/24
	gateway 10.1.2.1
'
    put etc/udev/rules.d/70-persistent-net.rules 'SUBSYSTEM=="net", ACTION=="add", DRIVERS=="vmxnet3", ATTR{address}=="00:50:56:9a:ee:01", NAME="ens192"
'
    mkdir -p "$root/var/lib/dpkg"
    cp "$shared/testdata/phony-guests/debian-packages" "$root/var/lib/dpkg/status"
    put usr/bin/apt-get "" ; put usr/bin/dpkg "" ; put usr/sbin/update-initramfs ""
    kernel 6.1.0-18-amd64 initrd.img-6.1.0-18-amd64
    mkdir -p "$root/boot/efi"
}
disk_uefi() {
    cat <<GF
part-init /dev/sda gpt
part-add /dev/sda p 2048 206847
part-add /dev/sda p 206848 -2048
part-set-gpt-type /dev/sda 1 C12A7328-F81F-11D2-BA4B-00A0C93EC93B
mkfs vfat /dev/sda1
pwrite-device /dev/sda1 "\xcd\xab\x01\x54" 39
mkfs ext4 /dev/sda2
set-uuid /dev/sda2 e0e0e0e0-2222-4333-8444-000000000002
mount /dev/sda2 /
mkdir /boot
mkdir /boot/efi
mount /dev/sda1 /boot/efi
mkdir-p /boot/efi/EFI/debian
write /boot/efi/EFI/debian/grub.cfg "search.fs_uuid e0e0e0e0-2222-4333-8444-000000000002 root hd0,gpt2\nset prefix=(\$root)'/boot/grub'\nconfigfile \$prefix/grub.cfg\n"
write /boot/efi/EFI/debian/grubx64.efi "phony"
GF
}

disks_of() { case $1 in ubuntu) echo 2 ;; *) echo 1 ;; esac; }

for name in "${names[@]}"; do
    declare -F "stage_$name" >/dev/null || { echo "build-phony-guests: unknown guest $name" >&2; exit 2; }
    img="$cache/phony-$name.qcow2"
    if [ "$force" = 0 ] && [ -f "$img" ] && [ "$(cat "$img.stamp" 2>/dev/null)" = "$stamp" ]; then
        echo "$name $img"
        continue
    fi
    root="$work/$name/root"
    mkdir -p "$root"
    "stage_$name"
    (cd "$root" && tar --numeric-owner --owner=0 --group=0 -cf "$work/$name/root.tar" .)
    n=$(disks_of "$name")
    adds=""
    for i in $(seq 1 "$n"); do
        qemu-img create -q -f qcow2 "$work/$name/disk$i.qcow2" 2G
        adds="$adds -a $work/$name/disk$i.qcow2"
    done
    t0=$(date +%s)
    # shellcheck disable=SC2086
    { echo run; "disk_$name"; echo "tar-in $work/$name/root.tar /"; echo "umount-all"; } |
        guestfish --format=qcow2 $adds >&2
    for i in $(seq 1 "$n"); do
        suffix=$([ "$i" = 1 ] && echo "" || echo "-disk$i")
        mv "$work/$name/disk$i.qcow2" "$cache/phony-$name$suffix.qcow2"
    done
    echo "$stamp" > "$img.stamp"
    echo "build-phony-guests: $name built in $(( $(date +%s) - t0 )) s" >&2
    echo "$name $img"
done
