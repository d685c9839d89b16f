package diskq

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// readChunk bounds the allocation the bodies of one Read share (larger
// records get their own).
const readChunk = 64 << 10

// Read consumes up to limit records and returns them in order; it returns
// none when the queue is empty (it never blocks: wait on Ready). The
// records of one call share one allocation and are the caller's. A
// corrupt data file is set aside as NSQ does (see the package doc) and
// reading goes on in the next one.
func (q *Queue) Read(limit int) [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || limit <= 0 {
		return nil
	}
	var out [][]byte
	var chunk []byte
	for len(out) < limit {
		if q.readFileNum > q.writeFileNum || (q.readFileNum == q.writeFileNum && q.readPos >= q.writePos) {
			break
		}
		n, err := q.nextSizeLocked()
		if err == errFileDone {
			q.finishReadFileLocked()
			continue
		}
		if err == nil && len(chunk)+n > cap(chunk) {
			// room for the rest of the call if the records to come are
			// this size: a small Read must not pay for a whole readChunk
			want := min(n*(limit-len(out)), readChunk)
			chunk = make([]byte, 0, max(want, n))
		}
		var rec []byte
		if err == nil {
			rec = chunk[len(chunk) : len(chunk)+n : len(chunk)+n]
			_, err = io.ReadFull(q.reader, rec)
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
		}
		if err != nil {
			q.logf(Error, "reading at %d of %s: %s", q.readPos, q.fileName(q.readFileNum), err)
			q.badFileLocked()
			continue
		}
		chunk = chunk[:len(chunk)+n]
		out = append(out, rec)
		q.readPos += int64(4 + n)
		q.depth.Add(-1)
		q.count++
		q.tailCheckLocked()
	}
	if q.count >= q.o.SyncEvery || q.needSync {
		if err := q.syncLocked(); err != nil {
			q.logf(Error, "failed to sync: %s", err)
		}
	}
	return out
}

// errFileDone says the read file is finished: the reader moves on.
var errFileDone = errors.New("read file finished")

// nextSizeLocked opens the read file if needed and reads the next
// record's length.
func (q *Queue) nextSizeLocked() (int, error) {
	if q.readFile == nil {
		f, err := os.Open(q.fileName(q.readFileNum))
		if err != nil {
			return 0, err
		}
		if q.readPos > 0 {
			if _, err := f.Seek(q.readPos, 0); err != nil {
				f.Close()
				return 0, err
			}
		}
		q.logf(Info, "opened %s for reading", f.Name())
		q.readFile = f
		if q.reader == nil {
			q.reader = bufio.NewReaderSize(f, readChunk)
		} else {
			q.reader.Reset(f)
		}
		q.readEnd = -1
	}
	if q.readFileNum < q.writeFileNum {
		// the writer has moved on: this file ends where it is now
		if q.readEnd < 0 {
			st, err := q.readFile.Stat()
			if err != nil {
				return 0, err
			}
			q.readEnd = st.Size()
		}
		if q.readPos >= q.readEnd {
			return 0, errFileDone
		}
	}
	var hdr [4]byte
	if _, err := io.ReadFull(q.reader, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	n := int32(binary.BigEndian.Uint32(hdr[:]))
	if n < q.o.MinMsgSize || n > q.o.MaxMsgSize {
		return 0, fmt.Errorf("invalid message read size (%d)", n)
	}
	return int(n), nil
}

// finishReadFileLocked removes a fully read file and opens the next.
func (q *Queue) finishReadFileLocked() {
	q.closeReadLocked()
	name := q.fileName(q.readFileNum)
	if err := os.Remove(name); err != nil {
		q.logf(Error, "failed to Remove(%s): %s", name, err)
	}
	q.readFileNum++
	q.readPos = 0
	q.needSync = true
	q.tailCheckLocked()
}

// badFileLocked sets a corrupt read file aside as <file>.bad and goes on
// with the next file (a new write file too if it was the one written).
func (q *Queue) badFileLocked() {
	q.closeReadLocked()
	if q.readFileNum == q.writeFileNum {
		if q.writeFile != nil {
			q.writeFile.Close()
			q.writeFile = nil
		}
		q.writeFileNum++
		q.writePos = 0
	}
	bad := q.fileName(q.readFileNum)
	q.logf(Warn, "jump to next file and saving bad file as %s.bad", bad)
	if err := os.Rename(bad, bad+".bad"); err != nil {
		q.logf(Error, "failed to rename bad diskqueue file %s to %s.bad", bad, bad)
	}
	q.readFileNum++
	q.readPos = 0
	q.needSync = true
	q.tailCheckLocked()
}

// tailCheckLocked resets the depth once everything written was read: a
// depth left over then means lost records or corrupt metadata.
func (q *Queue) tailCheckLocked() {
	if q.readFileNum < q.writeFileNum || q.readPos < q.writePos {
		return
	}
	if d := q.depth.Load(); d != 0 {
		if d < 0 {
			q.logf(Error, "negative depth at tail (%d), metadata corruption, resetting 0...", d)
		} else {
			q.logf(Error, "positive depth at tail (%d), data loss, resetting 0...", d)
		}
		q.depth.Store(0)
		q.needSync = true
	}
	if q.readFileNum != q.writeFileNum || q.readPos != q.writePos {
		q.logf(Error, "read position %d,%d beyond write position %d,%d, corruption, skipping to next file",
			q.readFileNum, q.readPos, q.writeFileNum, q.writePos)
		q.closeFilesLocked()
		for n := q.readFileNum; n <= q.writeFileNum; n++ {
			os.Remove(q.fileName(n))
		}
		q.writeFileNum = max(q.readFileNum, q.writeFileNum) + 1
		q.writePos = 0
		q.readFileNum, q.readPos = q.writeFileNum, 0
		q.needSync = true
	}
}

func (q *Queue) closeReadLocked() {
	if q.readFile != nil {
		q.readFile.Close()
		q.readFile = nil
	}
	q.readEnd = -1
}
