#!/usr/bin/env bash
# Start a local replicated cluster (issue 15): nsqlookupd, three nsqd with
# --replication-peers (replication factor 3, data under ./data/repl/nsqd<i>)
# and nsqadmin, on loopback, and print their addresses. Ctrl-C stops all.
#
# Ports: BASE (default 4300): nsqd i (1..3) listens on TCP BASE+10i, HTTP
# BASE+10i+1 and replication BASE+10i+2; nsqlookupd on BASE+60/BASE+61,
# nsqadmin on BASE+71. The data directory is DATA_DIR (default data/repl).
set -eu
cd "$(dirname "$0")/.."
B=${BUILDDIR:-build}
BASE=${BASE:-4300}
DATA_DIR=${DATA_DIR:-data/repl}
LOOKUPD_TCP=$((BASE + 60))
LOOKUPD_HTTP=$((BASE + 61))
ADMIN_HTTP=$((BASE + 71))
mkdir -p "$DATA_DIR/logs"

PING_TRIES=200 # up to 20 s per daemon
# shellcheck source=scripts/cluster-lib.sh
. scripts/cluster-lib.sh

"$B/nsqlookupd" --tcp-address="127.0.0.1:$LOOKUPD_TCP" --http-address="127.0.0.1:$LOOKUPD_HTTP" \
    --broadcast-address=127.0.0.1 >"$DATA_DIR/logs/nsqlookupd.log" 2>&1 &
pids+=($!)
wait_ping nsqlookupd "http://127.0.0.1:$LOOKUPD_HTTP/ping"

peers="1=127.0.0.1:$((BASE + 12)),2=127.0.0.1:$((BASE + 22)),3=127.0.0.1:$((BASE + 32))"
for i in 1 2 3; do
    mkdir -p "$DATA_DIR/nsqd$i"
    "$B/nsqd" --node-id=$i --data-path="$DATA_DIR/nsqd$i" \
        --tcp-address="127.0.0.1:$((BASE + 10 * i))" --http-address="127.0.0.1:$((BASE + 10 * i + 1))" \
        --https-address= --broadcast-address=127.0.0.1 --lookupd-tcp-address="127.0.0.1:$LOOKUPD_TCP" \
        --replication-peers="$peers" --replication-address="127.0.0.1:$((BASE + 10 * i + 2))" \
        >"$DATA_DIR/logs/nsqd$i.log" 2>&1 &
    pids+=($!)
done
for i in 1 2 3; do
    wait_ping "nsqd$i" "http://127.0.0.1:$((BASE + 10 * i + 1))/ping"
done

"$B/nsqadmin" --http-address="127.0.0.1:$ADMIN_HTTP" \
    --lookupd-http-address="127.0.0.1:$LOOKUPD_HTTP" >"$DATA_DIR/logs/nsqadmin.log" 2>&1 &
pids+=($!)
wait_ping nsqadmin "http://127.0.0.1:$ADMIN_HTTP/ping"

cat <<EOT
replicated NSQ cluster is up (logs in $DATA_DIR/logs):
  nsqlookupd  tcp 127.0.0.1:$LOOKUPD_TCP   http http://127.0.0.1:$LOOKUPD_HTTP
  nsqd 1      tcp 127.0.0.1:$((BASE + 10))   http http://127.0.0.1:$((BASE + 11))   replication 127.0.0.1:$((BASE + 12))
  nsqd 2      tcp 127.0.0.1:$((BASE + 20))   http http://127.0.0.1:$((BASE + 21))   replication 127.0.0.1:$((BASE + 22))
  nsqd 3      tcp 127.0.0.1:$((BASE + 30))   http http://127.0.0.1:$((BASE + 31))   replication 127.0.0.1:$((BASE + 32))
  nsqadmin    http://127.0.0.1:$ADMIN_HTTP
every publish is answered once it is fsynced on 2 of the 3 nodes; kill -9 any one
nsqd and its acknowledged messages are delivered by the others.
try:  curl -d 'hello' 'http://127.0.0.1:$((BASE + 11))/pub?topic=test'
      curl -s 'http://127.0.0.1:$((BASE + 21))/stats?format=json' | jq .replication
      $B/nsq_tail --lookupd-http-address=127.0.0.1:$LOOKUPD_HTTP --topic=test
press Ctrl-C to stop.
EOT
wait -n "${pids[@]}" || true
echo "a daemon exited; stopping the others" >&2
