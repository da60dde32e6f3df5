#!/usr/bin/env bash
# redis.sh - a private Redis server for llmgw tests and development, without
# systemd (schema cache, shared rate limits and budgets).
#   scripts/redis.sh start|stop|status|restart [port]
# Listens on 127.0.0.1:$port only (default $LLMGW_REDIS_PORT or 16379, never
# the 6379 default) and on a unix socket, no persistence (no RDB, no AOF),
# daemonized with a pidfile; config, pidfile, log and socket (redis.sock)
# live in $LLMGW_REDIS_DIR/<port> (default /tmp/llmgw-redis-$UID/<port>).
# DEBUG is enabled for local connections only (DEBUG SLEEP stalls a
# server). start waits until PING answers and is idempotent; stop sends
# SHUTDOWN NOSAVE (SIGTERM as the fallback) to the PID in the pidfile and
# waits. redis-server is installed with apt-get when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${LLMGW_REDIS_DIR:-/tmp/llmgw-redis-$(id -u)}
server=/usr/bin/redis-server
cli=/usr/bin/redis-cli

die() { echo "redis.sh: $*" >&2; exit 1; }

usage() {
  echo "usage: scripts/redis.sh start|stop|status|restart [port]" >&2
  exit 2
}

ensure_installed() {
  [ -x "$server" ] && [ -x "$cli" ] && return 0
  echo "redis.sh: installing redis-server with apt-get"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  [ -x "$server" ] || die "redis-server is still missing after apt-get"
}

write_config() { # dir port
  local d=$1 port=$2
  mkdir -p "$d"
  cat >"$d/redis.conf.new" <<EOF
bind 127.0.0.1
port $port
unixsocket $d/redis.sock
unixsocketperm 700
protected-mode yes
daemonize yes
pidfile $d/redis.pid
logfile $d/redis.log
dir $d
save ""
appendonly no
databases 16
maxclients 1000
enable-debug-command local
EOF
  mv "$d/redis.conf.new" "$d/redis.conf"
}

# The PID of the server this directory's config started, or nothing.
server_pid() {
  local d=$1 pid
  [ -f "$d/redis.pid" ] || return 0
  pid=$(tr -dc '0-9' <"$d/redis.pid")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "redis-server" && echo "$pid"
  return 0
}

ping_ok() { [ "$("$cli" -h 127.0.0.1 -p "$1" --no-auth-warning PING 2>/dev/null)" = PONG ]; }

do_start() { # port
  local port=$1 d=$root/$1 pid i
  ensure_installed
  pid=$(server_pid "$d")
  if [ -n "$pid" ] && ping_ok "$port"; then
    echo "redis $port: already running (pid $pid, 127.0.0.1:$port)"
    return 0
  fi
  [ -z "$pid" ] || die "$port: pid $pid holds $d but PING on $port does not answer"
  ! ping_ok "$port" || die "$port: port $port already answers PING (another server?)"
  write_config "$d" "$port"
  "$server" "$d/redis.conf" >/dev/null 2>&1 || { tail -5 "$d/redis.log" >&2 2>/dev/null; die "$port: redis-server failed"; }
  for i in $(seq 1 100); do
    if ping_ok "$port"; then
      echo "redis $port: running (pid $(server_pid "$d"), 127.0.0.1:$port)"
      return 0
    fi
    sleep 0.1
  done
  tail -5 "$d/redis.log" >&2 2>/dev/null || true
  die "$port: no PONG on 127.0.0.1:$port after 10 s (see $d/redis.log)"
}

do_stop() { # port
  local port=$1 d=$root/$1 pid i
  pid=$(server_pid "$d")
  if [ -z "$pid" ]; then
    echo "redis $port: not running"
    return 0
  fi
  "$cli" -h 127.0.0.1 -p "$port" SHUTDOWN NOSAVE >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do
    [ -d "/proc/$pid" ] || { rm -f "$d/redis.pid"; echo "redis $port: stopped"; return 0; }
    sleep 0.1
  done
  echo "redis $port: still running after 10 s, sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$d/redis.pid"
}

do_status() { # port
  local pid
  pid=$(server_pid "$root/$1")
  if [ -n "$pid" ] && ping_ok "$1"; then
    echo "redis $1: running (pid $pid, 127.0.0.1:$1)"
    return 0
  fi
  echo "redis $1: not running"
  return 3
}

[ $# -ge 1 ] && [ $# -le 2 ] || usage
port=${2:-${LLMGW_REDIS_PORT:-16379}}
case "$port" in '' | *[!0-9]*) die "bad port '$port'" ;; esac
[ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "bad port '$port'"
case "$1" in
  start) do_start "$port" ;;
  stop) do_stop "$port" ;;
  status) do_status "$port" ;;
  restart) do_stop "$port" && do_start "$port" ;;
  *) usage ;;
esac
