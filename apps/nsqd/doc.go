// Command nsqd is the message broker daemon: it maps NSQ's nsqd flags and
// config file onto nsqd.Options, runs the daemon and stops it cleanly on
// SIGINT or SIGTERM.
//
// main starts internal/gcpace before anything else: GOGC=50 while the heap
// grows slowly (a smaller heap for a lightly loaded broker), Go's 100 under
// load. GOGC or GOMEMLIMIT in the environment turn it off. run, which the
// tests call in-process, leaves the collector alone.
//
// A main package: no locks of its own; see the packages it runs.
package main
