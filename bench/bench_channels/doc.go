// Command bench_channels opens --num connections, each subscribed to its own
// topic (t0 … t<num-1>, channel ch) with RDY 1, and FINs every message it
// gets until killed, like NSQ's bench_channels. It loads nsqd with many
// topics and channels rather than many messages.
//
// A main package: no locks of its own; see the packages it runs.
package main
