#!/bin/sh
# Starts or stops a libvirt daemon (libvirtd + virtlogd) for the test suite.
#
#   scripts/libvirtd-test.sh start HOLDER
#   scripts/libvirtd-test.sh stop HOLDER
#   scripts/libvirtd-test.sh status
#
# HOLDER names a user of the daemon (the CTest fixture passes its build folder).
# When a daemon already answers on qemu:///system (a system service, or one a
# previous holder started), it is used as it is.  Otherwise virtlogd and
# libvirtd are started in daemon mode with their pid files in a private
# runtime folder, $H2K_LIBVIRTD_RUNDIR (default: /tmp/hyper2kvm-libvirtd).
# "stop" forgets HOLDER and, when no holder is left, stops the daemons this
# script started, by the pids in their pid files (never by name).  A daemon
# it did not start is never stopped.
#
# Needs root (qemu:///system), virsh, libvirtd and virtlogd.  No systemd needed.
set -eu

RUNDIR=${H2K_LIBVIRTD_RUNDIR:-/tmp/hyper2kvm-libvirtd}
URI=qemu:///system
LIBVIRTD=${H2K_LIBVIRTD:-/usr/sbin/libvirtd}
VIRTLOGD=${H2K_VIRTLOGD:-/usr/sbin/virtlogd}

die() { echo "libvirtd-test.sh: $*" >&2; exit 1; }

holder_id() {
    # A file name for the holder: its text with unsafe characters replaced.
    printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '_'
}

answers() {
    timeout 10 virsh -q -c "$URI" version >/dev/null 2>&1
}

alive() {
    # alive PIDFILE: true when the pid in the file is a running process.
    [ -s "$1" ] || return 1
    pid=$(cat "$1")
    case "$pid" in ''|*[!0-9]*) return 1 ;; esac
    kill -0 "$pid" 2>/dev/null
}

stop_pidfile() {
    # stop_pidfile PIDFILE NAME: SIGTERM, wait up to 10 s, then SIGKILL.
    if alive "$1"; then
        pid=$(cat "$1")
        kill -TERM "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "libvirtd-test.sh: $2 (pid $pid) ignored SIGTERM, killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        echo "libvirtd-test.sh: stopped $2 (pid $pid)"
    fi
    rm -f "$1"
}

do_start() {
    [ "$(id -u)" = 0 ] || die "must run as root to manage qemu:///system"
    command -v virsh >/dev/null 2>&1 || die "virsh not found (package libvirt-clients)"
    mkdir -p "$RUNDIR/holders"
    touch "$RUNDIR/holders/$(holder_id "$1")"
    if answers; then
        if alive "$RUNDIR/libvirtd.pid"; then
            echo "libvirtd-test.sh: using the daemon started earlier (pid $(cat "$RUNDIR/libvirtd.pid"))"
        else
            echo "libvirtd-test.sh: using the libvirt daemon already running at $URI"
        fi
        return 0
    fi
    [ -x "$LIBVIRTD" ] || die "$LIBVIRTD not found (package libvirt-daemon-system)"
    [ -x "$VIRTLOGD" ] || die "$VIRTLOGD not found (package libvirt-daemon-system)"
    # A socket left behind by a dead daemon would make libvirtd refuse to start.
    if ! alive "$RUNDIR/virtlogd.pid"; then
        "$VIRTLOGD" -d -p "$RUNDIR/virtlogd.pid" 9>&- || die "virtlogd failed to start"
    fi
    "$LIBVIRTD" -d -p "$RUNDIR/libvirtd.pid" 9>&- || die "libvirtd failed to start"
    i=0
    while ! answers; do
        i=$((i + 1))
        if [ $i -ge 60 ]; then
            stop_pidfile "$RUNDIR/libvirtd.pid" libvirtd
            stop_pidfile "$RUNDIR/virtlogd.pid" virtlogd
            die "libvirtd started but does not answer on $URI after 30 s"
        fi
        sleep 0.5
    done
    echo "libvirtd-test.sh: started libvirtd (pid $(cat "$RUNDIR/libvirtd.pid")), $URI answers"
}

do_stop() {
    rm -f "$RUNDIR/holders/$(holder_id "$1")"
    if [ -d "$RUNDIR/holders" ] && [ -n "$(ls -A "$RUNDIR/holders")" ]; then
        echo "libvirtd-test.sh: other holders remain, leaving the daemon running"
        return 0
    fi
    stop_pidfile "$RUNDIR/libvirtd.pid" libvirtd
    stop_pidfile "$RUNDIR/virtlogd.pid" virtlogd
}

cmd=${1:-}
case "$cmd" in
start|stop)
    [ $# -eq 2 ] || die "usage: $0 start|stop HOLDER"
    mkdir -p "$RUNDIR"
    # One start/stop at a time.
    exec 9>"$RUNDIR/lock"
    flock -w 60 9 || die "cannot lock $RUNDIR/lock"
    if [ "$cmd" = start ]; then do_start "$2"; else do_stop "$2"; fi
    ;;
status)
    if answers; then echo "running"; else echo "not running"; exit 1; fi
    ;;
*)
    die "usage: $0 start|stop HOLDER | status"
    ;;
esac
