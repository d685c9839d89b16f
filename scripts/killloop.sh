#!/usr/bin/env bash
# The long kill -9 loop of --sync-ack (issue 11): build nsqd, then SIGKILL it
# under publish and consume load CYCLES times, restarting on the same data
# path, and report acknowledged, lost and duplicate messages.
#
#   scripts/killloop.sh [CYCLES]          (default 50)
#
# With the shared crash tester beside the checkout (CRASHTEST, default
# ../shared/crashtest, or ../../shared/crashtest from a worktree) it runs that (PRODUCERS, BATCH, SIZE, DURATION per
# cycle, EXTRA_ARGS for nsqd: default --sync-ack); otherwise our own
# TestKillLoopSyncAck with NSQ_KILL_CYCLES=CYCLES. Bounded: TIMEOUT (default
# 90m) ends the run. Exit status 0 only when no acknowledged message was lost.
# Loopback only, ports picked free. `make test` runs the short (5 cycle)
# version of the Go test.
set -eu
cd "$(dirname "$0")/.."
CYCLES=${1:-${CYCLES:-50}}
# beside the checkout, or beside its parent (a worktree one level deeper)
if [ -z "${CRASHTEST:-}" ]; then
	CRASHTEST=../shared/crashtest
	[ -f "$CRASHTEST/main.go" ] || [ ! -f ../../shared/crashtest/main.go ] || CRASHTEST=../../shared/crashtest
fi
EXTRA_ARGS=${EXTRA_ARGS:---sync-ack}
PRODUCERS=${PRODUCERS:-4}
BATCH=${BATCH:-20}
SIZE=${SIZE:-200}
DURATION=${DURATION:-3s}
TIMEOUT=${TIMEOUT:-90m}
GO=${GO:-go}
case $CYCLES in '' | *[!0-9]*) echo "CYCLES must be a number" >&2; exit 2 ;; esac

mkdir -p build
$GO build -o build/nsqd ./apps/nsqd
out=$(mktemp "${TMPDIR:-/tmp}/killloop.XXXXXX")
trap 'rm -f "$out" "$out.bin"' EXIT

if [ -f "$CRASHTEST/main.go" ]; then
	(cd "$CRASHTEST" && $GO build -o "$out.bin" .)
	echo "crashtest ($CRASHTEST): $CYCLES cycles, nsqd $EXTRA_ARGS, $PRODUCERS producers, batch $BATCH, ${SIZE} B, up to $DURATION per cycle" >&2
	rc=0
	timeout "$TIMEOUT" "$out.bin" --nsqd "$PWD/build/nsqd" --extra-args "$EXTRA_ARGS" --cycles "$CYCLES" \
		--producers "$PRODUCERS" --batch "$BATCH" --size "$SIZE" --duration-per-cycle "$DURATION" >"$out" || rc=$?
	cat "$out"
	json=$(grep -m1 '^{' "$out" || true)
	field() { printf '%s' "$json" | sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p"; }
	echo "killloop: tool=crashtest cycles=$CYCLES acked=$(field acked) lost=$(field acked_lost) duplicates=$(field duplicates) cycles_failed=$(field cycles_failed)"
	exit $rc
fi

echo "no crash tester at $CRASHTEST: running TestKillLoopSyncAck with NSQ_KILL_CYCLES=$CYCLES" >&2
rc=0
NSQ_KILL_CYCLES=$CYCLES timeout "$TIMEOUT" $GO test -count=1 -timeout "$TIMEOUT" -run '^TestKillLoopSyncAck$' -v ./apps/nsqd >"$out" 2>&1 || rc=$?
grep -E 'kill -9 loop|^(--- |ok|FAIL)' "$out" || tail -20 "$out"
line=$(grep -m1 'kill -9 loop:' "$out" || true)
get() { printf '%s' "$line" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
echo "killloop: tool=TestKillLoopSyncAck cycles=$(get cycles) acked=$(get acked) lost=$(get lost) duplicates=$(get duplicates)"
exit $rc
