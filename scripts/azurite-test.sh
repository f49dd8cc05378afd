#!/bin/sh
# Starts or stops Azurite (the Azure Storage emulator) for the test suite.
#
#   scripts/azurite-test.sh start STATE_DIR [SHARED_DIR]
#   scripts/azurite-test.sh stop STATE_DIR
#
# "start" makes a self-signed certificate for 127.0.0.1 (STATE_DIR/azurite/cert.pem,
# key.pem), picks a free loopback port, starts azurite-blob over HTTPS with in-memory
# storage and waits until it answers; its pid and port go to STATE_DIR/azurite/pid and
# port.  "stop" stops that pid (never a process found by name) and removes the folder.
# The program comes from $H2K_AZURITE, else from SHARED_DIR/peers/azure/setup.sh.
set -eu

die() { echo "azurite-test.sh: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: $0 start|stop STATE_DIR [SHARED_DIR]"
dir="$2/azurite"

case "$1" in
start)
    if [ -s "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
        echo "azurite-test.sh: already running (pid $(cat "$dir/pid"), port $(cat "$dir/port"))"
        exit 0
    fi
    bin=${H2K_AZURITE:-}
    if [ -z "$bin" ]; then
        [ $# -ge 3 ] || die "no SHARED_DIR given and H2K_AZURITE unset"
        [ -x "$3/peers/azure/setup.sh" ] || [ -f "$3/peers/azure/setup.sh" ] ||
            die "$3/peers/azure/setup.sh is missing: cannot install Azurite"
        bin=$(sh "$3/peers/azure/setup.sh") || die "Azurite could not be installed"
    fi
    [ -x "$bin" ] || die "$bin is not an executable Azurite"
    command -v openssl >/dev/null || die "openssl is missing"
    command -v python3 >/dev/null || die "python3 is missing"
    rm -rf "$dir"
    mkdir -p "$dir"
    chmod 700 "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 ||
        die "openssl could not make a certificate"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$bin" --blobHost 127.0.0.1 --blobPort "$port" --inMemoryPersistence --disableTelemetry \
        --skipApiVersionCheck --cert "$dir/cert.pem" --key "$dir/key.pem" \
        >"$dir/log" 2>&1 &
    echo $! >"$dir/pid"
    echo "$port" >"$dir/port"
    i=0
    while :; do
        if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
            cat "$dir/log" >&2
            die "Azurite exited at start"
        fi
        code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$dir/cert.pem" \
            "https://127.0.0.1:$port/devstoreaccount1?comp=list" || true)
        case "$code" in 2??|4??) break ;; esac
        i=$((i + 1))
        [ $i -lt 300 ] || { kill "$(cat "$dir/pid")" 2>/dev/null || true; die "Azurite did not answer in 60 s"; }
        sleep 0.2
    done
    echo "azurite-test.sh: Azurite on https://127.0.0.1:$port (pid $(cat "$dir/pid"))"
    ;;
stop)
    if [ -s "$dir/pid" ]; then
        pid=$(cat "$dir/pid")
        case "$pid" in ''|*[!0-9]*) die "bad pid file $dir/pid" ;; esac
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            i=0
            while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
            echo "azurite-test.sh: stopped Azurite (pid $pid)"
        fi
    fi
    rm -rf "$dir"
    ;;
*) die "unknown command $1" ;;
esac
