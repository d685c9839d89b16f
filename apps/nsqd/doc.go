// Command nsqd is the message broker daemon: it maps NSQ's nsqd flags and
// config file onto nsqd.Options, runs the daemon and stops it cleanly on
// SIGINT or SIGTERM.
//
// A main package: no locks of its own; see the packages it runs.
package main
