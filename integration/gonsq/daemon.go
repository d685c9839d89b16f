package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// daemon is an nsqd or nsqlookupd started by the suite, logging to a file.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid once done is closed
}

// startDaemon starts bin with args in dir, output to logPath.
func startDaemon(bin, dir, logPath string, args ...string) (*daemon, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the child has its own copy
	d := &daemon{name: filepath.Base(bin), cmd: exec.Command(bin, args...), log: logPath, done: make(chan struct{})}
	d.cmd.Dir = dir
	d.cmd.Stdout, d.cmd.Stderr = f, f
	d.cmd.SysProcAttr = childAttr()
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	return d, nil
}

// waitPing polls url until it answers 200, d exits, or timeout passes.
func (d *daemon) waitPing(ctx context.Context, url string, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if d.exited() {
			return fmt.Errorf("%s exited at start (%v); its log:\n%s", d.name, d.exitErr(), strings.Join(d.logTail(20), "\n"))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer %s within %s; its log:\n%s", d.name, url, timeout, strings.Join(d.logTail(20), "\n"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// exitErr describes how the exited process ended.
func (d *daemon) exitErr() error {
	if d.err == nil {
		return errors.New("exit status 0")
	}
	return d.err
}

// stop sends SIGTERM and waits up to timeout for the exit, then kills. It
// returns an error unless the daemon exited with status 0 in time.
func (d *daemon) stop(timeout time.Duration) error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !d.exited() {
		return err
	}
	select {
	case <-d.done:
		return d.err
	case <-time.After(timeout):
		d.cmd.Process.Kill()
		<-d.done
		return fmt.Errorf("still running %s after SIGTERM; killed", timeout)
	}
}

// logTail returns the last n lines of the daemon's log.
func (d *daemon) logTail(n int) []string {
	b, err := os.ReadFile(d.log)
	if err != nil {
		return []string{err.Error()}
	}
	return tail(lines(string(b)), n)
}

// takeLock waits up to wait for an exclusive flock on path, the lock every
// user of the fixed ports takes, and returns its release.
func takeLock(ctx context.Context, path string, wait time.Duration, note func(string, ...any)) (func(), error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open the fixed-ports lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	for first := true; ; first = false {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing the file releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%s is still held after %s: another run of the go-nsq suite is using the fixed ports", path, wait)
		}
		if first {
			note("waiting for %s: another run is using the fixed ports", path)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// waitPortsFree waits up to wait until every address in addrs can be
// listened on, and otherwise says which cannot.
func waitPortsFree(ctx context.Context, addrs []string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		var busy []string
		for _, addr := range addrs {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				busy = append(busy, addr)
				continue
			}
			l.Close()
		}
		if len(busy) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s in use: go-nsq's suite needs nsqd on 127.0.0.1:4150, 4151 and 4152 and "+
				"nsqlookupd on 127.0.0.1:4160 and 4161 (it hard-codes them); stop what listens there "+
				"(a `make run` cluster? `ss -ltnp` names it) and run again", strings.Join(busy, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
