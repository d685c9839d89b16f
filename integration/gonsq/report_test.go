package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParserReportsEachTest(t *testing.T) {
	skipLog := filepath.Join(t.TempDir(), "skipped.txt")
	var out bytes.Buffer
	rep := newReport(&out, skipLog)
	p := newParser(rep)
	suiteOutput := `=== RUN   TestA
--- PASS: TestA (0.01s)
=== RUN   TestB
=== RUN   TestB/sub
    b_test.go:10: boom
    --- FAIL: TestB/sub (0.00s)
--- FAIL: TestB (0.02s)
=== RUN   TestC
    c_test.go:5: needs a widget
--- SKIP: TestC (0.00s)
=== RUN   TestD
=== PAUSE TestD
=== RUN   TestE
=== CONT  TestD
    d_test.go:3: from D
=== NAME  TestE
    e_test.go:4: from E
--- PASS: TestD (0.03s)
panic: test timed out after 1s
	running tests:
		TestE (1s)
FAIL`
	for _, l := range strings.Split(suiteOutput, "\n") {
		p.line(l)
	}
	p.finish([]string{"TestA", "TestB", "TestC", "TestD", "TestE", "TestF"}, "exit status 2")
	rep.close()
	want := `ok   TestA (0.01s)
FAIL TestB (0.02s)
           b_test.go:10: boom
           --- FAIL: TestB/sub (0.00s)
skip TestC (0.00s): needs a widget
ok   TestD (0.03s)
FAIL TestE (did not finish: exit status 2)
       panic: test timed out after 1s
       	running tests:
       		TestE (1s)
       FAIL
FAIL TestF (did not run: exit status 2)
# 1 skipped by the suite
gonsq: 2 passed, 3 failed
`
	if got := out.String(); got != want {
		t.Errorf("report:\n%s\nwant:\n%s", got, want)
	}
	b, err := os.ReadFile(skipLog)
	if err != nil {
		t.Fatal(err)
	}
	if want := "gonsq\tTestC\tskipped by go-nsq's suite: needs a widget\n"; string(b) != want {
		t.Errorf("skip log %q, want %q", b, want)
	}
}

func TestWaitPortsFreeNamesBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = waitPortsFree(context.Background(), []string{l.Addr().String()}, 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), l.Addr().String()+" in use") {
		t.Fatalf("busy port: got %v", err)
	}
	l.Close()
	if err := waitPortsFree(context.Background(), []string{l.Addr().String()}, time.Second); err != nil {
		t.Fatalf("free port: %v", err)
	}
}

func TestTakeLockExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ports.lock")
	noNote := func(string, ...any) {}
	unlock, err := takeLock(context.Background(), path, time.Second, noNote)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := takeLock(context.Background(), path, 100*time.Millisecond, noNote); err == nil || !strings.Contains(err.Error(), "still held") {
		t.Fatalf("second lock while held: got %v", err)
	}
	unlock()
	unlock2, err := takeLock(context.Background(), path, time.Second, noNote)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	unlock2()
}
