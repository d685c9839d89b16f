// Command nsqlog is an example of logging straight into an NSQ topic with
// package nsqlog: it logs --count lines through a zap JSON logger whose
// output is an nsqlog.Writer, waits for nsqd's acknowledgements and prints
// the writer's counters.
//
//	go run ./examples/nsqlog --nsqd-tcp-address 127.0.0.1:4150 --topic app_logs --count 100
//
// A main package: no locks of its own; see the packages it runs.
package main
