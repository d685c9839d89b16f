// Package storage holds the backends a topic or channel keeps its messages
// in beyond its in-memory queue: NSQ's disk queue (internal/diskq, NSQ's
// file format, so an NSQ data directory is read as is) and a discarding backend for #ephemeral
// topics and channels. A durable backend that acknowledges only after fsync
// fits the same interface.
//
// It holds no locks of its own.
package storage
