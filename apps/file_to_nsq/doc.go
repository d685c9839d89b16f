// Command file_to_nsq tails log files, Filebeat style, and publishes their
// lines to an NSQ topic. It maps its flags and config file onto
// harvester.Options (which check them), runs a harvester.Harvester and
// stops it cleanly on SIGINT or SIGTERM, through internal/daemonapp as the
// daemons do. See package harvester for the behaviour of each flag.
//
// A main package: no locks of its own; see the packages it runs.
package main
