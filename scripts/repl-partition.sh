#!/bin/sh
# The replicated cluster's partition test (issue 15, proof 3) at full
# length, as root: 3 replicated nsqd, each in a network namespace of its
# own, nsqlookupd and the test's producers (TCP and HTTP, journaling every
# OK) and go-nsq consumers in another; the leader of the group the
# producers use is cut off (every link, or its replication link only) or
# another node is, for 2 s, then healed for 2 s, each cycle; then a drain:
# every acknowledged message delivered, duplicates counted, committed logs
# identical on every member. Every namespace is deleted on exit. Prints the
# PARTITION summary line.
#
#   CYCLES=100 MAX_SECONDS=900 scripts/repl-partition.sh
set -eu
cd "$(dirname "$0")/.."
out=${OUT:-${TMPDIR:-/tmp}/repl-partition.$$.log}
NSQ_PARTITION_CYCLES=${CYCLES:-100} NSQ_PARTITION_SECONDS=${MAX_SECONDS:-900} \
	go test -count=1 -timeout 0 -v -run 'TestReplicatedPartition$' ./integration/replication/ >"$out" 2>&1 && rc=0 || rc=$?
grep -E 'cycle [0-9]+:|PARTITION|identical|SKIP|^--- |^(ok|FAIL)' "$out" | tail -n 14
echo "full log: $out"
exit $rc
