// Command nsq_tail prints the messages of one or more topics to stdout,
// one line per message body, consuming through go-nsq either straight from
// nsqd or via nsqlookupd. It stops cleanly on SIGINT or SIGTERM.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	os.Exit(run(os.Args, os.Stdout, os.Stderr, sigs))
}
