// Package daemonapp is the command-line life of NSQ's three daemons: parse
// the flags, answer --help and --version, load --config, resolve Options
// (flag > config file > default), start the daemon and run it until SIGINT
// or SIGTERM. Every start-up failure is one "<prefix><time> FATAL: <msg>"
// line and exit status 1.
//
// Configure (the config file onto Options) and Serve (run until a signal,
// then stop) are the same steps on their own, for a program that keeps its
// own command-line conventions (file_to_nsq).
//
// It holds no locks of its own.
package daemonapp
