#!/usr/bin/env bash
# Start a local cluster: nsqlookupd, nsqd (data under ./data/nsqd) and
# nsqadmin, on loopback, and print their addresses. Ctrl-C stops all three
# cleanly (nsqd writes its queues to disk first).
#
# Ports can be changed with LOOKUPD_TCP, LOOKUPD_HTTP, NSQD_TCP, NSQD_HTTP,
# ADMIN_HTTP; the data directory with DATA_DIR.
set -eu
cd "$(dirname "$0")/.."
B=${BUILDDIR:-build}
DATA_DIR=${DATA_DIR:-data}
LOOKUPD_TCP=${LOOKUPD_TCP:-4160}
LOOKUPD_HTTP=${LOOKUPD_HTTP:-4161}
NSQD_TCP=${NSQD_TCP:-4150}
NSQD_HTTP=${NSQD_HTTP:-4151}
ADMIN_HTTP=${ADMIN_HTTP:-4171}
mkdir -p "$DATA_DIR/nsqd" "$DATA_DIR/logs"

# shellcheck source=scripts/cluster-lib.sh
. scripts/cluster-lib.sh

"$B/nsqlookupd" --tcp-address="127.0.0.1:$LOOKUPD_TCP" --http-address="127.0.0.1:$LOOKUPD_HTTP" \
    --broadcast-address=127.0.0.1 >"$DATA_DIR/logs/nsqlookupd.log" 2>&1 &
pids+=($!)
wait_ping nsqlookupd "http://127.0.0.1:$LOOKUPD_HTTP/ping"

"$B/nsqd" --data-path="$DATA_DIR/nsqd" --tcp-address="127.0.0.1:$NSQD_TCP" \
    --http-address="127.0.0.1:$NSQD_HTTP" --https-address= --broadcast-address=127.0.0.1 \
    --lookupd-tcp-address="127.0.0.1:$LOOKUPD_TCP" >"$DATA_DIR/logs/nsqd.log" 2>&1 &
pids+=($!)
wait_ping nsqd "http://127.0.0.1:$NSQD_HTTP/ping"

"$B/nsqadmin" --http-address="127.0.0.1:$ADMIN_HTTP" \
    --lookupd-http-address="127.0.0.1:$LOOKUPD_HTTP" >"$DATA_DIR/logs/nsqadmin.log" 2>&1 &
pids+=($!)
wait_ping nsqadmin "http://127.0.0.1:$ADMIN_HTTP/ping"

cat <<EOT
local NSQ cluster is up (logs in $DATA_DIR/logs, nsqd data in $DATA_DIR/nsqd):
  nsqlookupd  tcp 127.0.0.1:$LOOKUPD_TCP   http http://127.0.0.1:$LOOKUPD_HTTP
  nsqd        tcp 127.0.0.1:$NSQD_TCP   http http://127.0.0.1:$NSQD_HTTP
  nsqadmin    http://127.0.0.1:$ADMIN_HTTP
try:  curl -d 'hello' 'http://127.0.0.1:$NSQD_HTTP/pub?topic=test'
      $B/nsq_tail --lookupd-http-address=127.0.0.1:$LOOKUPD_HTTP --topic=test
press Ctrl-C to stop.
EOT
wait -n "${pids[@]}" || true
echo "a daemon exited; stopping the others" >&2
