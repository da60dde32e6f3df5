#!/usr/bin/env bash
# clickhouse.sh - private ClickHouse 18.16 servers for llmgw development, tests
# and benchmarks, without systemd (platform-clickhouse.md 1-3).
#   scripts/clickhouse.sh [single] start|stop|status|restart   one node
#   scripts/clickhouse.sh cluster  start|stop|status|restart   two shards, one machine
#   scripts/clickhouse.sh all      start|stop|status           both of the above
# Every node listens on 127.0.0.1 only, keeps its config, data and logs under
# $LLMGW_CLICKHOUSE_DIR (default ./var/clickhouse at the repository root) and
# uses its own ports (never the 8123/9000 defaults):
#   single  http $LLMGW_CH_SINGLE_PORT (18123), tcp +1000 (19123)
#   shard1  http $LLMGW_CH_SHARD1_PORT (18124), tcp +1000 (19124)
#   shard2  http $LLMGW_CH_SHARD2_PORT (18125), tcp +1000 (19125)
# The cluster is named retail2 in remote_servers on both shards. Users:
# `default` (loading; no password, loopback only) and `llmgw_ro` (the engine:
# readonly=1 and every limit fixed in its profile; password
# $LLMGW_CH_RO_PASSWORD, default empty; databases retail and retail_t1, the
# latter for tests/unit/test_engine_clickhouse.c). Two users with passwords test
# credentials end to end: `llmgw_pw` (the ro profile, password
# $LLMGW_CH_PW_PASSWORD, default llmgw-test-pw) and `llmgw_rw` (a writer for
# `catalog load`, $LLMGW_CH_RW_PASSWORD, default llmgw-test-rw). start waits until /ping answers and is
# idempotent; stop sends SIGTERM to the PID in the node's status file and
# waits. clickhouse-server is installed with apt-get when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${LLMGW_CLICKHOUSE_DIR:-$PWD/var/clickhouse}
case "$root" in /*) ;; *) root=$PWD/$root ;; esac
single_port=${LLMGW_CH_SINGLE_PORT:-18123}
shard1_port=${LLMGW_CH_SHARD1_PORT:-18124}
shard2_port=${LLMGW_CH_SHARD2_PORT:-18125}
ro_password=${LLMGW_CH_RO_PASSWORD:-}
pw_password=${LLMGW_CH_PW_PASSWORD:-llmgw-test-pw}
rw_password=${LLMGW_CH_RW_PASSWORD:-llmgw-test-rw}
server=/usr/sbin/clickhouse-server

die() { echo "clickhouse.sh: $*" >&2; exit 1; }

ensure_installed() {
  [ -x "$server" ] && return 0
  echo "clickhouse.sh: installing clickhouse-server clickhouse-client with apt-get"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends clickhouse-server clickhouse-client >/dev/null
  [ -x "$server" ] || die "clickhouse-server is still missing after apt-get"
}

xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' <<<"$1"; }

# remote_servers for the two-shard cluster (each replica names the retail
# database so unqualified tables resolve on the remote shard too, section 2).
cluster_xml() {
  local p
  echo "  <remote_servers><retail2>"
  for p in "$shard1_port" "$shard2_port"; do
    echo "    <shard><internal_replication>false</internal_replication><replica><host>127.0.0.1</host>"
    echo "      <port>$((p + 1000))</port><default_database>retail</default_database></replica></shard>"
  done
  echo "  </retail2></remote_servers>"
}

write_config() { # dir http_port with_cluster
  local d=$1 port=$2
  mkdir -p "$d/data" "$d/log"
  {
    echo "<yandex>"
    echo "  <logger><level>warning</level><log>$d/log/server.log</log>"
    echo "    <errorlog>$d/log/server.err.log</errorlog><size>100M</size><count>2</count></logger>"
    echo "  <listen_host>127.0.0.1</listen_host>"
    echo "  <http_port>$port</http_port><tcp_port>$((port + 1000))</tcp_port>"
    echo "  <path>$d/data/</path><tmp_path>$d/data/tmp/</tmp_path>"
    echo "  <user_files_path>$d/data/user_files/</user_files_path>"
    echo "  <users_config>users.xml</users_config><default_profile>default</default_profile>"
    echo "  <default_database>default</default_database><timezone>UTC</timezone>"
    echo "  <mark_cache_size>536870912</mark_cache_size><max_concurrent_queries>64</max_concurrent_queries>"
    [ "$3" = 1 ] && cluster_xml
    echo "</yandex>"
  } >"$d/config.xml.new"
  mv "$d/config.xml.new" "$d/config.xml"
  write_users "$d"
}

write_users() { # dir
  local pw pw2 pw3
  pw=$(xml_escape "$ro_password")
  pw2=$(xml_escape "$pw_password")
  pw3=$(xml_escape "$rw_password")
  cat >"$1/users.xml.new" <<EOF
<yandex>
  <profiles>
    <default>
      <max_memory_usage>8000000000</max_memory_usage>
      <distributed_product_mode>local</distributed_product_mode>
    </default>
    <ro>
      <readonly>1</readonly>
      <max_execution_time>10</max_execution_time>
      <max_rows_to_read>100000000</max_rows_to_read>
      <max_result_rows>100000</max_result_rows><result_overflow_mode>break</result_overflow_mode>
      <max_memory_usage>2000000000</max_memory_usage>
      <distributed_product_mode>local</distributed_product_mode>
    </ro>
  </profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile><quota>default</quota></default>
    <llmgw_ro><password>$pw</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>ro</profile><quota>default</quota>
      <allow_databases><database>retail</database><database>retail_t1</database></allow_databases></llmgw_ro>
    <llmgw_pw><password>$pw2</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>ro</profile><quota>default</quota>
      <allow_databases><database>retail</database><database>retail_t1</database></allow_databases></llmgw_pw>
    <llmgw_rw><password>$pw3</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile><quota>default</quota></llmgw_rw>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF
  mv "$1/users.xml.new" "$1/users.xml"
}

# The PID of the server running on dir, or nothing.
node_pid() {
  local d=$1 pid
  [ -f "$d/data/status" ] || return 0
  pid=$(sed -n 's/^PID: *\([0-9]*\).*/\1/p' "$d/data/status")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--config-file=$d/config.xml" && echo "$pid"
  return 0
}

