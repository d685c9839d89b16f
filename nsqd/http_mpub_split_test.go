package nsqd

import (
	"bytes"
	"fmt"
	"testing"
)

// FuzzSplitTextMPUB: a text /mpub body cut in place (the fast path) gives
// exactly what reading it line by line gives (net/http's path): the same
// messages, or the same error.
func FuzzSplitTextMPUB(f *testing.F) {
	for _, s := range []string{"", "\n", "a", "a\n", "a\nb", "a\n\nb\n", "\r\n", "abcdef\nab\n", "x\n\n\n", "toolongline\na"} {
		f.Add([]byte(s), int64(8), int64(4))
		f.Add([]byte(s), int64(100), int64(100))
	}
	f.Fuzz(func(t *testing.T, body []byte, maxBody, maxMsg int64) {
		if maxBody < 0 || maxMsg < 0 || maxBody > 1<<20 {
			return
		}
		want, werr := readTextMPUB(bytes.NewReader(body), maxBody, maxMsg)
		got, gerr := splitTextMPUB(body, maxBody, maxMsg)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) {
			t.Fatalf("%q (max %d/%d): error %v, reader's %v", body, maxBody, maxMsg, gerr, werr)
		}
		if werr != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d messages, reader's %d", body, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%q: message %d %q, reader's %q", body, i, got[i], want[i])
			}
		}
	})
}

// BenchmarkSplitTextMPUB: the fast path's /mpub of 200 messages of 200
// bytes, cut in place (one allocation: the list).
func BenchmarkSplitTextMPUB(b *testing.B) {
	body := bytes.Repeat(append(bytes.Repeat([]byte{'x'}, 200), '\n'), 200)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if bodies, err := splitTextMPUB(body, 5<<20, 1<<20); err != nil || len(bodies) != 200 {
			b.Fatal(len(bodies), err)
		}
	}
}

// BenchmarkReadTextMPUB: the same body through the line reader
// (net/http's path).
func BenchmarkReadTextMPUB(b *testing.B) {
	body := bytes.Repeat(append(bytes.Repeat([]byte{'x'}, 200), '\n'), 200)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if bodies, err := readTextMPUB(bytes.NewReader(body), 5<<20, 1<<20); err != nil || len(bodies) != 200 {
			b.Fatal(len(bodies), err)
		}
	}
}
