package harvester

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll drains lr and returns its lines as "content@end", or "-@end" for
// an offset-only line.
func readAll(tb testing.TB, lr *lineReader) []string {
	tb.Helper()
	var out []string
	for {
		l, ok, err := lr.next()
		if err != nil {
			tb.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, fmtLine(l))
	}
}

func fmtLine(l line) string {
	if l.skip {
		return fmt.Sprintf("-@%d", l.end)
	}
	return fmt.Sprintf("%s@%d", l.data, l.end)
}

func TestLineReader(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		max    int
		action LineAction
		want   []string
		split  int64
		trunc  int64
		drop   int64
		empty  bool
	}{
		{name: "plain", input: "a\nbb\nccc\n", max: 10, want: []string{"a@2", "bb@5", "ccc@9"}},
		{name: "unfinished last line held back", input: "a\nbb", max: 10, want: []string{"a@2"}},
		{name: "crlf", input: "a\r\nb\n", max: 10, want: []string{"a@3", "b@5"}},
		{name: "empty lines", input: "\n\nx\n", max: 10, want: []string{"@1", "@2", "x@4"}},
		{name: "binary junk passes", input: "\x00\xff\x01\n", max: 10, want: []string{"\x00\xff\x01@4"}},
		{name: "exactly max", input: "abcd\n", max: 4, want: []string{"abcd@5"}},
		{name: "split", input: "abcdefghij\nxy\n", max: 4, action: Split,
			want: []string{"abcd@4", "efgh@8", "ij@11", "xy@14"}, split: 1},
		{name: "split unfinished", input: "abcdefghij", max: 4, action: Split,
			want: []string{"abcd@4", "efgh@8"}, split: 1},
		{name: "truncate", input: "abcdefghij\nxy\n", max: 4, action: Truncate,
			want: []string{"abcd@11", "xy@14"}, trunc: 1},
		{name: "drop", input: "abcdefghij\nxy\n", max: 4, action: DropLine,
			want: []string{"-@11", "xy@14"}, drop: 1},
		{name: "drop two", input: "abcdefghij\nklmnop\nq\n", max: 4, action: DropLine,
			want: []string{"-@11", "-@18", "q@20"}, drop: 2},
	}
	for _, tc := range tests {
		for _, bufSize := range []int{1, 3, 16384} {
			t.Run(fmt.Sprintf("%s/buf%d", tc.name, bufSize), func(t *testing.T) {
				var c counters
				// OneByteReader exercises reads that end mid-line.
				lr := newLineReader(iotest.OneByteReader(strings.NewReader(tc.input)), 0, bufSize, tc.max, tc.action, &c)
				got := readAll(t, lr)
				if tc.want == nil {
					tc.want = []string{}
				}
				if got == nil {
					got = []string{}
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("lines = %q, want %q", got, tc.want)
				}
				if c.linesSplit.Load() != tc.split || c.linesTruncated.Load() != tc.trunc || c.linesDropped.Load() != tc.drop {
					t.Errorf("split/truncated/dropped = %d/%d/%d, want %d/%d/%d",
						c.linesSplit.Load(), c.linesTruncated.Load(), c.linesDropped.Load(), tc.split, tc.trunc, tc.drop)
				}
			})
		}
	}
}

// growingReader returns EOF until more data is appended, like a file.
type growingReader struct{ data []byte }

func (g *growingReader) Read(p []byte) (int, error) {
	if len(g.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.data)
	g.data = g.data[n:]
	return n, nil
}

func TestLineReaderResumesAfterEOF(t *testing.T) {
	var c counters
	g := &growingReader{data: []byte("one\ntw")}
	lr := newLineReader(g, 100, 8, 64, Split, &c)
	if got := readAll(t, lr); !reflect.DeepEqual(got, []string{"one@104"}) {
		t.Fatalf("first read = %q", got)
	}
	if lr.consumed() != 106 {
		t.Errorf("consumed = %d, want 106 (partial line read)", lr.consumed())
	}
	g.data = []byte("o\nthree\n")
	if got := readAll(t, lr); !reflect.DeepEqual(got, []string{"two@108", "three@114"}) {
		t.Errorf("second read = %q", got)
	}
}

func TestLineReaderMemoryBounded(t *testing.T) {
	// 5 MB without a newline must not be buffered whole.
	var c counters
	r := io.LimitReader(zeroReader{}, 5<<20)
	lr := newLineReader(r, 0, 4096, 1024, Truncate, &c)
	if got := readAll(t, lr); len(got) != 0 {
		t.Fatalf("got %d lines from a file with no newline", len(got))
	}
	if lr.consumed() != 5<<20 {
		t.Errorf("consumed %d bytes, want all %d", lr.consumed(), 5<<20)
	}
	if len(lr.cur) != 1024 || cap(lr.cur) > 2048 {
		t.Errorf("line buffer holds %d bytes (cap %d), want 1024 (cap <= 2048)", len(lr.cur), cap(lr.cur))
	}
	if c.linesTruncated.Load() != 1 {
		t.Errorf("truncated = %d, want 1", c.linesTruncated.Load())
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
