package logstore

import "sync"

// readPos is a place in a segment: entry index starts at file offset off.
type readPos struct {
	index uint64
	off   int64
}

// readHints remembers where recent reads ended, so that a reader going
// through the log in order (a channel pump) resumes at the exact offset
// instead of decoding forward from the sparse index: with 48 KiB publish
// entries that was up to 15 entries (720 KiB) read and thrown away per
// call. A hint is tied to a segment (by its first index) and to the log's
// layout generation; anything that moves entries to other offsets
// (TruncateSuffix, Reset, removing a segment) bumps the generation, so a
// hint from before is never used. Safe for concurrent use.
type readHints struct {
	mu   sync.Mutex // guards h, next
	h    [8]readHint
	next int
}

type readHint struct {
	gen   uint64 // Log.gen when the read began
	first uint64 // segment
	pos   readPos
}

// get returns the hint for segment first at generation gen whose index is
// the highest at or below lo (zero readPos if none).
func (r *readHints) get(gen, first, lo uint64) readPos {
	r.mu.Lock()
	defer r.mu.Unlock()
	var best readPos
	for _, h := range r.h {
		if h.gen == gen && h.first == first && h.pos.index <= lo && h.pos.index > best.index {
			best = h.pos
		}
	}
	return best
}

// put records where a read of segment first ended, replacing a hint that
// the read started from (the same reader moving on) or else the oldest.
func (r *readHints) put(gen, first uint64, from, end readPos) {
	if end.index == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	slot := -1
	for i, h := range r.h {
		if h.gen == gen && h.first == first && from.index != 0 && h.pos == from {
			slot = i
			break
		}
	}
	if slot < 0 {
		slot = r.next
		r.next = (r.next + 1) % len(r.h)
	}
	r.h[slot] = readHint{gen: gen, first: first, pos: end}
}
