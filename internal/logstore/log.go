package logstore

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"sync"

	"github.com/dropin/nsq/internal/vfs"
)

// Errors of the log. Check them with errors.Is.
var (
	// ErrCompacted: the requested index is below the log's first index
	// (raft.ErrCompacted has the same meaning).
	ErrCompacted = errors.New("logstore: requested index is compacted")
	// ErrUnavailable: the requested index is above the log's last index
	// (raft.ErrUnavailable).
	ErrUnavailable = errors.New("logstore: requested index is unavailable")
	// ErrBroken: an earlier write, truncate or sync failed in a way that
	// leaves the files in an unknown state; the log refuses further writes
	// until it is reopened (which recovers from the durable state).
	ErrBroken = errors.New("logstore: log is broken by an earlier I/O error")
	// ErrClosed: the log was closed.
	ErrClosed = errors.New("logstore: log is closed")
)

// Options configure a Log.
type Options struct {
	FS  vfs.FS // required
	Dir string // required: the directory holding the segment files
	// SegmentBytes is the size after which the next append starts a new
	// segment (default 64 MiB). Segments are the unit of DeletePrefix.
	SegmentBytes int64
	// Logf receives recovery notes (a cut torn tail). Optional.
	Logf func(format string, args ...any)
}

// Log is a segmented, checksummed, append-only log of entries with dense
// indexes. One writer at a time (Append, Sync, TruncateSuffix, DeletePrefix
// are serialised by the log itself); reads are safe concurrently with
// writes. Safe for concurrent use.
type Log struct {
	opts Options

	wmu      sync.Mutex // serialises writers; held while doing file I/O for writes
	wbuf     []byte     // encode buffer, guarded by wmu
	dirDirty bool       // guarded by wmu: a segment was created or removed since the last SyncDir
	broken   error      // guarded by wmu (and written under mu too, read under either)

	mu     sync.RWMutex // guards segs, terms, closed, gen; never held across file writes
	segs   []*segment
	terms  []termRun // term changes, ascending by index
	closed bool
	gen    uint64 // bumped whenever entries may move to other offsets (truncate, reset, remove)

	hints readHints // where recent reads ended (see readhint.go)
}

type termRun struct{ index, term uint64 }

// Open opens (creating if needed) the log in o.Dir and recovers it: every
// segment is scanned, a torn or corrupt tail of the last segment is cut off
// (and the cut made durable), and damage anywhere else fails Open with an
// error wrapping ErrCorrupt rather than silently dropping acknowledged
// entries.
func Open(o Options) (*Log, error) {
	if o.FS == nil || o.Dir == "" {
		return nil, errors.New("logstore: Options.FS and Options.Dir are required")
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 64 << 20
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	l := &Log{opts: o}
	if err := o.FS.MkdirAll(o.Dir); err != nil {
		return nil, fmt.Errorf("logstore: create %s: %w", o.Dir, err)
	}
	if err := syncParents(o.FS, o.Dir); err != nil {
		return nil, err
	}
	names, err := o.FS.List(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("logstore: list %s: %w", o.Dir, err)
	}
	var firsts []uint64
	for _, n := range names {
		if first, ok := parseSegmentName(n); ok {
			firsts = append(firsts, first)
		}
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })
	if err := l.recover(firsts); err != nil {
		l.closeFiles()
		return nil, err
	}
	return l, nil
}

// syncParents makes dir's own entry (and its parents', which MkdirAll may
// just have created) durable.
func syncParents(fsys vfs.FS, dir string) error {
	for d := dir; ; {
		p := path.Dir(d)
		if err := fsys.SyncDir(p); err != nil {
			return fmt.Errorf("logstore: sync directory %s: %w", p, err)
		}
		if p == d || p == "/" || p == "." {
			return nil
		}
		d = p
	}
}

