// Package harvester tails log files, Filebeat style, and publishes every
// line to an NSQ topic with at-least-once delivery. The file_to_nsq app is
// a thin main around it.
//
// # How it works
//
// A scanner expands the path globs every --scan-frequency. Files are known
// by device and inode, not by name: a renamed file keeps its state and its
// open reader, and a new file at the old name is a new file read from 0.
// One reader per file reads from its offset to end of file, cuts lines at
// '\n' (a last line without '\n' waits until it is finished), optionally
// joins them into multiline events, and pushes them into a bounded queue.
// The publisher takes batches from the queue and sends each as one MPUB to
// nsqd, one batch at a time, so lines arrive and are acknowledged in the
// order they were read; its batching, failover and retry are
// internal/batchpub's, shared with the nsqlog Writer. nsqd's OK is the acknowledgement: only then does a
// file's offset move, and only acknowledged offsets reach the registry.
//
// # Registry
//
// --registry-file holds one JSON record per file identity: {dev, ino,
// path, offset, mtime, last_seen, topic}. It is replaced atomically (temp
// file, fsync, rename, fsync of the directory), at most once per
// --registry-flush (0: after every acknowledged batch) and always at a
// clean exit. The previous generation is kept as <file>.old. At start a
// missing, empty or unparsable registry falls back to .old (a corrupt file
// is moved aside to <file>.corrupt); if nothing is usable every file starts
// from the configured position, and the log says so. After a restart,
// including after kill -9, everything after the recorded offsets is sent
// again: duplicates are expected, at most the lines acknowledged since the
// last registry write plus the batch in flight; no line is skipped.
//
// # Flags (file_to_nsq)
//
//	--path GLOB                 files to tail (repeatable; required)
//	--exclude-files RE          paths to ignore (repeatable)
//	--topic NAME                topic to publish to (required)
//	--nsqd-tcp-address ADDR     nsqd to publish to (repeatable: failover in order; required)
//	--registry-file FILE        offsets file (required)
//	--scan-frequency 10s        glob scan period
//	--harvester-limit 0         most open files (0 = no limit)
//	--tail-files false          files found at the first scan with no state start at their end;
//	                            files appearing later always start at 0, so rotation loses nothing
//	--harvester-buffer-size 16384
//	--max-line-bytes 1048576    longest message; keep within nsqd's --max-msg-size
//	--max-line-action split     split | truncate | drop for longer lines (counted)
//	--backoff 1s, --max-backoff 10s   wait between reads at end of file
//	--close-inactive 5m         close a file after this long without a new line
//	--close-removed true        close a deleted file once it is read to its end
//	--close-renamed false       close a renamed file at its end
//	--close-eof false           close every file at its end
//	--clean-removed true        forget closed files no longer found under their last path
//	--multiline-pattern RE, --multiline-negate false, --multiline-match after|before,
//	--multiline-max-lines 500, --multiline-timeout 5s
//	--batch-size 200, --batch-bytes 4194304, --batch-timeout 100ms   MPUB batching
//	--queue-max-events 4096, --queue-max-bytes 33554432   unacknowledged events held in memory
//	--output-backoff 250ms, --output-max-backoff 10s      publish retry backoff
//	--producer-opt name,value   go-nsq option (repeatable)
//	--registry-flush 1s, --shutdown-timeout 0, --stats-interval 30s
//	--config FILE               TOML file, keys are flag names with '_' for '-'
//	--log-level info, --log-prefix, --version
//
// # Rotation, truncation, removal
//
// Rename + create (logrotate "create"): the open reader finishes the
// renamed file; the new file is found at the next scan and read from 0.
// Include rotated names in the glob (app.log*) so a file renamed before it
// was finished is still read after a restart. Copy + truncate: a file
// smaller than its offset is read again from 0 (the copy is a new file,
// hence duplicates; lines written between copy and truncate are lost, as
// with any tailer). A deleted file is read to its end and then closed
// (--close-removed) and its state dropped (--clean-removed).
//
// # Backpressure and bad input
//
// When nsqd is down the publisher retries the same batch with backoff,
// trying each address in turn; the queue fills, readers wait, files stay
// open, nothing is dropped and memory stays within --queue-max-events and
// --queue-max-bytes. Lines longer than --max-line-bytes are split,
// truncated or dropped and counted; empty lines are skipped and counted
// (nsqd refuses empty messages); bytes are sent as they are (binary junk
// included). A message nsqd refuses outright (E_BAD_MESSAGE) is logged,
// counted and given up so that it cannot stall every file behind it.
// Unreadable files are logged once and counted, and retried at each scan.
//
// # Metrics
//
// Every --stats-interval one log line "STATS: key=value ..." carries
// harvester_open_files, events_pending, events_acked, events_published,
// events_retried (messages sent again after a failed MPUB: possible
// duplicates), publish_errors, registry_writes, lines_split,
// lines_truncated, lines_dropped, lines_empty and the file event counters;
// Harvester.Stats returns the same numbers.
//
// # Locks
//
// Lock order: Harvester.persistMu, then stateTable.mu, then registry.mu.
// queue.mu and Harvester.noteMu are leaves. No lock is held while reading a
// file, waiting for queue room or talking to nsqd.
package harvester
