#!/usr/bin/env bash
# dockerd.sh start|stop|status: the Docker engine `sam local invoke` talks to.
#
# start: when `docker info` already answers, uses that engine and records nothing. Otherwise
# starts Debian's dockerd with --userland-proxy=false (with the default proxy, arm64 invocations
# under qemu fail: the proxy accepts SAM's connection before the emulator in the container
# listens) and records its PID in $STATE/dockerd.pid; prints "started PID".
# stop: stops the dockerd this script started, by its recorded PID, and only that one.
#
# Exit status 77 from start: Docker cannot run on this machine (no dockerd, not root, or the
# engine does not come up here); its log says why.
set -euo pipefail

STATE=${HOOKLOOP_STATE:-$HOME/.cache/hookloop}/sam-local
PIDFILE=$STATE/dockerd.pid
LOG=$STATE/dockerd.log
mkdir -p "$STATE"

running_pid() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] && echo "$pid"
}

case ${1:-start} in
  start)
    if docker info >/dev/null 2>&1; then
      echo "sam-local: using the running Docker engine"
      exit 0
    fi
    command -v dockerd >/dev/null || { echo "sam-local: no dockerd: run install.sh" >&2; exit 77; }
    [ "$(id -u)" = 0 ] || { echo "sam-local: starting dockerd needs root" >&2; exit 77; }
    if ! pid=$(running_pid); then
      # A stale socket from an engine that died would make dockerd refuse to start.
      [ -S /var/run/docker.sock ] && ! docker info >/dev/null 2>&1 && rm -f /var/run/docker.sock
      setsid dockerd --userland-proxy=false >"$LOG" 2>&1 </dev/null &
      pid=$!
      echo "$pid" >"$PIDFILE"
    fi
    for _ in $(seq 300); do
      docker info >/dev/null 2>&1 && { echo "started $pid"; exit 0; }
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    echo "sam-local: dockerd did not come up; last lines of $LOG:" >&2
    tail -20 "$LOG" >&2
    kill "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
    exit 77
    ;;
  stop)
    if pid=$(running_pid); then
      kill "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      echo "sam-local: stopped dockerd $pid"
    fi
    rm -f "$PIDFILE"
    ;;
  status)
    if pid=$(running_pid); then echo "dockerd $pid (started by this script)"
    elif docker info >/dev/null 2>&1; then echo "a Docker engine this script did not start"
    else echo "no Docker engine"; exit 1; fi
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
