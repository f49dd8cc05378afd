#!/bin/bash
# Derives the SSH test guest from the cached Debian test guest: the same system
# (build-debian-guest.sh, which this script calls) plus openssh-server, sudo and a
# test user "h2k" with passwordless sudo.  The base image is never modified.
#
#   scripts/images/build-debian-ssh-guest.sh [--force]
#
# Prints the path of the cached image:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/hyper2kvm/images/debian12-vmware-ssh.qcow2
# A stamp beside it (.stamp) holds the SHA-256 of this script, of lib.sh and of the base
# image's facts: when any of them changes, the next call rebuilds.
#
# No key is baked in: root's and h2k's authorized_keys are read from
# /etc/h2k-test/authorized_keys (empty here); tests copy a key generated at test
# time into the guest's disk (an overlay) before booting it.  sshd is configured
# for key authentication only.
#
# Packages come from the machine's apt sources (apt-get --download-only, resolved
# against the guest's own dpkg status: only what the guest lacks); they are installed with dpkg inside the image
# through guestfish (libguestfs; LIBGUESTFS_BACKEND defaults to direct).
set -euo pipefail

script=$(readlink -f "$0")
here=$(dirname "$script")
# shellcheck source=scripts/images/lib.sh
. "$here/lib.sh"
name=debian12-vmware-ssh
use_appliance always

read_force_option "$@"
use_base_guest
img=$cache_dir/$name.qcow2
stamp=$(build_stamp "$script" "$base_facts")

cache_valid() { stamp_file_matches "$img"; }
# The last line of stdout is the image's path: callers read it.
cache_hit() { printf '%s\n' "$img"; }
reuse_cache_or_lock "$name"

need_tools guestfish qemu-img apt-get
make_workdir h2k-ssh-guest
on_exit() { rm -f "$img.tmp"; }

log "copying $base"
qemu-img convert -O qcow2 "$base" "$work/disk.qcow2"

log "resolving the packages against the guest's dpkg status"
guestfish --ro -a "$work/disk.qcow2" -i download /var/lib/dpkg/status "$work/status" \
    2>"$work/gf.log" || { cat "$work/gf.log" >&2; die "cannot read the guest's dpkg status"; }
[ -s "$work/status" ] || die "empty dpkg status in the guest"
download_for_guest "$work/status" "$work/debs" openssh-server sudo

cat >"$work/sshd-h2k.conf" <<'CONF'
# hyper2kvm test guest: keys only
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AuthorizedKeysFile .ssh/authorized_keys /etc/h2k-test/authorized_keys
UseDNS no
CONF
echo 'h2k ALL=(ALL) NOPASSWD: ALL' >"$work/sudoers-h2k"
cat >"$work/setup.sh" <<'SH'
set -e
export DEBIAN_FRONTEND=noninteractive
cd /root/h2k-debs
dpkg -i --force-confdef --force-confold ./*.deb
rm -rf /root/h2k-debs
id h2k >/dev/null 2>&1 || useradd -m -s /bin/bash h2k
mkdir -p /etc/h2k-test
: >/etc/h2k-test/authorized_keys
chmod 644 /etc/h2k-test/authorized_keys
chmod 440 /etc/sudoers.d/h2k
systemctl enable ssh.service >/dev/null 2>&1 || true
test -x /usr/sbin/sshd
test -x /usr/bin/sudo
echo H2K-SSH-SETUP-OK
SH

log "installing into the copy"
{
    echo "mkdir-p /root/h2k-debs"
    for d in "$work"/debs/*.deb; do echo "upload $d /root/h2k-debs/$(basename "$d")"; done
    echo "mkdir-p /etc/ssh/sshd_config.d"
    echo "upload $work/sshd-h2k.conf /etc/ssh/sshd_config.d/h2k.conf"
    echo "mkdir-p /etc/sudoers.d"
    echo "upload $work/sudoers-h2k /etc/sudoers.d/h2k"
    echo "upload $work/setup.sh /root/h2k-setup.sh"
    echo 'sh "/bin/sh /root/h2k-setup.sh 2>&1"'
    echo "rm /root/h2k-setup.sh"
} >"$work/gf.cmds"
guestfish --rw -a "$work/disk.qcow2" -i <"$work/gf.cmds" >"$work/gf.log" 2>&1 ||
    { tail -n 40 "$work/gf.log" >&2; die "installation in the guest failed"; }
grep -q H2K-SSH-SETUP-OK "$work/gf.log" || { tail -n 40 "$work/gf.log" >&2; die "setup did not finish"; }

mv -f "$work/disk.qcow2" "$img.tmp"
mv -f "$img.tmp" "$img"
printf '%s\n' "$stamp" >"$img.stamp"
log "built $img"
cache_hit
