package logstore

import (
	"bytes"
	"errors"
	"testing"
)

func testEntries(first uint64, n int) []Entry {
	ents := make([]Entry, n)
	for i := range ents {
		ents[i] = Entry{Index: first + uint64(i), Term: 1, Kind: Kind(i % 7), Data: bytes.Repeat([]byte{byte(i)}, i%50)}
	}
	return ents
}

func encodeAll(ents []Entry) []byte {
	var buf []byte
	for i := range ents {
		buf = appendRecord(buf, &ents[i])
	}
	return buf
}

func TestRecordRoundTrip(t *testing.T) {
	ents := testEntries(5, 40)
	buf := encodeAll(ents)
	got, n := DecodeAll(buf, 5)
	if n != len(buf) || len(got) != len(ents) {
		t.Fatalf("decoded %d entries in %d of %d bytes", len(got), n, len(buf))
	}
	for i := range got {
		if got[i].Index != ents[i].Index || got[i].Term != ents[i].Term || got[i].Kind != ents[i].Kind || !bytes.Equal(got[i].Data, ents[i].Data) {
			t.Fatalf("entry %d: got %+v want %+v", i, got[i], ents[i])
		}
	}
}

func TestDecodeCutsAtFirstBadRecord(t *testing.T) {
	ents := testEntries(1, 10)
	buf := encodeAll(ents)
	good := len(encodeAll(ents[:6]))
	tests := []struct {
		name string
		mod  func([]byte) []byte
		want int // entries kept
	}{
		{"torn inside record 7", func(b []byte) []byte { return b[:good+5] }, 6},
		{"torn inside header 7", func(b []byte) []byte { return b[:good+3] }, 6},
		{"bit flip in body 7", func(b []byte) []byte { b[good+recordHeader+3] ^= 1; return b }, 6},
		{"bit flip in crc 7", func(b []byte) []byte { b[good+5] ^= 0x80; return b }, 6},
		{"huge length 7", func(b []byte) []byte { b[good+3] = 0xff; return b }, 6},
		{"zero tail", func(b []byte) []byte { return append(b, make([]byte, 64)...) }, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mod(append([]byte(nil), buf...))
			got, _ := DecodeAll(b, 1)
			if len(got) != tc.want {
				t.Fatalf("kept %d entries, want %d", len(got), tc.want)
			}
		})
	}
	// Out-of-sequence index: a stale intact record after the right ones.
	stale := append(encodeAll(ents[:3]), encodeAll(ents[1:2])...)
	if got, _ := DecodeAll(stale, 1); len(got) != 3 {
		t.Fatalf("out-of-sequence record accepted: %d", len(got))
	}
	if _, _, err := decodeRecord(buf[1:]); !errors.Is(err, ErrCorrupt) && err != errShort {
		t.Fatalf("misaligned decode: %v", err)
	}
}

// FuzzDecodeAll: whatever the bytes, decoding never panics, keeps only a
// dense run from first, and re-encoding what it kept gives back exactly the
// prefix it claims to have consumed.
func FuzzDecodeAll(f *testing.F) {
	f.Add(encodeAll(testEntries(1, 3)), uint64(1))
	f.Add(encodeAll(testEntries(1, 3))[:30], uint64(1))
	f.Add([]byte{}, uint64(1))
	f.Fuzz(func(t *testing.T, b []byte, first uint64) {
		ents, n := DecodeAll(b, first)
		if n > len(b) {
			t.Fatalf("consumed %d of %d bytes", n, len(b))
		}
		for i, e := range ents {
			if e.Index != first+uint64(i) {
				t.Fatalf("entry %d has index %d", i, e.Index)
			}
		}
		if re := encodeAll(ents); !bytes.Equal(re, b[:n]) {
			t.Fatalf("re-encoding differs from the consumed prefix")
		}
	})
}
