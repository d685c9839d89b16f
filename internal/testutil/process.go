package testutil

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles the main package pkg (an import path) into a temporary
// directory and returns the binary's path.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), path.Base(pkg))
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		tb.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// Buffer is an io.Writer safe for concurrent use whose contents can be
// read while it is written.
type Buffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Proc is a program running as a child process.
type Proc struct {
	cmd    *exec.Cmd
	Stdout Buffer
	Stderr Buffer
	done   chan struct{}
	err    error // valid once done is closed
}

// StartProc runs bin with args (stdin may be nil). The process is killed at
// test cleanup if it is still running, and its output is logged then if
// the test failed.
func StartProc(tb testing.TB, bin string, stdin io.Reader, args ...string) *Proc {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = stdin
	return StartCmd(tb, cmd)
}

// StartCmd runs cmd (not yet started; its Stdout and Stderr are set here)
// as StartProc does: for a command prepared elsewhere, such as
// netlab.Lab.Command's.
func StartCmd(tb testing.TB, cmd *exec.Cmd) *Proc {
	tb.Helper()
	p := &Proc{cmd: cmd, done: make(chan struct{})}
	bin, args := cmd.Path, cmd.Args[1:]
	p.cmd.Stdout = &p.Stdout
	p.cmd.Stderr = &p.Stderr
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start %s %v: %v", bin, args, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill() // SIGKILL ends a stopped (SIGSTOP) process too
			<-p.done
		}
		if tb.Failed() {
			tb.Logf("%s %v:\n%s", filepath.Base(bin), args, p.Output())
		}
	})
	return p
}

// Kill sends SIGKILL and waits until the process is gone, whatever its
// exit status; it does nothing if the process has already exited.
func (p *Proc) Kill(tb testing.TB) {
	tb.Helper()
	if p.Exited() {
		return
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		tb.Fatalf("kill: %v", err)
	}
	<-p.done
}

// Signal sends sig to the process.
func (p *Proc) Signal(tb testing.TB, sig syscall.Signal) {
	tb.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		tb.Fatalf("signal %v: %v", sig, err)
	}
}

// Wait waits up to timeout for the process to exit and returns its exit
// status; it fails the test on timeout or when the process died by a
// signal.
func (p *Proc) Wait(tb testing.TB, timeout time.Duration) int {
	tb.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		tb.Fatalf("process did not exit within %s\nstderr:\n%s", timeout, p.Stderr.String())
	}
	var exit *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode()
	}
	tb.Fatalf("process ended abnormally: %v\nstderr:\n%s", p.err, p.Stderr.String())
	return -1
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Pid returns the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }
