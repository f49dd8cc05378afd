#!/bin/sh
# Starts and stops vcsimx (govmomi's vCenter simulator with the export calls, built by
# $H2K_SHARED_DIR/peers/vsphere/build.sh) on a free loopback port, for tests and demos.
#
#   vcsim-test.sh start STATEDIR [vcsimx options, e.g. -esx -autostart=false]
#       prints "PORT PID"; the server listens on https://127.0.0.1:PORT/sdk
#       user "user", password $VCSIM_PASSWORD (default "pass")
#   vcsim-test.sh stop STATEDIR
#       stops the server started with STATEDIR (by its pid) and removes the state files
#
# The simulator binds port 0 itself (the kernel picks a free port) and reports the
# port it got, so two test runs never race for a port.  Only 127.0.0.1 is used.
set -eu
cmd=${1:-}
state=${2:-}
if [ -z "$cmd" ] || [ -z "$state" ]; then
    echo "usage: $0 start|stop STATEDIR [vcsimx options]" >&2
    exit 2
fi
shift 2

stop() {
    [ -f "$state/pid" ] || return 0
    pid=$(cat "$state/pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$state/pid" "$state/port" "$state/out" "$state/err"
}

case $cmd in
start)
    here=$(cd "$(dirname "$0")" && pwd)
    shared=${H2K_SHARED_DIR:-$here/../../shared}
    bin=$("$shared/peers/vsphere/build.sh" | tail -n 1)
    [ -x "$bin" ] || { echo "vcsim-test.sh: vcsimx was not built" >&2; exit 1; }
    mkdir -p "$state"
    "$bin" -l 127.0.0.1:0 -username user -password "${VCSIM_PASSWORD:-pass}" "$@" \
        >"$state/out" 2>"$state/err" </dev/null &
    pid=$!
    echo "$pid" >"$state/pid"
    i=0
    port=
    while [ $i -lt 300 ]; do
        port=$(sed -n 's/.*@127\.0\.0\.1:\([0-9][0-9]*\)\/sdk.*/\1/p' "$state/out" 2>/dev/null | head -n 1)
        [ -n "$port" ] && break
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "vcsim-test.sh: vcsimx exited:" >&2
            cat "$state/err" >&2
            rm -f "$state/pid"
            exit 1
        fi
        sleep 0.1
        i=$((i + 1))
    done
    if [ -z "$port" ]; then
        echo "vcsim-test.sh: vcsimx did not report its port in 30 s" >&2
        stop
        exit 1
    fi
    echo "$port" >"$state/port"
    echo "$port $pid"
    ;;
stop)
    stop
    ;;
*)
    echo "usage: $0 start|stop STATEDIR [vcsimx options]" >&2
    exit 2
    ;;
esac
