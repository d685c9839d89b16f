package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
)

// report prints one line per test or setup step and the closing count.
// Used by one goroutine.
type report struct {
	w       io.Writer
	skipLog string // $NSQ_SKIP_LOG, or ""
	passed  int
	failed  int
	skipped int
}

func newReport(w io.Writer, skipLog string) *report { return &report{w: w, skipLog: skipLog} }

func (r *report) pass(name, elapsed string) {
	r.passed++
	fmt.Fprintf(r.w, "ok   %s (%s)\n", name, elapsed)
}

// skip reports a test the suite skipped and records it in the skip log.
func (r *report) skip(name, elapsed, reason string) {
	r.skipped++
	fmt.Fprintf(r.w, "skip %s (%s): %s\n", name, elapsed, reason)
	if r.skipLog == "" {
		return
	}
	f, err := os.OpenFile(r.skipLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err == nil {
		_, err = fmt.Fprintf(f, "gonsq\t%s\tskipped by go-nsq's suite: %s\n", name, reason)
		f.Close()
	}
	if err != nil {
		r.note("could not write NSQ_SKIP_LOG: %v", err)
	}
}

// fail reports a failed test or step with the detail lines that explain it.
func (r *report) fail(what string, detail []string) {
	r.failed++
	fmt.Fprintf(r.w, "FAIL %s\n", what)
	for _, l := range detail {
		fmt.Fprintf(r.w, "       %s\n", l)
	}
}

func (r *report) note(format string, args ...any) {
	fmt.Fprintf(r.w, "# "+format+"\n", args...)
}

// close prints the closing line.
func (r *report) close() {
	if r.skipped > 0 {
		r.note("%d skipped by the suite", r.skipped)
	}
	fmt.Fprintf(r.w, "gonsq: %d passed, %d failed\n", r.passed, r.failed)
}

var (
	// "=== RUN   TestX", "=== CONT  TestX", "=== NAME  TestX/sub", ...
	switchLine = regexp.MustCompile(`^=== (RUN|CONT|NAME|PAUSE) +(\S+)`)
	// "--- PASS: TestX (0.11s)" at the start of the line: a top-level test
	resultLine = regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (\S+) \(([^)]*)\)`)
	// "    consumer_test.go:42: " before a t.Log line
	logPrefix = regexp.MustCompile(`^\s*\S+\.go:\d+: `)
)

// maxKept bounds the output kept per running test.
const maxKept = 400

// parser follows the `-test.v` output of one test binary and reports each
// top-level test when its result line arrives. Used by one goroutine.
type parser struct {
	rep          *report
	current      string              // the top-level test output belongs to now
	output       map[string][]string // output of tests still running
	ended        map[string]bool
	unattributed []string // output outside any test (the last maxKept lines)
}

func newParser(rep *report) *parser {
	return &parser{rep: rep, output: map[string][]string{}, ended: map[string]bool{}}
}

func (p *parser) line(s string) {
	if m := switchLine.FindStringSubmatch(s); m != nil {
		if m[1] != "PAUSE" {
			p.current, _, _ = strings.Cut(m[2], "/")
			if _, ok := p.output[p.current]; !ok && !p.ended[p.current] {
				p.output[p.current] = nil // started
			}
		}
		return
	}
	if m := resultLine.FindStringSubmatch(s); m != nil {
		name, out := m[2], p.output[m[2]]
		delete(p.output, name)
		p.ended[name] = true
		if p.current == name {
			p.current = ""
		}
		switch m[1] {
		case "PASS":
			p.rep.pass(name, m[3])
		case "SKIP":
			p.rep.skip(name, m[3], skipReason(out))
		default:
			p.rep.fail(name+" ("+m[3]+")", tail(out, 20))
		}
		return
	}
	if p.current == "" {
		p.unattributed = keep(p.unattributed, s)
		return
	}
	p.output[p.current] = keep(p.output[p.current], s)
}

// finish reports every listed or started test that has no result line
// (the binary died or timed out while it ran) as failed, saying why.
func (p *parser) finish(listed []string, why string) {
	running := slices.Sorted(maps.Keys(p.output))
	for _, name := range append(listed, running...) {
		if p.ended[name] {
			continue
		}
		p.ended[name] = true
		out, ok := p.output[name]
		if !ok {
			p.rep.fail(name+" (did not run: "+why+")", nil)
			continue
		}
		p.rep.fail(name+" (did not finish: "+why+")", panicOrTail(out, 20))
	}
}

// skipReason is a skipped test's last line of output without its file:line
// prefix.
func skipReason(out []string) string {
	for i := len(out) - 1; i >= 0; i-- {
		if s := strings.TrimSpace(logPrefix.ReplaceAllString(out[i], "")); s != "" {
			return s
		}
	}
	return "no reason given"
}

func keep(out []string, s string) []string {
	if len(out) >= maxKept {
		out = append(out[:0], out[len(out)-maxKept/2:]...)
	}
	return append(out, s)
}

// panicOrTail returns n lines from a panic message on ("panic: test timed
// out ..." and what follows name the cause better than the goroutine dump's
// end), or the last n lines when there is no panic.
func panicOrTail(out []string, n int) []string {
	for i, l := range out {
		if strings.HasPrefix(l, "panic: ") {
			return out[i:min(len(out), i+n)]
		}
	}
	return tail(out, n)
}

func tail(out []string, n int) []string {
	if len(out) > n {
		return out[len(out)-n:]
	}
	return out
}
