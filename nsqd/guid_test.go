package nsqd

import (
	"encoding/hex"
	"testing"
	"time"
)

func TestGUIDs(t *testing.T) {
	f := newGUIDFactory(513)
	msgs := make([]Message, 10000) // more than one time unit's sequence
	if err := f.fill(msgs); err != nil {
		t.Fatal(err)
	}
	seen := map[MessageID]bool{}
	var last uint64
	for i, m := range msgs {
		raw, err := hex.DecodeString(string(m.ID[:]))
		if err != nil || len(raw) != 8 {
			t.Fatalf("id %q not 16 hex digits", m.ID)
		}
		v := uint64(0)
		for _, b := range raw {
			v = v<<8 | uint64(b)
		}
		if seen[m.ID] || (i > 0 && v <= last) {
			t.Fatalf("id %d not unique and increasing: %s", i, m.ID)
		}
		seen[m.ID] = true
		last = v
		if node := (v >> nodeIDShift) & 1023; node != 513 {
			t.Fatalf("node id %d", node)
		}
		ts := int64(v>>timeShift) + guidEpoch
		if d := time.Since(time.Unix(0, ts<<guidTimeShift)); d < 0 || d > time.Minute {
			t.Fatalf("id time off by %s", d)
		}
	}
}

func TestEncodeGUID(t *testing.T) {
	var id MessageID
	encodeGUID(&id, 0x0123456789abcdef)
	if string(id[:]) != "0123456789abcdef" {
		t.Fatal(string(id[:]))
	}
}

func BenchmarkGUIDFill(b *testing.B) {
	b.ReportAllocs()
	f := newGUIDFactory(1)
	msgs := make([]Message, 100)
	for i := 0; i < b.N; i++ {
		f.fill(msgs)
	}
}
