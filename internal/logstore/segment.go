package logstore

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/dropin/nsq/internal/vfs"
)

const (
	segmentSuffix = ".seg"
	// indexEvery is the stride of a segment's sparse offset index: a read
	// starting at an arbitrary entry decodes at most indexEvery-1 records it
	// does not return, and the index costs 8 bytes per indexEvery entries.
	indexEvery = 16
	// readChunk is how much a scan or a read asks the file for at a time.
	readChunk = 256 << 10
)

// segment is one file of the log: entries first .. first+n-1, in size bytes.
type segment struct {
	first uint64
	n     uint64
	size  int64
	offs  []int64 // offs[k] is the offset of entry first+k*indexEvery
	f     vfs.File
	name  string
}

func segmentName(first uint64) string { return fmt.Sprintf("%020d%s", first, segmentSuffix) }

// parseSegmentName returns the first index a segment file name encodes.
func parseSegmentName(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(s) != 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil && v > 0
}

func (s *segment) last() uint64 { return s.first + s.n - 1 }

// noteAppended records that entry index, at offset off, was appended.
func (s *segment) noteAppended(off int64) {
	if s.n%indexEvery == 0 {
		s.offs = append(s.offs, off)
	}
	s.n++
}

// scan reads the segment from the start and indexes its good entries. It
// returns the entries' terms as runs through onTerm, and whether the file
// holds bytes past the last good record (a torn or corrupt tail).
func (s *segment) scan(onTerm func(index, term uint64)) (tail bool, err error) {
	size, err := s.f.Size()
	if err != nil {
		return false, err
	}
	s.n, s.size, s.offs = 0, 0, s.offs[:0]
	var lastTerm uint64
	var buf []byte
	var bufOff int64 // file offset of buf[0]
	for {
		rel := int(s.size - bufOff)
		e, n, derr := decodeRecord(buf[rel:])
		if derr == errShort {
			if bufOff+int64(len(buf)) >= size {
				return s.size < size, nil
			}
			// Refill: keep the partial record, read more.
			want := readChunk
			if need := recordHeaderLen(buf[rel:]); need > want {
				want = need
			}
			nb := make([]byte, len(buf)-rel, len(buf)-rel+want)
			copy(nb, buf[rel:])
			bufOff = s.size
			k, rerr := s.f.ReadAt(nb[len(nb):cap(nb)], bufOff+int64(len(nb)))
			if rerr != nil && !errors.Is(rerr, io.EOF) {
				return false, fmt.Errorf("read %s: %w", s.name, rerr)
			}
			buf = nb[:len(nb)+k]
			if k == 0 {
				return s.size < size, nil
			}
			continue
		}
		if derr != nil || e.Index != s.first+s.n || e.Term < lastTerm {
			return true, nil
		}
		if s.n == 0 || e.Term != lastTerm {
			onTerm(e.Index, e.Term)
		}
		lastTerm = e.Term
		s.noteAppended(s.size)
		s.size += int64(n)
	}
}

// recordHeaderLen returns the full length of the record whose header starts
// buf, or 0 if the header is not all there or is implausible.
func recordHeaderLen(buf []byte) int {
	if len(buf) < recordHeader {
		return 0
	}
	l := int(uint32(buf[0]) | uint32(buf[1])<<8 | uint32(buf[2])<<16 | uint32(buf[3])<<24)
	if l > bodyFixed+MaxEntryBytes {
		return 0
	}
	return recordHeader + l
}

// read returns entries lo..hi-1 (all inside this segment), stopping early
// once maxBytes of Data have been collected (but always returning at least
// one entry).
//
// from, if it lies between the sparse index entry before lo and lo, is
// where decoding starts instead (the end of an earlier read, so a
// sequential reader does not decode up to indexEvery-1 entries again). The
// returned readPos is where this read stopped: the next entry's index and
// offset.
func (s *segment) read(lo, hi uint64, maxBytes uint64, out []Entry, from readPos) ([]Entry, uint64, readPos, error) {
	k := (lo - s.first) / indexEvery
	off := s.offs[k]
	idx := s.first + k*indexEvery
	if from.index > idx && from.index <= lo && from.off > off {
		idx, off = from.index, from.off
	}
	end := s.size
	var total uint64
	var buf []byte
	bufOff := off
	for idx < hi {
		rel := int(off - bufOff)
		e, n, err := decodeRecord(buf[rel:])
		if err == errShort {
			// Read about what the byte budget still allows, so a caller
			// asking for a little does not pay for a large read.
			want := int64(readChunk)
			if maxBytes-total < readChunk {
				want = int64(max(maxBytes-total, 0)) + 4096
			}
			if need := int64(recordHeaderLen(buf[rel:])); need > want {
				want = need
			}
			if rem := end - off; want > rem {
				want = rem
			}
			if want <= int64(len(buf)-rel) {
				return out, total, readPos{}, fmt.Errorf("%w: %s: entry %d runs past the indexed end", ErrCorrupt, s.name, idx)
			}
			nb := make([]byte, want)
			m, rerr := s.f.ReadAt(nb, off)
			if rerr != nil && !(errors.Is(rerr, io.EOF) && int64(m) == want) {
				return out, total, readPos{}, fmt.Errorf("read %s at %d: %w", s.name, off, rerr)
			}
			buf, bufOff = nb, off
			continue
		}
		if err != nil || e.Index != idx {
			// Indexed bytes were good when written or scanned; this is
			// damage after the fact. Never serve it.
			return out, total, readPos{}, fmt.Errorf("%w: %s: entry %d: %v", ErrCorrupt, s.name, idx, err)
		}
		if idx >= lo {
			if len(out) > 0 && total+uint64(len(e.Data)) > maxBytes {
				return out, total, readPos{idx, off}, nil
			}
			total += uint64(len(e.Data))
			out = append(out, e)
		}
		off += int64(n)
		idx++
	}
	return out, total, readPos{idx, off}, nil
}

// offsetOf returns the file offset of entry i of the segment (to truncate
// there), decoding forward from the nearest indexed entry.
func (s *segment) offsetOf(i uint64) (int64, error) {
	if i == s.first+s.n {
		return s.size, nil
	}
	k := (i - s.first) / indexEvery
	off := s.offs[k]
	idx := s.first + k*indexEvery
	hdr := make([]byte, recordHeader)
	for idx < i {
		if _, err := s.f.ReadAt(hdr, off); err != nil {
			return 0, fmt.Errorf("read %s at %d: %w", s.name, off, err)
		}
		l := recordHeaderLen(hdr)
		if l == 0 {
			return 0, fmt.Errorf("%w: %s: bad header at %d", ErrCorrupt, s.name, off)
		}
		off += int64(l)
		idx++
	}
	return off, nil
}

func openSegment(fsys vfs.FS, dir string, first uint64, create bool) (*segment, error) {
	name := path.Join(dir, segmentName(first))
	var f vfs.File
	var err error
	if create {
		f, err = fsys.Create(name)
	} else {
		f, err = fsys.OpenReadWrite(name)
	}
	if err != nil {
		return nil, err
	}
	return &segment{first: first, f: f, name: name}, nil
}
