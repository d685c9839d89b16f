#!/bin/sh
# The replicated cluster's crash loop (issue 15, proof 1) at full length:
# 3 replicated nsqd + nsqlookupd on 127.0.0.1, producers over TCP and HTTP
# journaling every OK, go-nsq consumers through lookupd, a random node
# killed with -9 every 2-10 s and restarted after 1-5 s, then a drain:
# every acknowledged message delivered, duplicates counted, committed logs
# identical on every member. Prints the CRASHLOOP summary line.
#
#   CYCLES=100 MAX_GAP=10 MAX_DOWN=5 scripts/repl-crashloop.sh
set -eu
cd "$(dirname "$0")/.."
out=${OUT:-${TMPDIR:-/tmp}/repl-crashloop.$$.log}
NSQ_REPL_CYCLES=${CYCLES:-100} NSQ_REPL_MAX_GAP=${MAX_GAP:-10} NSQ_REPL_MAX_DOWN=${MAX_DOWN:-5} \
	go test -count=1 -timeout 0 -v -run 'TestReplicatedCrashLoop$' ./integration/replication/ >"$out" 2>&1 && rc=0 || rc=$?
grep -E 'cycle [0-9]+:|CRASHLOOP|identical|^--- |^(ok|FAIL)' "$out" | tail -n 12
echo "full log: $out"
exit $rc
