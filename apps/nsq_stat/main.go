// Command nsq_stat polls the stats of one topic/channel across the nsqd
// nodes found directly or via nsqlookupd, and prints one line of summed
// counters and rates per interval. It exits at once on SIGINT, SIGTERM or
// SIGHUP.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	os.Exit(run(os.Args, os.Stdout, os.Stderr, sigs))
}
