// Command bench_writer publishes MPUB batches from one connection per CPU
// for --runfor and prints the throughput, like NSQ's bench_writer.
//
// A main package: no locks of its own; see the packages it runs.
package main
