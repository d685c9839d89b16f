package promtext

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dropin/nsq/internal/testutil"
)

func TestWriterParses(t *testing.T) {
	w := New()
	w.Add("b_total", "second", Counter, 3, Label{"topic", `a"b\c` + "\n"}, Label{"channel", "x"})
	w.Add("b_total", "ignored", Counter, 1, Label{"topic", "a"}, Label{"channel", "y"})
	w.Add("a_gauge", "first\\help\nline", Gauge, 0.25)
	for _, q := range []string{"0.5", "1"} {
		w.Add("s", "sum", Summary, 2, Label{"quantile", q})
	}
	w.AddSummaryTotals("s", "", 10, 4)
	text := string(w.Bytes())
	m := testutil.ParseMetrics(t, text)
	if v, ok := m.Value("b_total", "topic", "a\"b\\c\n", "channel", "x"); !ok || v != 3 {
		t.Errorf("escaped label value: %v %v\n%s", v, ok, text)
	}
	if v, ok := m.Value("s"); !ok || v != 4 {
		t.Errorf("summary count %v %v\n%s", v, ok, text)
	}
	for _, want := range []string{
		"# HELP a_gauge first\\\\help\\nline\n# TYPE a_gauge gauge\na_gauge 0.25\n",
		`b_total{channel="x",topic="a\"b\\c\n"} 3`,
		"# TYPE b_total counter",
		"s_sum 10\ns_count 4\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "a_gauge") > strings.Index(text, "b_total") {
		t.Errorf("families not sorted by name:\n%s", text)
	}
}

func TestHandlerRuntimeFamilies(t *testing.T) {
	srv := httptest.NewServer(Handler(func(w *Writer) { AddGo(w); AddProcess(w) }))
	defer srv.Close()
	m := testutil.ScrapeMetrics(t, srv.URL)
	for _, name := range []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "go_gc_duration_seconds", "process_start_time_seconds"} {
		if _, ok := m.Value(name); !ok {
			t.Errorf("no %s", name)
		}
	}
	if v, ok := m.Value("process_resident_memory_bytes"); ok && v <= 0 {
		t.Errorf("process_resident_memory_bytes = %v", v)
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != ContentType {
		t.Errorf("Content-Type %q", ct)
	}
}
