package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// suite is one run of the go-nsq test suite: the copy it builds, the
// daemons it starts and the report it writes. Used by one goroutine.
type suite struct {
	opts options
	rep  *report
	work string // temporary directory: suite copy, test binary, data, logs

	daemonsRan bool // daemons were started: their logs are worth keeping
}

func (s *suite) run(ctx context.Context) {
	work, err := os.MkdirTemp("", "gonsq-suite-")
	if err != nil {
		s.rep.fail("setup: create a work directory", []string{err.Error()})
		return
	}
	s.work = work
	defer s.cleanup()

	src, version, err := s.download(ctx)
	if err != nil {
		s.rep.fail("setup: get go-nsq's test suite", lines(err.Error()))
		return
	}
	bin, tests, err := s.compile(ctx, src)
	if err != nil {
		s.rep.fail("setup: build go-nsq's test suite", lines(err.Error()))
		return
	}
	s.rep.note("go-nsq %s: %d tests against %s/nsqd and nsqlookupd", version, len(tests), s.opts.binDir)

	unlock, err := takeLock(ctx, lockPath(), s.opts.lockWait, s.rep.note)
	if err != nil {
		s.rep.fail("setup: fixed ports", lines(err.Error()))
		return
	}
	defer unlock()
	if err := waitPortsFree(ctx, fixedPorts, 5*time.Second); err != nil {
		s.rep.fail("setup: fixed ports", lines(err.Error()))
		return
	}

	s.daemonsRan = true
	daemons, err := s.startDaemons(ctx, src)
	if err != nil {
		s.rep.fail("setup: start the daemons", lines(err.Error()))
		for i := len(daemons) - 1; i >= 0; i-- {
			daemons[i].stop(15 * time.Second)
		}
		return
	}
	s.runTests(ctx, bin, src, tests)
	for i := len(daemons) - 1; i >= 0; i-- {
		s.stopDaemon(daemons[i])
	}
}

