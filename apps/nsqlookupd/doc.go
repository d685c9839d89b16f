// Command nsqlookupd is NSQ's discovery daemon: it maps nsqlookupd's flags
// and config file onto nsqlookupd.Options, runs the daemon and stops it
// cleanly on SIGINT or SIGTERM.
//
// A main package: no locks of its own; see the packages it runs.
package main
