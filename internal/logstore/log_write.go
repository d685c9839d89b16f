package logstore

import (
	"fmt"
	"path"
)

// Append writes ents at the end of the log without syncing them. Their
// indexes must continue the log densely and their terms must not decrease.
// On error nothing of ents is part of the log: the segment is cut back to
// where it was, and if even that fails the log turns broken (ErrBroken).
// Append may start a new segment first, syncing the full one.
func (l *Log) Append(ents []Entry) error {
	if len(ents) == 0 {
		return nil
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if err := l.writableLocked(); err != nil {
		return err
	}
	l.mu.RLock()
	next, lastTerm := l.lastLocked()+1, uint64(0)
	if len(l.terms) > 0 {
		lastTerm = l.terms[len(l.terms)-1].term
	}
	a := l.active()
	l.mu.RUnlock()
	for i := range ents {
		if ents[i].Index != next+uint64(i) {
			return fmt.Errorf("logstore: append index %d, want %d", ents[i].Index, next+uint64(i))
		}
		if ents[i].Term < lastTerm {
			return fmt.Errorf("logstore: append term %d after term %d", ents[i].Term, lastTerm)
		}
		if len(ents[i].Data) > MaxEntryBytes {
			return fmt.Errorf("logstore: entry %d is %d bytes, more than %d", ents[i].Index, len(ents[i].Data), MaxEntryBytes)
		}
		lastTerm = ents[i].Term
	}
	if a.size >= l.opts.SegmentBytes && a.n > 0 {
		var err error
		if a, err = l.rotateLocked(next); err != nil {
			return err
		}
	}
	buf := l.wbuf[:0]
	offs := make([]int64, len(ents))
	for i := range ents {
		offs[i] = a.size + int64(len(buf))
		buf = appendRecord(buf, &ents[i])
	}
	l.wbuf = buf
	if _, err := a.f.Write(buf); err != nil {
		werr := fmt.Errorf("logstore: write %s: %w", a.name, err)
		if terr := a.f.Truncate(a.size); terr != nil {
			l.breakLocked(fmt.Errorf("%w; cutting back failed too: %v", werr, terr))
		}
		return werr
	}
	if cap(l.wbuf) > 4*readChunk && len(buf) < readChunk {
		l.wbuf = nil // do not pin a huge buffer after one huge batch
	}
	l.mu.Lock()
	for i := range ents {
		a.noteAppended(offs[i])
		if len(l.terms) == 0 || l.terms[len(l.terms)-1].term != ents[i].Term {
			l.terms = append(l.terms, termRun{ents[i].Index, ents[i].Term})
		}
	}
	a.size += int64(len(buf))
	l.mu.Unlock()
	return nil
}

// rotateLocked syncs the active segment and starts a new one whose first
// entry will be next. Caller holds wmu.
func (l *Log) rotateLocked(next uint64) (*segment, error) {
	old := l.active()
	if err := old.f.Sync(); err != nil {
		err = fmt.Errorf("logstore: sync %s: %w", old.name, err)
		l.breakLocked(err)
		return nil, err
	}
	s, err := openSegment(l.opts.FS, l.opts.Dir, next, true)
	if err != nil {
		return nil, fmt.Errorf("logstore: new segment: %w", err)
	}
	l.mu.Lock()
	l.segs = append(l.segs, s)
	l.mu.Unlock()
	l.dirDirty = true
	return s, nil
}

// Sync makes every appended entry durable. A failed sync breaks the log:
// after a failed fsync the kernel may have dropped the dirty pages, so
// retrying cannot be trusted; reopening recovers what is really on disk.
func (l *Log) Sync() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if err := l.writableLocked(); err != nil {
		return err
	}
	a := l.active()
	if err := a.f.Sync(); err != nil {
		err = fmt.Errorf("logstore: sync %s: %w", a.name, err)
		l.breakLocked(err)
		return err
	}
	return l.syncDirLocked()
}

func (l *Log) syncDirLocked() error {
	if !l.dirDirty {
		return nil
	}
	if err := l.opts.FS.SyncDir(l.opts.Dir); err != nil {
		err = fmt.Errorf("logstore: sync directory %s: %w", l.opts.Dir, err)
		l.breakLocked(err)
		return err
	}
	l.dirDirty = false
	return nil
}

func (l *Log) writableLocked() error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	if l.broken != nil {
		return fmt.Errorf("%w: %v", ErrBroken, l.broken)
	}
	return nil
}

func (l *Log) breakLocked(err error) {
	l.mu.Lock()
	if l.broken == nil {
		l.broken = err
	}
	l.mu.Unlock()
}

// Broken returns the error that broke the log, or nil.
func (l *Log) Broken() error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.broken
}

