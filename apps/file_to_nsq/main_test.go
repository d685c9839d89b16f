package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd/nsqdtest"
	"github.com/dropin/nsq/nsqlog/nsqlogtest"
)

const binPkg = "github.com/dropin/nsq/apps/file_to_nsq"

// exitWithin bounds how long a test waits for file_to_nsq to exit.
const exitWithin = 30 * time.Second

func TestFlags(t *testing.T) {
	bin := testutil.Build(t, binPkg)
	dir := t.TempDir()
	base := []string{"--path", filepath.Join(dir, "*.log"), "--topic", "t", "--nsqd-tcp-address", "127.0.0.1:1", "--registry-file", filepath.Join(dir, "reg.json")}
	tests := []struct {
		name    string
		args    []string
		code    int
		stderr  string
		stdout  string
		noUsage bool
	}{
		{name: "version", args: []string{"--version"}, code: 0, stdout: "file_to_nsq v1.3.0\n", noUsage: true},
		{name: "help", args: []string{"-h"}, code: 0, stderr: "Usage of file_to_nsq:"},
		{name: "nothing", args: nil, code: 1, stderr: "--path is required"},
		{name: "no topic", args: []string{"--path", "/x"}, code: 1, stderr: "--topic is required"},
		{name: "no nsqd", args: []string{"--path", "/x", "--topic", "t"}, code: 1, stderr: "--nsqd-tcp-address is required"},
		{name: "no registry", args: []string{"--path", "/x", "--topic", "t", "--nsqd-tcp-address", "a:1"}, code: 1, stderr: "--registry-file is required"},
		{name: "multiline flag without pattern", args: append(base, "--multiline-negate"), code: 1, stderr: "--multiline-negate needs --multiline-pattern"},
		{name: "close-removed off, clean-removed on", args: append(base, "--close-removed=false"), code: 1, stderr: "--clean-removed=false"},
		{name: "bad topic", args: append(base, "--topic", "bad topic"), code: 1, stderr: "not a valid topic name"},
		{name: "positional", args: append(base, "extra"), code: 1, stderr: "unknown arguments: [extra]"},
		{name: "unknown flag", args: append(base, "--nope"), code: 2, stderr: "flag provided but not defined: -nope"},
		{name: "bad duration", args: append(base, "--scan-frequency", "10"), code: 2, stderr: `invalid value "10" for flag -scan-frequency`},
		{name: "bad max-line-action", args: append(base, "--max-line-action", "fold"), code: 2, stderr: "invalid max line action"},
		{name: "bad producer opt", args: append(base, "--producer-opt", "tls_config,x"), code: 2, stderr: "tls_config cannot be set"},
		{name: "missing config file", args: append(base, "--config", filepath.Join(dir, "none.toml")), code: 1, stderr: "failed to load config file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
			if tc.stdout != "" && stdout.String() != tc.stdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.stdout)
			}
			if hasUsage := strings.Contains(stderr.String(), "Usage of file_to_nsq:"); tc.code != 0 && !hasUsage {
				t.Errorf("no usage message on error")
			} else if tc.noUsage && hasUsage {
				t.Errorf("usage printed")
			}
		})
	}
}

