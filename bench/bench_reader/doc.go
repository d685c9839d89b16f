// Command bench_reader consumes a channel from one connection per CPU for
// --runfor, FINishing every message, and prints the throughput, like NSQ's
// bench_reader.
//
// A main package: no locks of its own; see the packages it runs.
package main