ping_ok() { curl -fsS --max-time 2 "http://127.0.0.1:$1/ping" 2>/dev/null | grep -q '^Ok\.'; }

start_node() { # name port with_cluster
  local d=$root/$1 port=$2 pid i
  ensure_installed
  write_config "$d" "$port" "$3"
  pid=$(node_pid "$d")
  if [ -n "$pid" ] && ping_ok "$port"; then
    echo "clickhouse $1: already running (pid $pid, http 127.0.0.1:$port)"
    return 0
  fi
  [ -z "$pid" ] || die "$1: pid $pid holds $d but /ping on $port does not answer"
  ! ping_ok "$port" || die "$1: port $port already answers /ping (another server?)"
  nohup "$server" --config-file="$d/config.xml" >"$d/log/stdout.log" 2>&1 </dev/null &
  for i in $(seq 1 300); do
    if ping_ok "$port"; then
      echo "clickhouse $1: running (pid $(node_pid "$d"), http 127.0.0.1:$port, tcp $((port + 1000)))"
      return 0
    fi
    if ! kill -0 $! 2>/dev/null; then
      tail -5 "$d/log/stdout.log" "$d/log/server.err.log" 2>/dev/null >&2 || true
      die "$1: clickhouse-server exited during start"
    fi
    sleep 0.1
  done
  die "$1: no answer on 127.0.0.1:$port/ping after 30 s (see $d/log)"
}

stop_node() { # name
  local d=$root/$1 pid i
  pid=$(node_pid "$d")
  if [ -z "$pid" ]; then
    echo "clickhouse $1: not running"
    return 0
  fi
  kill -TERM "$pid"
  for i in $(seq 1 600); do
    [ -d "/proc/$pid" ] || { echo "clickhouse $1: stopped"; return 0; }
    sleep 0.1
  done
  echo "clickhouse $1: still running after 60 s, sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

status_node() { # name port
  local pid
  pid=$(node_pid "$root/$1")
  if [ -n "$pid" ] && ping_ok "$2"; then
    echo "clickhouse $1: running (pid $pid, http 127.0.0.1:$2)"
    return 0
  fi
  echo "clickhouse $1: not running"
  return 3
}

do_single() {
  case "$1" in
    start) start_node single "$single_port" 0 ;;
    stop) stop_node single ;;
    status) status_node single "$single_port" ;;
    restart) stop_node single && start_node single "$single_port" 0 ;;
    *) usage ;;
  esac
}

do_cluster() {
  case "$1" in
    start) start_node shard1 "$shard1_port" 1 && start_node shard2 "$shard2_port" 1 ;;
    stop) stop_node shard1 && stop_node shard2 ;;
    status) local rc=0; status_node shard1 "$shard1_port" || rc=$?; status_node shard2 "$shard2_port" || rc=$?
            return $rc ;;
    restart) do_cluster stop && do_cluster start ;;
    *) usage ;;
  esac
}

usage() {
  echo "usage: scripts/clickhouse.sh [single|cluster|all] start|stop|status|restart" >&2
  exit 2
}

[ $# -ge 1 ] || usage
case "$1" in
  single) [ $# -eq 2 ] || usage; do_single "$2" ;;
  cluster) [ $# -eq 2 ] || usage; do_cluster "$2" ;;
  all) [ $# -eq 2 ] || usage; rc=0; do_single "$2" || rc=$?; do_cluster "$2" || rc=$?; exit $rc ;;
  start | stop | status | restart) [ $# -eq 1 ] || usage; do_single "$1" ;;
  *) usage ;;
esac
