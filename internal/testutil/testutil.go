package testutil

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Logger adapts testing.TB to lg.Logger and keeps the lines for tests
// about what is logged. Lines logged after the test has finished are
// dropped instead of panicking. Safe for concurrent use.
type Logger struct {
	mu    sync.Mutex // guards done, lines
	tb    testing.TB
	done  bool
	lines []string
}

// NewLogger returns a Logger for tb that stops logging at cleanup.
func NewLogger(tb testing.TB) *Logger {
	l := &Logger{tb: tb}
	tb.Cleanup(func() {
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
	})
	return l
}

// Output implements lg.Logger.
func (l *Logger) Output(_ int, s string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.tb.Log(strings.TrimSuffix(s, "\n"))
		l.lines = append(l.lines, strings.TrimSuffix(s, "\n"))
	}
	return nil
}

// Logged reports whether a line ending in s has been logged (the level
// and any prefix come first).
func (l *Logger) Logged(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.HasSuffix(line, s) {
			return true
		}
	}
	return false
}

// Lines returns the lines logged so far.
func (l *Logger) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// Eventually polls cond every few milliseconds until it returns true, and
// fails the test with msg if that does not happen within timeout.
func Eventually(tb testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	tb.Helper()
	if err := Poll(timeout, cond); err != nil {
		tb.Fatalf("%s (not true after %s)", fmt.Sprintf(msg, args...), timeout)
	}
}

// Poll polls cond until it returns true or timeout passes.
func Poll(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met within %s", timeout)
		}
		time.Sleep(wait)
		if wait < 50*time.Millisecond {
			wait *= 2
		}
	}
}