func TestConfigFile(t *testing.T) {
	bin := testutil.Build(t, binPkg)
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	dir := t.TempDir()
	topic := nsqlogtest.Topic("config")
	cons := nsqlogtest.Consume(t, nsqdAddr, topic)
	conf := filepath.Join(dir, "file_to_nsq.toml")
	content := fmt.Sprintf("path = [%q]\nnsqd_tcp_address = [%q]\ntopic = %q\nregistry_file = %q\nscan_frequency = \"50ms\"\nmax_backoff = \"20ms\"\nbackoff = \"5ms\"\nmultiline_pattern = \"^ \"\nmultiline_timeout = \"50ms\"\nstats_interval = \"50ms\"\n",
		filepath.Join(dir, "*.log"), nsqdAddr, topic, filepath.Join(dir, "reg.json"))
	if err := os.WriteFile(conf, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.log"), []byte("one\n two\nthree\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := testutil.StartProc(t, bin, nil, "--config", conf)
	cons.WaitAll(t, []string{"one\n two", "three"}, 30*time.Second)
	testutil.Eventually(t, 30*time.Second, func() bool {
		return strings.Contains(p.Stderr.String(), "STATS: harvester_open_files=1 harvesters_started=1 events_pending=0 events_acked=2")
	}, "no periodic stats line with the counters")
	p.Signal(t, syscall.SIGTERM)
	if code := p.Wait(t, exitWithin); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
}

// TestKill9Restart kills the harvester with SIGKILL several times while a
// writer appends lines, restarting it each time: every line must arrive,
// and with --registry-flush=0 the duplicates are at most the batch in
// flight at each kill.
func TestKill9Restart(t *testing.T) {
	bin := testutil.Build(t, binPkg)
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	dir := t.TempDir()
	topic := nsqlogtest.Topic("kill")
	cons := nsqlogtest.Consume(t, nsqdAddr, topic)
	logPath := filepath.Join(dir, "app.log")
	const (
		batchSize = 50
		kills     = 3
		chunks    = 40
		perChunk  = 250
	)
	args := []string{
		"--path", filepath.Join(dir, "*.log"), "--topic", topic, "--nsqd-tcp-address", nsqdAddr,
		"--registry-file", filepath.Join(dir, "data", "registry.json"),
		"--registry-flush", "0", "--batch-size", fmt.Sprint(batchSize), "--batch-timeout", "5ms",
		"--queue-max-events", "200", "--scan-frequency", "50ms", "--backoff", "5ms", "--max-backoff", "20ms",
		"--log-level", "warn",
	}

	// The writer appends a chunk each time it is told to, so the kills
	// land while lines are being written and read.
	var want []string
	write := func(chunk int) {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var b strings.Builder
		for i := 0; i < perChunk; i++ {
			l := fmt.Sprintf("line-%03d-%04d", chunk, i)
			want = append(want, l)
			b.WriteString(l + "\n")
		}
		if _, err := f.WriteString(b.String()); err != nil {
			t.Fatal(err)
		}
	}

	chunk := 0
	for k := 0; k <= kills; k++ {
		p := testutil.StartProc(t, bin, nil, args...)
		// Write until roughly half of what was written so far has
		// arrived in this run, then kill mid-stream.
		target := cons.Total() + perChunk*3
		for chunk < chunks && cons.Total() < target {
			write(chunk)
			chunk++
			testutil.Poll(200*time.Millisecond, func() bool { return cons.Total() >= target })
		}
		if k == kills {
			for chunk < chunks {
				write(chunk)
				chunk++
			}
			cons.WaitAll(t, want, 60*time.Second)
			p.Signal(t, syscall.SIGTERM)
			if code := p.Wait(t, exitWithin); code != 0 {
				t.Errorf("exit code %d after SIGTERM", code)
			}
			break
		}
		p.Kill(t)
		t.Logf("kill %d after %d chunks, %d messages received", k+1, chunk, cons.Total())
	}
	cons.WaitAll(t, want, 60*time.Second)
	if u := cons.Unexpected(want); len(u) != 0 {
		t.Errorf("unexpected messages %q", u)
	}
	dups := cons.Duplicates()
	t.Logf("%d lines, %d messages, %d duplicates over %d kills", len(want), cons.Total(), dups, kills)
	if dups > kills*batchSize {
		t.Errorf("%d duplicates, more than %d kills x batch size %d in flight", dups, kills, batchSize)
	}
}

// TestCorruptRegistry starts with a registry full of junk: the harvester
// says so and starts every file from its beginning.
func TestCorruptRegistry(t *testing.T) {
	bin := testutil.Build(t, binPkg)
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	dir := t.TempDir()
	topic := nsqlogtest.Topic("corrupt")
	cons := nsqlogtest.Consume(t, nsqdAddr, topic)
	reg := filepath.Join(dir, "registry.json")
	if err := os.WriteFile(reg, []byte("\x00\x00\x00{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.log"), []byte("x1\nx2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := testutil.StartProc(t, bin, nil, "--path", filepath.Join(dir, "*.log"), "--topic", topic, "--nsqd-tcp-address", nsqdAddr,
		"--registry-file", reg, "--scan-frequency", "50ms", "--backoff", "5ms", "--max-backoff", "20ms")
	cons.WaitAll(t, []string{"x1", "x2"}, 30*time.Second)
	p.Signal(t, syscall.SIGTERM)
	if code := p.Wait(t, exitWithin); code != 0 {
		t.Errorf("exit code %d", code)
	}
	if !strings.Contains(p.Stderr.String(), "no usable registry; every file starts from the configured position") {
		t.Errorf("corrupt registry not reported:\n%s", p.Stderr.String())
	}
	if _, err := os.Stat(reg + ".corrupt"); err != nil {
		t.Errorf("corrupt registry not kept aside: %s", err)
	}
}
