#!/usr/bin/env bash
# Throughput benchmark, like NSQ's bench.sh: start nsqd on loopback with
# its default flags, run bench_writer (PUB) then bench_reader (SUB) against
# it, then both at once, and report the broker's own CPU time per message
# from /proc. `make bench` runs it only where the shared side-by-side
# driver (../shared/bench/compare.sh) is absent, e.g. on a fresh clone.
#
#   scripts/bench.sh [BUILD_DIR]     (RUNFOR=10s SIZE=200; MEMQ sets
#                                     --mem-queue-size, default nsqd's)
set -eu
B=${1:-build}
RUNFOR=${RUNFOR:-10s}
SIZE=${SIZE:-200}
MEMQ=${MEMQ:-}
PORT_TCP=${PORT_TCP:-4250}
PORT_HTTP=${PORT_HTTP:-4251}
DATA=$(mktemp -d "${TMPDIR:-/tmp}/nsq-bench.XXXXXX")
"$B/nsqd" --data-path="$DATA" --tcp-address="127.0.0.1:$PORT_TCP" --http-address="127.0.0.1:$PORT_HTTP" \
    --https-address= ${MEMQ:+--mem-queue-size="$MEMQ"} --log-level=warn >"$DATA/nsqd.log" 2>&1 &
NSQD=$!
trap 'kill $NSQD 2>/dev/null; wait $NSQD 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 50); do
    curl -sf "http://127.0.0.1:$PORT_HTTP/ping" >/dev/null && break
    sleep 0.1
done
curl -sf -X POST "http://127.0.0.1:$PORT_HTTP/topic/create?topic=sub_bench" >/dev/null
curl -sf -X POST "http://127.0.0.1:$PORT_HTTP/channel/create?topic=sub_bench&channel=ch" >/dev/null
cpu() { awk '{print $14 + $15}' "/proc/$NSQD/stat"; }
count() { curl -sf "http://127.0.0.1:$PORT_HTTP/stats?format=json&topic=sub_bench" |
    python3 -c 'import json,sys; t=json.load(sys.stdin)["topics"][0]; c=t["channels"][0]; print(t["message_count"], c["depth"] + c["in_flight_count"])'; }
tick=$(getconf CLK_TCK)

c0=$(cpu)
echo -n "PUB: "; "$B/bench_writer" --nsqd-tcp-address="127.0.0.1:$PORT_TCP" --runfor="$RUNFOR" --size="$SIZE" 2>&1 | tail -1
c1=$(cpu)
read -r published left <<<"$(count)"
echo -n "SUB: "; "$B/bench_reader" --nsqd-tcp-address="127.0.0.1:$PORT_TCP" --runfor="$RUNFOR" --size="$SIZE" 2>&1 | tail -1
c2=$(cpu)
read -r _ remaining <<<"$(count)"
delivered=$((left - remaining))
awk -v p="$published" -v d="$delivered" -v a=$((c1 - c0)) -v b=$((c2 - c1)) -v t="$tick" 'BEGIN {
    printf "nsqd CPU per message: publish %.2f us (%d msgs), deliver %.2f us (%d msgs)\n",
        a / t * 1e6 / p, p, (d > 0 ? b / t * 1e6 / d : 0), d }'

# both at once: the steady state of a busy topic
read -r before _ <<<"$(count)"
c3=$(cpu)
"$B/bench_reader" --nsqd-tcp-address="127.0.0.1:$PORT_TCP" --runfor="$RUNFOR" --size="$SIZE" >"$DATA/reader.out" 2>&1 &
READER=$!
echo -n "PUB+SUB: "; "$B/bench_writer" --nsqd-tcp-address="127.0.0.1:$PORT_TCP" --runfor="$RUNFOR" --size="$SIZE" 2>&1 | tail -1
wait "$READER"
echo -n "         "; tail -1 "$DATA/reader.out"
c4=$(cpu)
read -r after left <<<"$(count)"
awk -v n=$((after - before)) -v l="$left" -v c=$((c4 - c3)) -v t="$tick" 'BEGIN {
    printf "nsqd CPU per message published and delivered: %.2f us (%d msgs, %d left queued or in flight)\n",
        c / t * 1e6 / n, n, l }'