func (l *Log) recover(firsts []uint64) error {
	if len(firsts) == 0 {
		s, err := openSegment(l.opts.FS, l.opts.Dir, 1, true)
		if err != nil {
			return fmt.Errorf("logstore: create first segment: %w", err)
		}
		l.segs = []*segment{s}
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("logstore: sync %s: %w", s.name, err)
		}
		return l.opts.FS.SyncDir(l.opts.Dir)
	}
	for i, first := range firsts {
		s, err := openSegment(l.opts.FS, l.opts.Dir, first, false)
		if err != nil {
			return fmt.Errorf("logstore: open segment: %w", err)
		}
		l.segs = append(l.segs, s)
		if i > 0 {
			prev := l.segs[i-1]
			if first != prev.first+prev.n {
				return fmt.Errorf("%w: %s follows %s with entries %d..%d: gap or overlap",
					ErrCorrupt, s.name, prev.name, prev.first, prev.last())
			}
		}
		tail, err := s.scan(func(index, term uint64) { l.terms = append(l.terms, termRun{index, term}) })
		if err != nil {
			return fmt.Errorf("logstore: scan: %w", err)
		}
		if !tail {
			continue
		}
		if i != len(firsts)-1 {
			return fmt.Errorf("%w: %s is damaged after entry %d but later segments exist",
				ErrCorrupt, s.name, s.first+s.n-1)
		}
		size, _ := s.f.Size()
		l.opts.Logf("logstore: %s: cutting %d bytes of torn tail after entry %d", s.name, size-s.size, s.first+s.n-1)
		if err := s.f.Truncate(s.size); err != nil {
			return fmt.Errorf("logstore: cut torn tail of %s: %w", s.name, err)
		}
	}
	// Whatever survived the crash is about to be applied and served: make
	// it durable first (entries written but not synced before a crash may
	// have survived by luck).
	if err := l.active().f.Sync(); err != nil {
		return fmt.Errorf("logstore: sync %s: %w", l.active().name, err)
	}
	return nil
}

func (l *Log) active() *segment { return l.segs[len(l.segs)-1] }

// FirstIndex returns the index of the first entry the log holds (or would
// hold: an empty log returns LastIndex()+1).
func (l *Log) FirstIndex() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.segs[0].first
}

// LastIndex returns the index of the last entry written (synced or not).
func (l *Log) LastIndex() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.lastLocked()
}

func (l *Log) lastLocked() uint64 {
	a := l.segs[len(l.segs)-1]
	return a.first + a.n - 1
}

// LastTerm returns the term of the last entry, 0 for an empty log.
func (l *Log) LastTerm() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.terms) == 0 {
		return 0
	}
	return l.terms[len(l.terms)-1].term
}

// Term returns the term of entry i.
func (l *Log) Term(i uint64) (uint64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if i < l.segs[0].first {
		return 0, ErrCompacted
	}
	if i > l.lastLocked() {
		return 0, ErrUnavailable
	}
	k := sort.Search(len(l.terms), func(k int) bool { return l.terms[k].index > i })
	return l.terms[k-1].term, nil
}

// Entries returns entries lo..hi-1. It stops once the entries' Data would
// exceed maxBytes, but returns at least one entry when lo < hi (the contract
// of raft.Storage.Entries).
func (l *Log) Entries(lo, hi, maxBytes uint64) ([]Entry, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return nil, ErrClosed
	}
	if lo < l.segs[0].first {
		l.mu.RUnlock()
		return nil, ErrCompacted
	}
	if hi > l.lastLocked()+1 {
		l.mu.RUnlock()
		return nil, fmt.Errorf("%w: entries up to %d, last is %d", ErrUnavailable, hi-1, l.lastLocked())
	}
	// Copy the segment views so file reads happen without the lock.
	type span struct {
		s      segment
		lo, hi uint64
	}
	var spans []span
	for _, s := range l.segs {
		if s.n == 0 || s.last() < lo || s.first >= hi {
			continue
		}
		a, b := max(lo, s.first), min(hi, s.last()+1)
		spans = append(spans, span{*s, a, b})
	}
	gen := l.gen
	l.mu.RUnlock()
	var out []Entry
	var total uint64
	for _, sp := range spans {
		var got uint64
		budget := uint64(0)
		if maxBytes > total {
			budget = maxBytes - total
		}
		before := len(out)
		from := l.hints.get(gen, sp.s.first, sp.lo)
		var end readPos
		var err error
		out, got, end, err = sp.s.read(sp.lo, sp.hi, budget, out, from)
		if err != nil {
			return out, err
		}
		l.hints.put(gen, sp.s.first, from, end)
		total += got
		if uint64(len(out)-before) < sp.hi-sp.lo {
			break // byte budget reached
		}
	}
	return out, nil
}

// Segment describes one segment file (for compaction decisions and stats).
type Segment struct {
	First, Last uint64 // Last < First for an empty segment
	Bytes       int64
}

// Segments describes the log's segments, oldest first.
func (l *Log) Segments() []Segment {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]Segment, len(l.segs))
	for i, s := range l.segs {
		out[i] = Segment{First: s.first, Last: s.first + s.n - 1, Bytes: s.size}
	}
	return out
}

// Close closes the segment files. Writes not yet synced may or may not be
// durable afterwards.
func (l *Log) Close() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	return l.closeFiles()
}

func (l *Log) closeFiles() error {
	var first error
	for _, s := range l.segs {
		if err := s.f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