// download finds go-nsq in the module cache (fetching it if needed) and
// copies it into the work directory; it returns the copy and its version.
func (s *suite) download(ctx context.Context) (dir, version string, err error) {
	mod := "github.com/nsqio/go-nsq"
	if s.opts.version != "" {
		mod += "@" + s.opts.version
	}
	out, err := s.goCommand(ctx, "", "mod", "download", "-json", mod)
	var info struct{ Version, Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr != nil || info.Error != "" || info.Dir == "" {
		return "", "", fmt.Errorf("go mod download %s: %v %s\n%s", mod, err, info.Error, out)
	}
	dir = filepath.Join(s.work, "go-nsq")
	if err := os.CopyFS(dir, os.DirFS(info.Dir)); err != nil {
		return "", "", fmt.Errorf("copy %s: %w", info.Dir, err)
	}
	return dir, info.Version, nil
}

// compile builds the suite's test binary and lists the tests it holds, so
// that the daemons run only while tests do.
func (s *suite) compile(ctx context.Context, src string) (bin string, tests []string, err error) {
	bin = filepath.Join(s.work, "gonsq.test")
	if out, err := s.goCommand(ctx, src, "test", "-c", "-o", bin, "."); err != nil {
		return "", nil, fmt.Errorf("go test -c: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin, "-test.list", ".")
	cmd.Dir = src
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", nil, fmt.Errorf("%s -test.list: %v\n%s", bin, err, out)
	}
	for _, name := range strings.Fields(string(out)) {
		if strings.HasPrefix(name, "Test") || strings.HasPrefix(name, "Example") {
			tests = append(tests, name)
		}
	}
	if len(tests) == 0 {
		return "", nil, fmt.Errorf("%s -test.list found no tests:\n%s", bin, out)
	}
	return bin, tests, nil
}

// goCommand runs the go command in dir (the current directory when "")
// outside any workspace, and returns its standard output, or all of its
// output when it fails.
func (s *suite) goCommand(ctx context.Context, dir string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.opts.goCmd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return append(out, stderr.Bytes()...), err
	}
	return out, nil
}

// startDaemons starts nsqlookupd and then nsqd as the suite's test.sh
// does, but on 127.0.0.1 only, and waits until both answer /ping. It
// returns the daemons it started, also on error.
func (s *suite) startDaemons(ctx context.Context, src string) ([]*daemon, error) {
	var started []*daemon
	lookupd, err := startDaemon(s.bin("nsqlookupd"), s.work, s.logPath("nsqlookupd"),
		"--tcp-address="+lookupdTCP, "--http-address="+lookupdHTTP, "--broadcast-address=127.0.0.1")
	if err != nil {
		return started, err
	}
	started = append(started, lookupd)
	if err := lookupd.waitPing(ctx, "http://"+lookupdHTTP+"/ping", 30*time.Second); err != nil {
		return started, err
	}
	data := filepath.Join(s.work, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		return started, err
	}
	// the TLS paths are relative to the suite's directory, as in test.sh
	nsqd, err := startDaemon(s.bin("nsqd"), src, s.logPath("nsqd"),
		"--data-path="+data, "--tcp-address="+nsqdTCP, "--http-address="+nsqdHTTP,
		"--https-address="+nsqdHTTPS, "--broadcast-address=127.0.0.1",
		"--lookupd-tcp-address="+lookupdTCP, "--tls-cert=./test/server.pem",
		"--tls-key=./test/server.key", "--tls-root-ca-file=./test/ca.pem")
	if err != nil {
		return started, err
	}
	started = append(started, nsqd)
	return started, nsqd.waitPing(ctx, "http://"+nsqdHTTP+"/ping", 30*time.Second)
}

// stopDaemon stops d and reports it as a failure when it had already died
// or does not exit cleanly on SIGTERM.
func (s *suite) stopDaemon(d *daemon) {
	if d.exited() {
		s.rep.fail(d.name+" exited while the suite ran: "+d.exitErr().Error(), d.logTail(20))
		return
	}
	if err := d.stop(15 * time.Second); err != nil {
		s.rep.fail(d.name+" did not exit cleanly on SIGTERM: "+err.Error(), d.logTail(20))
	}
}

// runTests runs the compiled suite and reports each test as it ends.
func (s *suite) runTests(ctx context.Context, bin, src string, tests []string) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.testTimeout+time.Minute)
	defer cancel()
	full, err := os.Create(filepath.Join(s.work, "gonsq-test.txt"))
	if err != nil {
		s.rep.fail("setup: create the output file", []string{err.Error()})
		return
	}
	defer full.Close()
	r, w, err := os.Pipe()
	if err != nil {
		s.rep.fail("setup: pipe", []string{err.Error()})
		return
	}
	defer r.Close()
	cmd := exec.CommandContext(ctx, bin, "-test.v", "-test.timeout="+s.opts.testTimeout.String())
	cmd.Dir = src
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = childAttr()
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		w.Close()
		s.rep.fail("setup: start the suite", []string{err.Error()})
		return
	}
	w.Close()

	p := newParser(s.rep)
	var echo io.Writer = io.Discard
	if s.opts.verbose {
		echo = os.Stdout
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(full, line)
		fmt.Fprintln(echo, line)
		p.line(line)
	}
	err = cmd.Wait()
	why := "the suite ended"
	switch {
	case ctx.Err() != nil:
		why = "killed after " + (s.opts.testTimeout + time.Minute).String()
	case err != nil:
		why = "the suite ended with " + err.Error()
	}
	p.finish(tests, why)
	if err != nil && s.rep.failed == 0 {
		s.rep.fail("go-nsq's test binary: "+err.Error(), tail(p.unattributed, 20))
	}
}

func (s *suite) bin(name string) string { return filepath.Join(s.opts.binDir, name) }

func (s *suite) logPath(name string) string { return filepath.Join(s.work, name+".log") }

// cleanup removes the work directory, or keeps it and says where when the
// run failed or -keep asked for it.
func (s *suite) cleanup() {
	if s.opts.keep || (s.rep.failed > 0 && s.daemonsRan) {
		s.rep.note("daemon logs and the suite's full output: %s", s.work)
		return
	}
	if err := os.RemoveAll(s.work); err != nil {
		s.rep.note("could not remove %s: %v", s.work, err)
	}
}

func lockPath() string { return filepath.Join(os.TempDir(), "nsq-conformance-fixed-ports.lock") }

func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }
