package storage

import (
	"errors"
	"time"

	"github.com/dropin/nsq/internal/diskq"
	"github.com/dropin/nsq/internal/lg"
)

// Backend stores encoded messages in FIFO order. Implementations are safe
// for concurrent use; Read has a single caller (the owner's pump).
type Backend interface {
	// Put stores one encoded message.
	Put(data []byte) error
	// PutBatch stores records in order, all or nothing.
	PutBatch(recs [][]byte) error
	// Read consumes and returns up to max stored messages in order, none
	// when empty; it does not block.
	Read(max int) [][]byte
	// Ready is signalled after a Put, so an empty Read can wait on it.
	Ready() <-chan struct{}
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

// NewDisk opens (or creates) the disk queue named name in o.DataPath. Its
// files are NSQ's: <name>.diskqueue.NNNNNN.dat and
// <name>.diskqueue.meta.dat (see internal/diskq), so an NSQ data directory
// is read as is.
func NewDisk(name string, o DiskOptions) Backend {
	return diskq.Open(name, diskq.Options{
		DataPath:        o.DataPath,
		MaxBytesPerFile: o.MaxBytesPerFile,
		MinMsgSize:      o.MinMsgSize,
		MaxMsgSize:      o.MaxMsgSize,
		SyncEvery:       o.SyncEvery,
		SyncTimeout:     o.SyncTimeout,
		Logf: func(lvl diskq.Level, f string, args ...any) {
			if o.Log != nil {
				o.Log.Logf(lg.Level(lvl), f, args...)
			}
		},
	})
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

// PutBatch drops recs.
func (d *Discard) PutBatch([][]byte) error { return d.Put(nil) }

// Read never yields.
func (d *Discard) Read(int) [][]byte { return nil }

// Ready is never signalled.
func (d *Discard) Ready() <-chan struct{} { return nil }

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
