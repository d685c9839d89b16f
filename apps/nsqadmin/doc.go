// Command nsqadmin is the cluster's web UI: it maps NSQ's nsqadmin flags
// and config file onto nsqadmin.Options, runs the daemon and stops it
// cleanly on SIGINT or SIGTERM.
//
// A main package: no locks of its own; see the packages it runs.
package main
