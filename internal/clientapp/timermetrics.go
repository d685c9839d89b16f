package clientapp

import (
	"log"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
)

// TimerMetrics keeps the durations of the last `every` operations and,
// once every `every` operations, logs their 99th and 95th percentiles and
// average as NSQ's apps do:
//
//	<prefix> finished <N> - 99th: <x.xx>ms - 95th: <x.xx>ms - avg: <x.xx>ms
//
// The first line appears at operation every+1 and reports the window of
// the previous `every` operations. every == 0 disables it. Safe for
// concurrent use.
type TimerMetrics struct {
	prefix string
	every  int
	logger *log.Logger

	mu     sync.Mutex // guards window, count
	window []time.Duration
	count  int
}

// NewTimerMetrics returns metrics logging to logger with prefix (e.g.
// "[aggregate]:"). Like NSQ it warns when every is below 100, since a
// percentile over fewer samples means little.
func NewTimerMetrics(every int, prefix string, logger *log.Logger) *TimerMetrics {
	if every > 0 && every < 100 {
		logger.Printf("Warning: use more than 100 status values for accurate percentiles (configured with %d)", every)
	}
	m := &TimerMetrics{prefix: prefix, every: every, logger: logger}
	if every > 0 {
		m.window = make([]time.Duration, every)
	}
	return m
}

// Status records the duration of an operation that started at start.
func (m *TimerMetrics) Status(start time.Time) { m.Record(time.Since(start)) }

// Record records one operation's duration.
func (m *TimerMetrics) Record(d time.Duration) {
	if m.every <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.count % m.every
	if i == 0 && m.count > 0 {
		m.logger.Print(m.statusLine())
	}
	m.window[i] = d
	m.count++
}

// statusLine formats the full window; m.mu must be held.
func (m *TimerMetrics) statusLine() string {
	p99, p95, avg := Summarize(m.window)
	return m.prefix + " finished " + itoa(len(m.window)) +
		" - 99th: " + ms(p99) + "ms - 95th: " + ms(p95) + "ms - avg: " + ms(avg) + "ms"
}

// Summarize returns the 99th and 95th percentile (nearest rank) and the
// mean of ds, which it does not modify.
func Summarize(ds []time.Duration) (p99, p95, avg time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(sorted)))) - 1
		return sorted[max(i, 0)]
	}
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	return rank(0.99), rank(0.95), sum / time.Duration(len(sorted))
}

func itoa(n int) string { return strconv.Itoa(n) }

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
}
