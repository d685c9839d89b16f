// Package diskq is a FIFO queue of byte records on disk in NSQ's disk queue
// format, so a data directory written by NSQ's nsqd (go-diskqueue) is read
// as is and the reverse. Unlike go-diskqueue it takes and yields records in
// batches: a batch is framed into one buffer and written with one write(2)
// per data file it touches, all or nothing, and a read returns up to n
// records whose bodies share one allocation. There is no goroutine per
// operation: callers work under the queue's mutex, and one goroutine per
// queue syncs on --sync-timeout.
//
// # Format (facts of NSQ's format, written down here)
//
//   - data files <name>.diskqueue.%06d.dat, numbered from 0; each record is a
//     4-byte big-endian length followed by that many bytes. A file is closed
//     and the next one started before a record that would take it beyond
//     maxBytesPerFile (unless the file is still empty), so files end at a
//     record boundary and may be shorter than the limit.
//   - metadata <name>.diskqueue.meta.dat, text: "depth\nreadFile,readPos\n
//     writeFile,writePos\n", written to a temporary file, fsynced and renamed.
//   - a sync fsyncs the current data file and rewrites the metadata. It runs
//     after every syncEvery records written or read, every syncTimeout while
//     anything happened since the last one, when a data file is finished, and
//     on Close.
//   - a record whose length is outside [minMsgSize, maxMsgSize], or a file
//     that ends inside a record, makes the reader rename the file to
//     <file>.bad and continue at the next one. When the read position then
//     meets the write position the depth is reset to 0.
//   - on open, a write file longer than the metadata's write position (writes
//     after the last sync) is left alone and writing resumes in a new file;
//     the reader reads the old file to its end, those records included.
//
// # Concurrency
//
// A Queue is safe for concurrent use. mu guards all state; Depth is an
// atomic and takes no lock. There is no lock order to keep beyond "mu is a
// leaf": the queue calls nothing of its caller while holding it.
package diskq
