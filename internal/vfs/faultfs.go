package vfs

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"syscall"
)

// ErrInjected is the error FaultFS returns for an injected write or sync
// failure.
var ErrInjected = errors.New("vfs: injected failure")

// FaultFS wraps an FS and injects failures into the Writes and Syncs of the
// files it opens (SyncDir counts as a sync). Safe for concurrent use.
type FaultFS struct {
	FS
	mu          sync.Mutex // guards the fields below
	writes      int        // Writes seen so far
	syncs       int        // Syncs seen so far
	failWriteAt int        // fail the Write with this count (0: never)
	failSyncAt  int
	failSyncs   bool  // every Sync fails while set
	space       int64 // bytes writable before ENOSPC; <0: unlimited
}

// NewFaultFS returns a FaultFS over fs that injects nothing yet.
func NewFaultFS(fs FS) *FaultFS { return &FaultFS{FS: fs, space: -1} }

// FailWrite makes the n-th Write from now (n ≥ 1) fail with ErrInjected
// after writing the first half of its bytes.
func (f *FaultFS) FailWrite(n int) {
	f.mu.Lock()
	f.failWriteAt = f.writes + n
	f.mu.Unlock()
}

// FailSync makes the n-th Sync or SyncDir from now (n ≥ 1) fail with
// ErrInjected, without syncing.
func (f *FaultFS) FailSync(n int) {
	f.mu.Lock()
	f.failSyncAt = f.syncs + n
	f.mu.Unlock()
}

// FailAllSyncs makes every Sync fail while on is true.
func (f *FaultFS) FailAllSyncs(on bool) {
	f.mu.Lock()
	f.failSyncs = on
	f.mu.Unlock()
}

// LimitSpace lets only n more bytes be written; the Write that crosses the
// limit writes what fits and fails with ENOSPC, as a full disk does. A
// negative n removes the limit.
func (f *FaultFS) LimitSpace(n int64) {
	f.mu.Lock()
	f.space = n
	f.mu.Unlock()
}

// Counts returns how many Writes and Syncs went through so far.
func (f *FaultFS) Counts() (writes, syncs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes, f.syncs
}

// writeBudget decides how much of a write of n bytes may go through and
// which error follows it.
func (f *FaultFS) writeBudget(n int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.writes == f.failWriteAt {
		return n / 2, ErrInjected
	}
	if f.space >= 0 {
		if int64(n) > f.space {
			k := int(f.space)
			f.space = 0
			return k, syscall.ENOSPC
		}
		f.space -= int64(n)
	}
	return n, nil
}

func (f *FaultFS) syncErr() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs++
	if f.failSyncs || f.syncs == f.failSyncAt {
		return ErrInjected
	}
	return nil
}

// Create implements FS.
func (f *FaultFS) Create(name string) (File, error) {
	file, err := f.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f, name: name}, nil
}

// Open implements FS.
func (f *FaultFS) Open(name string) (File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f, name: name}, nil
}

// OpenReadWrite implements FS.
func (f *FaultFS) OpenReadWrite(name string) (File, error) {
	file, err := f.FS.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f, name: name}, nil
}

// SyncDir implements FS.
func (f *FaultFS) SyncDir(dir string) error {
	if err := f.syncErr(); err != nil {
		return &fs.PathError{Op: "syncdir", Path: dir, Err: err}
	}
	return f.FS.SyncDir(dir)
}

type faultFile struct {
	File
	fs   *FaultFS
	name string
}

func (f *faultFile) Write(p []byte) (int, error) {
	k, ierr := f.fs.writeBudget(len(p))
	n, err := f.File.Write(p[:k])
	if err != nil {
		return n, err
	}
	if ierr != nil {
		return n, &fs.PathError{Op: "write", Path: f.name, Err: ierr}
	}
	return n, nil
}

func (f *faultFile) Sync() error {
	if err := f.fs.syncErr(); err != nil {
		return &fs.PathError{Op: "sync", Path: f.name, Err: err}
	}
	return f.File.Sync()
}

// String describes the injector's state (for test logs).
func (f *FaultFS) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprintf("faultfs{writes=%d syncs=%d failWriteAt=%d failSyncAt=%d space=%d}",
		f.writes, f.syncs, f.failWriteAt, f.failSyncAt, f.space)
}
