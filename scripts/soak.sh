#!/usr/bin/env bash
# Bounded soak test: run nsqd under a steady publish/consume load with
# connection churn for DURATION and report its RSS, goroutines and open
# file descriptors every INTERVAL, then whether any of them kept growing.
#
#   scripts/soak.sh [BUILD_DIR]      (DURATION=30m INTERVAL=30s SIZE=200)
#
# Loopback only; ports PORT_TCP/PORT_HTTP (default 4350/4351). Needs the
# binaries of `make build` (nsqd, bench_writer, bench_reader) and curl.
set -eu
B=${1:-build}
DURATION=${DURATION:-30m}
INTERVAL=${INTERVAL:-30s}
SIZE=${SIZE:-200}
PORT_TCP=${PORT_TCP:-4350}
PORT_HTTP=${PORT_HTTP:-4351}
secs() { case $1 in *h) echo $((${1%h} * 3600)) ;; *m) echo $((${1%m} * 60)) ;; *s) echo "${1%s}" ;; *) echo "$1" ;; esac; }
total=$(secs "$DURATION")
step=$(secs "$INTERVAL")
DATA=$(mktemp -d "${TMPDIR:-/tmp}/nsq-soak.XXXXXX")
"$B/nsqd" --data-path="$DATA" --tcp-address="127.0.0.1:$PORT_TCP" --http-address="127.0.0.1:$PORT_HTTP" \
    --https-address= --mem-queue-size=10000 --log-level=warn >"$DATA/nsqd.log" 2>&1 &
NSQD=$!
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    kill "$NSQD" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$DATA"
}
trap cleanup EXIT
for _ in $(seq 1 50); do
    curl -sf "http://127.0.0.1:$PORT_HTTP/ping" >/dev/null && break
    sleep 0.1
done
api="http://127.0.0.1:$PORT_HTTP"
curl -sf -X POST "$api/topic/create?topic=sub_bench" >/dev/null
curl -sf -X POST "$api/channel/create?topic=sub_bench&channel=ch" >/dev/null

# steady load, bounded by DURATION: a writer and a reader ...
"$B/bench_writer" --nsqd-tcp-address="127.0.0.1:$PORT_TCP" --runfor="${total}s" --size="$SIZE" >/dev/null 2>&1 &
pids+=($!)
"$B/bench_reader" --nsqd-tcp-address="127.0.0.1:$PORT_TCP" --runfor="${total}s" --size="$SIZE" >/dev/null 2>&1 &
pids+=($!)
# ... and churn: short HTTP publishes, ephemeral channels and topics
(
    end=$((SECONDS + total))
    i=0
    while [ $SECONDS -lt $end ]; do
        curl -sf -X POST -d "churn $i" "$api/pub?topic=churn" >/dev/null || true
        curl -sf -X POST "$api/channel/create?topic=churn&channel=c$((i % 50))" >/dev/null || true
        curl -sf -X POST "$api/channel/delete?topic=churn&channel=c$(((i + 25) % 50))" >/dev/null || true
        i=$((i + 1))
        sleep 0.05
    done
) &
pids+=($!)

sample() {
    local rss fds gor
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$NSQD/status")
    fds=$(ls "/proc/$NSQD/fd" | wc -l)
    gor=$(curl -sf "$api/debug/pprof/goroutine?debug=1" | head -1 | awk '{print $NF}')
    echo "$rss $fds $gor"
}
printf '%8s %10s %6s %10s\n' elapsed rss_kib fds goroutines
first=""
last=""
for ((t = 0; t <= total; t += step)); do
    [ "$t" -gt 0 ] && sleep "$step"
    kill -0 "$NSQD" 2>/dev/null || { echo "nsqd died; log:"; tail -20 "$DATA/nsqd.log"; exit 1; }
    read -r rss fds gor <<<"$(sample)"
    printf '%7ss %10s %6s %10s\n' "$t" "$rss" "$fds" "$gor"
    # the first sample after a minute of warm-up is the baseline
    if [ -z "$first" ] && [ "$t" -ge 60 ]; then first="$rss $fds $gor"; fi
    last="$rss $fds $gor"
done
[ -n "$first" ] || first=$last
read -r r0 f0 g0 <<<"$first"
read -r r1 f1 g1 <<<"$last"
echo "baseline: rss ${r0} KiB, ${f0} fds, ${g0} goroutines; end: rss ${r1} KiB, ${f1} fds, ${g1} goroutines"
status=0
if [ "$r1" -gt $((r0 * 2 + 32768)) ]; then echo "RSS grew"; status=1; fi
if [ "$f1" -gt $((f0 + 50)) ]; then echo "file descriptors grew"; status=1; fi
if [ "$g1" -gt $((g0 + 100)) ]; then echo "goroutines grew"; status=1; fi
[ $status -eq 0 ] && echo "no growth"
exit $status
