package testutil

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics is a /metrics reply parsed by the Prometheus text parser.
type Metrics map[string]*dto.MetricFamily

// ParseMetrics parses a Prometheus text exposition, failing the test if
// it does not parse.
func ParseMetrics(tb testing.TB, text string) Metrics {
	tb.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		tb.Fatalf("/metrics does not parse: %s\n%s", err, text)
	}
	return Metrics(fams)
}

// ScrapeMetrics GETs url (a /metrics endpoint) and parses the reply.
func ScrapeMetrics(tb testing.TB, url string) Metrics {
	tb.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %s", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		tb.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		tb.Fatalf("GET %s: Content-Type %q", url, ct)
	}
	return ParseMetrics(tb, string(body))
}

// Value returns the value of the sample of family name whose labels
// include all of labels (given as name, value pairs), and whether there
// is one. Counters, gauges and untyped samples have a value; for a
// histogram or summary it is the sample count.
func (m Metrics) Value(name string, labels ...string) (float64, bool) {
	fam, ok := m[name]
	if !ok {
		return 0, false
	}
	for _, s := range fam.GetMetric() {
		if !hasLabels(s, labels) {
			continue
		}
		switch {
		case s.Counter != nil:
			return s.Counter.GetValue(), true
		case s.Gauge != nil:
			return s.Gauge.GetValue(), true
		case s.Untyped != nil:
			return s.Untyped.GetValue(), true
		case s.Histogram != nil:
			return float64(s.Histogram.GetSampleCount()), true
		case s.Summary != nil:
			return float64(s.Summary.GetSampleCount()), true
		}
	}
	return 0, false
}

// Has reports whether any sample of family name has a label with value.
func (m Metrics) Has(name, label, value string) bool {
	_, ok := m.Value(name, label, value)
	return ok
}

func hasLabels(s *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range s.GetLabel() {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
