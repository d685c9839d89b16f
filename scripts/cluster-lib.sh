# Shared by run-local.sh and run-replicated.sh (sourced, not run): the
# list of started daemons, stopping them in reverse order on exit, and
# waiting for one to answer /ping. Needs DATA_DIR (logs in $DATA_DIR/logs);
# PING_TRIES (tenths of a second, default 100) bounds each wait.
pids=()
stop() {
    trap - INT TERM EXIT
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[$i]}" 2>/dev/null || true
        wait "${pids[$i]}" 2>/dev/null || true
    done
    echo "stopped."
}
trap stop INT TERM EXIT

wait_ping() {
    local name=$1 url=$2 i
    for i in $(seq 1 "${PING_TRIES:-100}"); do
        if curl -sf "$url" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "$name did not start; last log lines:" >&2
    tail -20 "$DATA_DIR/logs/$name.log" >&2
    exit 1
}
