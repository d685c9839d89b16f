package clientapp

import (
	"bytes"
	"log"
	"strings"
	"testing"
	"time"
)

func TestTimerMetricsStatusLine(t *testing.T) {
	var buf bytes.Buffer
	m := NewTimerMetrics(100, "[aggregate]:", log.New(&buf, "", 0))
	for i := 1; i <= 100; i++ {
		m.Record(time.Duration(i) * time.Millisecond)
	}
	if buf.Len() != 0 {
		t.Fatalf("logged before operation every+1: %q", buf.String())
	}
	m.Record(time.Hour) // the 101st reports the first 100
	want := "[aggregate]: finished 100 - 99th: 99.00ms - 95th: 95.00ms - avg: 50.50ms\n"
	if buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
	for i := 0; i < 99; i++ {
		m.Record(time.Millisecond)
	}
	if strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("logged too often: %q", buf.String())
	}
	m.Record(time.Millisecond)
	if lines := strings.Split(strings.TrimSpace(buf.String()), "\n"); len(lines) != 2 ||
		lines[1] != "[aggregate]: finished 100 - 99th: 1.00ms - 95th: 1.00ms - avg: 36000.99ms" {
		t.Fatalf("second status line wrong: %q", buf.String())
	}
}

func TestTimerMetricsWarningAndDisabled(t *testing.T) {
	cases := []struct {
		every   int
		warning bool
	}{{0, false}, {10, true}, {99, true}, {100, false}, {250, false}}
	for _, c := range cases {
		var buf bytes.Buffer
		m := NewTimerMetrics(c.every, "[x]:", log.New(&buf, "", 0))
		warned := strings.Contains(buf.String(), "Warning: use more than 100 status values for accurate percentiles (configured with")
		if warned != c.warning {
			t.Errorf("every=%d: warning=%v (%q)", c.every, warned, buf.String())
		}
		buf.Reset()
		for i := 0; i < 3*max(c.every, 1)+1; i++ {
			m.Record(time.Millisecond)
		}
		if lines := strings.Count(buf.String(), "finished"); (c.every == 0) != (lines == 0) {
			t.Errorf("every=%d: %d status lines", c.every, lines)
		}
	}
}

func TestSummarize(t *testing.T) {
	p99, p95, avg := Summarize([]time.Duration{4, 1, 3, 2})
	if p99 != 4 || p95 != 4 || avg != 2 {
		t.Fatalf("got %v %v %v", p99, p95, avg)
	}
	if p99, p95, avg := Summarize(nil); p99|p95|avg != 0 {
		t.Fatal("empty summary not zero")
	}
}