// TruncateSuffix removes entries from index from on, durably (raft's
// conflicting-suffix rule). With from ≤ FirstIndex the log becomes empty
// and continues at from: that is how a raft snapshot install resets it.
func (l *Log) TruncateSuffix(from uint64) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if err := l.writableLocked(); err != nil {
		return err
	}
	l.mu.RLock()
	last, first := l.lastLocked(), l.segs[0].first
	l.mu.RUnlock()
	if from > last {
		return nil
	}
	if from <= first {
		return l.resetLocked(from)
	}
	// Drop whole segments starting at or after from, newest first, so a
	// crash in between leaves a contiguous log.
	for {
		l.mu.RLock()
		a := l.active()
		l.mu.RUnlock()
		if a.first < from {
			break
		}
		if err := l.removeNewestLocked(a); err != nil {
			return err
		}
	}
	if err := l.syncDirLocked(); err != nil {
		return err
	}
	a := l.active()
	off, err := a.offsetOf(from)
	if err != nil {
		return err
	}
	if err := a.f.Truncate(off); err != nil {
		err = fmt.Errorf("logstore: truncate %s: %w", a.name, err)
		l.breakLocked(err)
		return err
	}
	if err := a.f.Sync(); err != nil {
		err = fmt.Errorf("logstore: sync %s: %w", a.name, err)
		l.breakLocked(err)
		return err
	}
	l.mu.Lock()
	l.gen++
	a.n = from - a.first
	a.size = off
	a.offs = a.offs[:(a.n+indexEvery-1)/indexEvery]
	l.trimTermsLocked(from)
	l.mu.Unlock()
	return nil
}

func (l *Log) trimTermsLocked(from uint64) {
	for len(l.terms) > 0 && l.terms[len(l.terms)-1].index >= from {
		l.terms = l.terms[:len(l.terms)-1]
	}
}

func (l *Log) removeNewestLocked(a *segment) error {
	a.f.Close()
	if err := l.opts.FS.Remove(a.name); err != nil {
		err = fmt.Errorf("logstore: remove %s: %w", a.name, err)
		l.breakLocked(err)
		return err
	}
	l.dirDirty = true
	l.mu.Lock()
	l.gen++
	l.segs = l.segs[:len(l.segs)-1]
	l.mu.Unlock()
	return nil
}

// Reset empties the log, durably, so that its next entry is next (a raft
// snapshot install: every entry goes, whatever its index). A crash during
// Reset leaves the old log, a contiguous later part of it, or an empty log;
// never one with a hole.
func (l *Log) Reset(next uint64) error {
	if next == 0 {
		return fmt.Errorf("logstore: reset to index 0")
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if err := l.writableLocked(); err != nil {
		return err
	}
	return l.resetLocked(next)
}

// resetLocked empties the log so that its next entry is from. The old
// segments are removed oldest first and the removals made durable before
// the new segment is created, so a crash cannot leave the new segment
// beside a remnant of the old log (a gap Open would refuse).
func (l *Log) resetLocked(from uint64) error {
	l.mu.RLock()
	old := append([]*segment(nil), l.segs...)
	l.mu.RUnlock()
	for _, o := range old {
		o.f.Close() // a reader's late read fails cleanly
		if err := l.opts.FS.Remove(o.name); err != nil {
			err = fmt.Errorf("logstore: remove %s: %w", o.name, err)
			l.breakLocked(err)
			return err
		}
		l.dirDirty = true
	}
	if err := l.syncDirLocked(); err != nil {
		return err
	}
	s, err := openSegment(l.opts.FS, l.opts.Dir, from, true)
	if err != nil {
		err = fmt.Errorf("logstore: new segment: %w", err)
		l.breakLocked(err)
		return err
	}
	if err := s.f.Sync(); err != nil {
		s.f.Close()
		err = fmt.Errorf("logstore: sync %s: %w", s.name, err)
		l.breakLocked(err)
		return err
	}
	l.mu.Lock()
	l.gen++
	l.segs = []*segment{s}
	l.terms = nil
	l.mu.Unlock()
	l.dirDirty = true
	return l.syncDirLocked()
}

// DeletePrefix removes, durably, every whole segment whose entries are all
// below upTo. The active segment is never removed, so the log may keep
// entries below upTo; FirstIndex tells where it really starts. The caller
// must hold a checkpoint (snapshot) covering everything removed.
func (l *Log) DeletePrefix(upTo uint64) (removed int, err error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if err := l.writableLocked(); err != nil {
		return 0, err
	}
	for {
		l.mu.RLock()
		if len(l.segs) < 2 || l.segs[0].n == 0 || l.segs[0].last() >= upTo {
			l.mu.RUnlock()
			break
		}
		s := l.segs[0]
		l.mu.RUnlock()
		// Oldest first: a crash leaves a log that starts later, never one
		// with a hole.
		if err := l.opts.FS.Remove(s.name); err != nil {
			return removed, fmt.Errorf("logstore: remove %s: %w", path.Base(s.name), err)
		}
		l.dirDirty = true
		l.mu.Lock()
		l.segs = l.segs[1:]
		first := l.segs[0].first
		for len(l.terms) > 1 && l.terms[1].index <= first {
			l.terms = l.terms[1:]
		}
		l.mu.Unlock()
		s.f.Close() // readers copied the segment under mu; a late read fails cleanly
		removed++
	}
	return removed, l.syncDirLocked()
}
