// Command nsq_tail prints the messages of one or more topics to stdout,
// one line per message body, consuming through go-nsq either straight from
// nsqd or via nsqlookupd. It stops cleanly on SIGINT or SIGTERM.
package main
