// Command nsq_to_file archives topics to files: one file per topic at a
// time, named from a pattern, rotated by time and size, optionally
// gzipped, written in a work directory and moved to the output directory
// when finished. Messages are FINished only after their bytes were
// fsynced. SIGHUP closes the current files; SIGINT or SIGTERM drain and
// exit.
package main
