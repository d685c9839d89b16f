// Command to_nsq reads records from stdin (split at a one-byte delimiter,
// newline by default) and publishes each one, optionally rate-limited, to
// every given nsqd through go-nsq producers. It stops on EOF, SIGINT or
// SIGTERM.
package main
