package harvester

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMultiline(t *testing.T) {
	javaTrace := []string{
		"Exception in thread main java.lang.NullPointerException",
		"\tat com.example.Foo.bar(Foo.java:12)",
		"\tat com.example.Main.main(Main.java:5)",
		"Caused by: java.lang.IllegalStateException",
		"\tat com.example.Foo.baz(Foo.java:30)",
		"next event",
	}
	tests := []struct {
		name     string
		pattern  string
		negate   bool
		match    string
		maxLines int
		maxBytes int
		action   LineAction
		lines    []string
		want     []string // events completed while adding, then the final flush
	}{
		{
			name: "java stack trace", pattern: `^[[:space:]]|^Caused by:`, match: "after",
			lines: javaTrace,
			want: []string{
				strings.Join(javaTrace[:5], "\n") + "@" + endOf(javaTrace, 5),
				"next event@" + endOf(javaTrace, 6),
			},
		},
		{
			name: "timestamped, negate", pattern: `^\[[0-9]{4}-[0-9]{2}-[0-9]{2}`, negate: true, match: "after",
			lines: []string{"[2024-01-01] one", "  cont", "more", "[2024-01-02] two"},
			want:  []string{"[2024-01-01] one\n  cont\nmore@29", "[2024-01-02] two@46"},
		},
		{
			name: "C continuation, before", pattern: `\\$`, match: "before",
			lines: []string{`a \`, `b \`, "c", "d"},
			want:  []string{"a \\\nb \\\nc@10", "d@12"},
		},
		{
			name: "max lines", pattern: `^ `, match: "after", maxLines: 2,
			lines: []string{"x", " 1", " 2", " 3", "y"},
			want:  []string{"x\n 1@11", "y@13"}, // left-out lines still move the offset
		},
		{
			name: "too long, truncate", pattern: `^ `, match: "after", maxBytes: 6, action: Truncate,
			lines: []string{"abc", " def", " ghi", "z"},
			want:  []string{"abc\n d@14", "z@16"},
		},
		{
			name: "too long, drop", pattern: `^ `, match: "after", maxBytes: 6, action: DropLine,
			lines: []string{"abc", " def", "z"},
			want:  []string{"-@9", "z@11"},
		},
		{
			name: "too long, split", pattern: `^ `, match: "after", maxBytes: 6, action: Split,
			lines: []string{"abc", " def", " g", "z"},
			want:  []string{"abc\n d@4", "ef\n g@12", "z@14"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			o.MultilinePattern, o.MultilineNegate, o.MultilineMatch = tc.pattern, tc.negate, tc.match
			if tc.maxLines > 0 {
				o.MultilineMaxLines = tc.maxLines
			}
			if tc.maxBytes > 0 {
				o.MaxLineBytes, o.MaxLineAction = tc.maxBytes, tc.action
			}
			var c counters
			m, err := newMultiline(o, &c)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var end int64
			now := time.Now()
			for _, l := range tc.lines {
				end += int64(len(l)) + 1
				for _, ev := range m.add(line{data: []byte(l), end: end}, now) {
					got = append(got, fmtLine(ev))
				}
			}
			for _, ev := range m.flushNow() {
				got = append(got, fmtLine(ev))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("events:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func endOf(lines []string, n int) string {
	end := 0
	for _, l := range lines[:n] {
		end += len(l) + 1
	}
	return strconv.Itoa(end)
}

func TestMultilineTimeout(t *testing.T) {
	o := NewOptions()
	o.MultilinePattern, o.MultilineTimeout = `^ `, 5*time.Second
	var c counters
	m, err := newMultiline(o, &c)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	if evs := m.add(line{data: []byte("start"), end: 6}, t0); len(evs) != 0 {
		t.Fatalf("first line completed %d events", len(evs))
	}
	m.add(line{data: []byte(" more"), end: 12}, t0.Add(3*time.Second))
	if m.due(t0.Add(7 * time.Second)) {
		t.Error("due 4s after the last line, timeout 5s")
	}
	if got := m.wait(t0.Add(7 * time.Second)); got != time.Second {
		t.Errorf("wait = %s, want 1s", got)
	}
	if !m.due(t0.Add(8 * time.Second)) {
		t.Error("not due 5s after the last line")
	}
	evs := m.flushNow()
	if len(evs) != 1 || fmtLine(evs[0]) != "start\n more@12" {
		t.Errorf("flushed %v", evs)
	}
	if m.due(t0.Add(time.Hour)) || len(m.flushNow()) != 0 {
		t.Error("something pending after flush")
	}
}
