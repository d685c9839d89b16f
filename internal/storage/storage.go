// Package storage holds the backends a topic or channel keeps its messages
// in beyond its in-memory queue: NSQ's disk queue (go-diskqueue, so an NSQ
// data directory is read as is) and a discarding backend for #ephemeral
// topics and channels. A durable backend that acknowledges only after fsync
// fits the same interface.
package storage

import (
	"errors"
	"time"

	diskqueue "github.com/nsqio/go-diskqueue"

	"github.com/dropin/nsq/internal/lg"
)

// Backend stores encoded messages in FIFO order. Implementations are safe
// for concurrent use; ReadChan has a single reader (the owner's pump).
type Backend interface {
	// Put stores one encoded message.
	Put(data []byte) error
	// ReadChan yields stored messages in order; a receive consumes one.
	ReadChan() <-chan []byte
	// Depth is the number of stored, unread messages.
	Depth() int64
	// Empty drops every stored message.
	Empty() error
	// Close flushes and releases the backend, keeping its data.
	Close() error
	// Delete releases the backend and removes its data.
	Delete() error
}

// DiskOptions configures a disk queue.
type DiskOptions struct {
	DataPath        string
	MaxBytesPerFile int64
	MinMsgSize      int32
	MaxMsgSize      int32
	SyncEvery       int64
	SyncTimeout     time.Duration
	Log             *lg.Leveled
}

// NewDisk opens (or creates) the go-diskqueue named name in o.DataPath. Its
// files are <name>.diskqueue.NNNNNN.dat and <name>.diskqueue.meta.dat, as
// NSQ names them.
func NewDisk(name string, o DiskOptions) Backend {
	logf := func(lvl diskqueue.LogLevel, f string, args ...any) {
		o.Log.Logf(lg.Level(lvl), f, args...)
	}
	return diskBackend{diskqueue.New(name, o.DataPath, o.MaxBytesPerFile, o.MinMsgSize, o.MaxMsgSize,
		o.SyncEvery, o.SyncTimeout, logf)}
}

// diskBackend adapts go-diskqueue, whose Delete only closes the queue.
type diskBackend struct {
	diskqueue.Interface
}

// Delete removes the queue's files (Empty does that in go-diskqueue) and
// closes it.
func (d diskBackend) Delete() error {
	err := d.Interface.Empty()
	if e := d.Interface.Delete(); err == nil {
		err = e
	}
	return err
}

// errClosed is returned by a closed Discard.
var errClosed = errors.New("exiting")

// Discard is the backend of #ephemeral topics and channels: what does not
// fit in memory is dropped.
type Discard struct {
	closed chan struct{}
}

// NewDiscard returns a Discard backend.
func NewDiscard() *Discard { return &Discard{closed: make(chan struct{})} }

// Put drops data.
func (d *Discard) Put([]byte) error {
	select {
	case <-d.closed:
		return errClosed
	default:
		return nil
	}
}

// ReadChan never yields.
func (d *Discard) ReadChan() <-chan []byte { return nil }

// Depth is always 0.
func (d *Discard) Depth() int64 { return 0 }

// Empty does nothing.
func (d *Discard) Empty() error { return nil }

// Close marks the backend closed.
func (d *Discard) Close() error {
	select {
	case <-d.closed:
	default:
		close(d.closed)
	}
	return nil
}

// Delete is Close.
func (d *Discard) Delete() error { return d.Close() }
