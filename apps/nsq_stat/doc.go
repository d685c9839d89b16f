// Command nsq_stat polls the stats of one topic/channel across the nsqd
// nodes found directly or via nsqlookupd, and prints one line of summed
// counters and rates per interval. It exits at once on SIGINT, SIGTERM or
// SIGHUP.
package main
