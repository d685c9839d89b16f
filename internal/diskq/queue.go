package diskq

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by a queue after Close or Delete.
var ErrClosed = errors.New("exiting")

// Level is the severity of a log line, matching lg.Level's numbering
// (1 debug .. 4 error).
type Level int

// Log levels passed to Options.Logf.
const (
	Debug Level = 1
	Info  Level = 2
	Warn  Level = 3
	Error Level = 4
)

// Options configures a queue; every field has the meaning of the nsqd flag
// of the same name.
type Options struct {
	DataPath        string
	MaxBytesPerFile int64
	MinMsgSize      int32
	MaxMsgSize      int32
	SyncEvery       int64
	SyncTimeout     time.Duration
	// Logf receives the queue's log lines; nil discards them.
	Logf func(lvl Level, format string, args ...any)
}

// Queue is one disk queue. Safe for concurrent use.
type Queue struct {
	name string
	o    Options

	mu sync.Mutex // guards everything below except depth
	// positions as in the metadata file
	readFileNum, readPos   int64
	writeFileNum, writePos int64

	writeFile *os.File
	wbuf      []byte // framing buffer, reused

	readFile *os.File
	reader   *bufio.Reader
	readEnd  int64 // size of a finished read file; -1 while unknown

	count    int64 // records written or read since the last sync
	needSync bool
	closed   bool

	depth atomic.Int64

	ready    chan struct{} // signalled after a write (capacity 1)
	stop     chan struct{}
	syncDone sync.WaitGroup
}

// Open opens (or creates) the queue name in o.DataPath.
func Open(name string, o Options) *Queue {
	if o.Logf == nil {
		o.Logf = func(Level, string, ...any) {}
	}
	if o.SyncEvery < 1 {
		o.SyncEvery = 1
	}
	q := &Queue{
		name:    name,
		o:       o,
		readEnd: -1,
		ready:   make(chan struct{}, 1),
		stop:    make(chan struct{}),
	}
	if err := q.loadMeta(); err != nil && !errors.Is(err, os.ErrNotExist) {
		q.logf(Error, "failed to retrieveMetaData: %s", err)
	}
	if q.o.SyncTimeout > 0 {
		q.syncDone.Add(1)
		go q.syncLoop()
	}
	return q
}

func (q *Queue) logf(lvl Level, format string, args ...any) {
	q.o.Logf(lvl, "DISKQUEUE(%s): "+format, append([]any{q.name}, args...)...)
}

func (q *Queue) fileName(n int64) string {
	return filepath.Join(q.o.DataPath, fmt.Sprintf("%s.diskqueue.%06d.dat", q.name, n))
}

func (q *Queue) metaFileName() string {
	return filepath.Join(q.o.DataPath, q.name+".diskqueue.meta.dat")
}

// Depth is the number of stored, unread records. It takes no lock.
func (q *Queue) Depth() int64 { return q.depth.Load() }

// Ready is signalled after records are written, so a reader that found
// the queue empty knows when to look again. The signal may be stale.
func (q *Queue) Ready() <-chan struct{} { return q.ready }

// Put stores one record.
func (q *Queue) Put(rec []byte) error {
	one := [1][]byte{rec}
	return q.PutBatch(one[:])
}

// PutBatch stores recs in order, all or nothing: if any record is refused
// (size out of range) or a write fails, none is stored and the data files
// are as before.
func (q *Queue) PutBatch(recs [][]byte) error {
	if len(recs) == 0 {
		return nil
	}
	for _, r := range recs {
		if n := int32(len(r)); int64(len(r)) > int64(q.o.MaxMsgSize) || n < q.o.MinMsgSize {
			return fmt.Errorf("invalid message write size (%d) minMsgSize=%d maxMsgSize=%d", len(r), q.o.MinMsgSize, q.o.MaxMsgSize)
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	startFile, startPos := q.writeFileNum, q.writePos
	if err := q.writeLocked(recs); err != nil {
		q.rollbackLocked(startFile, startPos)
		return err
	}
	q.depth.Add(int64(len(recs)))
	q.count += int64(len(recs))
	if q.count >= q.o.SyncEvery {
		if err := q.syncLocked(); err != nil {
			q.logf(Error, "failed to sync: %s", err)
		}
	}
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return nil
}

// writeLocked frames recs and writes them, one write(2) per data file.
func (q *Queue) writeLocked(recs [][]byte) error {
	buf := q.wbuf[:0]
	pos := q.writePos // position buf starts at
	for _, r := range recs {
		total := int64(4 + len(r))
		end := pos + int64(len(buf))
		if end > 0 && end+total > q.o.MaxBytesPerFile {
			if err := q.appendLocked(buf); err != nil {
				return err
			}
			buf = buf[:0]
			q.rollLocked()
			pos = 0
		}
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(r)))
		buf = append(buf, r...)
	}
	err := q.appendLocked(buf)
	if cap(buf) <= 1<<20 {
		q.wbuf = buf[:0]
	} else {
		q.wbuf = nil // do not pin a large MPUB's buffer
	}
	return err
}

// appendLocked writes buf at the write position of the current file.
func (q *Queue) appendLocked(buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	if q.writeFile == nil {
		f, err := os.OpenFile(q.fileName(q.writeFileNum), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		if _, err := f.Seek(q.writePos, 0); err != nil {
			f.Close()
			return err
		}
		q.logf(Info, "opened %s for writing", f.Name())
		q.writeFile = f
	}
	if _, err := q.writeFile.Write(buf); err != nil {
		return err
	}
	q.writePos += int64(len(buf))
	return nil
}

// rollLocked finishes the write file and moves on to the next one.
func (q *Queue) rollLocked() {
	q.writeFileNum++
	q.writePos = 0
	if err := q.syncLocked(); err != nil {
		q.logf(Error, "failed to sync: %s", err)
	}
	if q.writeFile != nil {
		q.writeFile.Close()
		q.writeFile = nil
	}
}

// rollbackLocked undoes a partly written batch: files begun by it are
// removed and the file it started in is cut back to where it started.
func (q *Queue) rollbackLocked(file, pos int64) {
	if q.writeFile != nil {
		q.writeFile.Close()
		q.writeFile = nil
	}
	for n := file + 1; n <= q.writeFileNum; n++ {
		if err := os.Remove(q.fileName(n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			q.logf(Error, "failed to remove %s after a failed write: %s", q.fileName(n), err)
		}
	}
	if err := os.Truncate(q.fileName(file), pos); err != nil && !errors.Is(err, os.ErrNotExist) {
		q.logf(Error, "failed to cut %s back to %d after a failed write: %s", q.fileName(file), pos, err)
	}
	if q.readFileNum >= file {
		// its read buffer may hold bytes of the undone write
		q.closeReadLocked()
	}
	if q.writeFileNum != file {
		q.needSync = true // a roll persisted the undone file number
	}
	q.writeFileNum, q.writePos = file, pos
}

// Close syncs and releases the queue, keeping its files.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	q.closed = true
	q.logf(Info, "closing")
	err := q.syncLocked()
	q.closeFilesLocked()
	q.mu.Unlock()
	close(q.stop)
	q.syncDone.Wait()
	return err
}

// Delete releases the queue and removes its files.
func (q *Queue) Delete() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	q.closed = true
	q.logf(Info, "deleting")
	err := q.removeAllLocked()
	q.mu.Unlock()
	close(q.stop)
	q.syncDone.Wait()
	return err
}

// Empty drops every stored record and its files.
func (q *Queue) Empty() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	q.logf(Info, "emptying")
	return q.removeAllLocked()
}

// removeAllLocked removes the data files and the metadata; writing goes on
// in the next file number, as NSQ does.
func (q *Queue) removeAllLocked() error {
	q.closeFilesLocked()
	var firstErr error
	for n := q.readFileNum; n <= q.writeFileNum; n++ {
		if err := os.Remove(q.fileName(n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			q.logf(Error, "failed to remove data file: %s", err)
			firstErr = err
		}
	}
	q.writeFileNum++
	q.writePos = 0
	q.readFileNum, q.readPos = q.writeFileNum, 0
	q.depth.Store(0)
	q.count = 0
	q.needSync = false
	if err := os.Remove(q.metaFileName()); err != nil && !errors.Is(err, os.ErrNotExist) {
		q.logf(Error, "failed to remove metadata file: %s", err)
		return err
	}
	return firstErr
}

func (q *Queue) closeFilesLocked() {
	q.closeReadLocked()
	if q.writeFile != nil {
		q.writeFile.Close()
		q.writeFile = nil
	}
}

func (q *Queue) syncLoop() {
	defer q.syncDone.Done()
	t := time.NewTicker(q.o.SyncTimeout)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-q.stop:
			return
		}
		q.mu.Lock()
		if !q.closed && (q.count > 0 || q.needSync) {
			if err := q.syncLocked(); err != nil {
				q.logf(Error, "failed to sync: %s", err)
			}
		}
		q.mu.Unlock()
	}
}

// syncLocked fsyncs the write file and persists the metadata.
func (q *Queue) syncLocked() error {
	if q.writeFile != nil {
		if err := q.writeFile.Sync(); err != nil {
			q.writeFile.Close()
			q.writeFile = nil
			return err
		}
	}
	if err := q.saveMeta(); err != nil {
		q.needSync = true
		return err
	}
	q.count = 0
	q.needSync = false
	return nil
}

func (q *Queue) saveMeta() error {
	name := q.metaFileName()
	tmp := fmt.Sprintf("%s.%d.tmp", name, rand.Int64())
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%d\n%d,%d\n%d,%d\n", q.depth.Load(), q.readFileNum, q.readPos, q.writeFileNum, q.writePos)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func (q *Queue) loadMeta() error {
	f, err := os.Open(q.metaFileName())
	if err != nil {
		return err
	}
	defer f.Close()
	var depth int64
	if _, err := fmt.Fscanf(f, "%d\n%d,%d\n%d,%d\n", &depth, &q.readFileNum, &q.readPos, &q.writeFileNum, &q.writePos); err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	q.depth.Store(depth)
	st, err := os.Stat(q.fileName(q.writeFileNum))
	if err != nil {
		return err
	}
	if q.writePos < st.Size() {
		q.logf(Warn, "%s metadata writePos %d < file size of %d, skipping to new file", st.Name(), q.writePos, st.Size())
		q.writeFileNum++
		q.writePos = 0
	}
	return nil
}
