#!/usr/bin/env bash
# Start or stop a docker daemon the way this project's machines allow: no bridge, no iptables.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: deploy/images/dockerd.sh start|stop|status

start   start dockerd --bridge=none --iptables=false (pidfile and log under
        ${TUTTI_DOCKERD_DIR:-/run/tutti-dockerd}) unless a daemon already answers; print
        "started" when this call started it, "running" when one was there
stop    stop the daemon `start` started (its pidfile), waiting up to 60 s; a daemon this
        script did not start is left alone
status  exit 0 when a daemon answers

Without a bridge every container runs with --network host (and builds with
`docker build --network host`): services bind 127.0.0.1 on the ports they are given.
Needs root and Debian's docker.io (apt-get install -y docker.io).
USAGE
}

dir="${TUTTI_DOCKERD_DIR:-/run/tutti-dockerd}"
pidfile="$dir/dockerd.pid"

answers() { docker info >/dev/null 2>&1; }

case "${1:-}" in
    start)
        if answers; then
            echo running
            exit 0
        fi
        command -v dockerd >/dev/null || { echo "dockerd.sh: no dockerd: apt-get install -y docker.io" >&2; exit 1; }
        mkdir -p "$dir"
        nohup dockerd --bridge=none --iptables=false --pidfile "$pidfile" \
            >"$dir/dockerd.log" 2>&1 </dev/null &
        for _ in $(seq 60); do
            if answers; then
                echo started
                exit 0
            fi
            sleep 1
        done
        echo "dockerd.sh: dockerd did not answer within 60 s; its log: $dir/dockerd.log" >&2
        tail -20 "$dir/dockerd.log" >&2 || true
        exit 1
        ;;
    stop)
        [[ -f "$pidfile" ]] || { echo "dockerd.sh: no $pidfile: nothing this script started" >&2; exit 0; }
        pid="$(cat "$pidfile")"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 60); do
            kill -0 "$pid" 2>/dev/null || { echo stopped; exit 0; }
            sleep 1
        done
        echo "dockerd.sh: dockerd $pid still running after 60 s" >&2
        exit 1
        ;;
    status) answers ;;
    -h|--help) usage ;;
    *) usage >&2; exit 2 ;;
esac
