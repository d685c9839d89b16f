package daemonapp

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/lg"
)

type opts struct {
	Size   int64         `flag:"size"`
	Wait   time.Duration `flag:"wait"`
	Prefix string        `flag:"log-prefix"`
}

type fakeDaemon struct {
	exited  chan struct{}
	mainErr error
}

func (d *fakeDaemon) Main() error {
	if d.mainErr != nil {
		return d.mainErr
	}
	<-d.exited
	return nil
}

func (d *fakeDaemon) Exit() {
	select {
	case <-d.exited:
	default:
		close(d.exited)
	}
}

func app(o *opts, startErr, mainErr error) App {
	fs := flag.NewFlagSet("fake", flag.ContinueOnError)
	fs.Bool("version", false, "")
	fs.String("config", "", "")
	fs.Int64("size", o.Size, "")
	fs.Duration("wait", o.Wait, "")
	fs.String("log-prefix", o.Prefix, "")
	return App{
		Name:      "fake",
		FlagSet:   fs,
		Options:   o,
		LogPrefix: func() string { return o.Prefix },
		Start: func(lg.Logger) (Daemon, error) {
			if startErr != nil {
				return nil, startErr
			}
			return &fakeDaemon{exited: make(chan struct{}), mainErr: mainErr}, nil
		},
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "c.toml")
	os.WriteFile(conf, []byte("size = 5\nwait = \"2s\"\n"), 0o600)
	cases := []struct {
		name     string
		args     []string
		startErr error
		mainErr  error
		code     int
		stdout   string
		stderr   string
	}{
		{"help", []string{"-h"}, nil, nil, 0, "", "Usage of fake:"},
		{"version", []string{"--version"}, nil, nil, 0, "fake v1.3.0 (built w/", ""},
		{"bad value", []string{"--size=big"}, nil, nil, 1, "", `[fake] `},
		{"bad value names flag", []string{"--size=big"}, nil, nil, 1, "", "-size"},
		{"unknown flag", []string{"--nope"}, nil, nil, 1, "", "FATAL: flag provided but not defined: -nope"},
		{"positional", []string{"extra"}, nil, nil, 1, "", `unexpected argument "extra"`},
		{"missing config", []string{"--config=" + filepath.Join(dir, "none")}, nil, nil, 1, "", "failed to load config file"},
		{"start fails", nil, errors.New("boom"), nil, 1, "", "FATAL: failed to instantiate fake - boom"},
		{"main fails", []string{"--config=" + conf}, nil, errors.New("listener died"), 1, "", "FATAL: listener died"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := &opts{Size: 1, Prefix: "[fake] "}
			var out, errOut bytes.Buffer
			code := app(o, tc.startErr, tc.mainErr).Run(tc.args, &out, &errOut, make(chan os.Signal))
			if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errOut.String(), tc.stderr) {
				t.Fatalf("exit %d stdout %q stderr %q; want %d, %q, %q", code, out.String(), errOut.String(), tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}

func TestRunUntilSignalWithPrecedence(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "c.toml")
	os.WriteFile(conf, []byte("size = 5\nwait = 1500\n"), 0o600)
	o := &opts{Size: 1, Prefix: "[fake] "}
	sig := make(chan os.Signal, 1)
	done := make(chan int)
	go func() {
		done <- app(o, nil, nil).Run([]string{"--config=" + conf, "--size=9"}, &bytes.Buffer{}, &bytes.Buffer{}, sig)
	}()
	sig <- syscall.SIGTERM
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	if o.Size != 9 || o.Wait != 1500*time.Millisecond {
		t.Fatalf("flag > config > default not applied: %+v", o)
	}
}

// countingDaemon records how often Exit was called.
type countingDaemon struct {
	fakeDaemon
	exits int
}

func (d *countingDaemon) Exit() {
	d.exits++
	d.fakeDaemon.Exit()
}

func TestServe(t *testing.T) {
	t.Run("signal", func(t *testing.T) {
		d := &countingDaemon{fakeDaemon: fakeDaemon{exited: make(chan struct{})}}
		sig := make(chan os.Signal, 1)
		sig <- syscall.SIGINT
		if err := Serve(d, sig); err != nil || d.exits != 1 {
			t.Fatalf("Serve = %v after %d Exits", err, d.exits)
		}
	})
	t.Run("main fails", func(t *testing.T) {
		boom := errors.New("boom")
		d := &countingDaemon{fakeDaemon: fakeDaemon{exited: make(chan struct{}), mainErr: boom}}
		if err := Serve(d, make(chan os.Signal)); !errors.Is(err, boom) || d.exits != 1 {
			t.Fatalf("Serve = %v after %d Exits; want boom after 1", err, d.exits)
		}
	})
}

func TestConfigure(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(conf, []byte("size = 5\nwait = \"2s\"\nextra = [\"a\", \"b\"]\n"), 0o600)
	o := &opts{Size: 1}
	fs := app(o, nil, nil).FlagSet
	if err := fs.Parse([]string{"--config", conf, "--wait", "3s"}); err != nil {
		t.Fatal(err)
	}
	file, err := Configure(fs, o)
	if err != nil || o.Size != 5 || o.Wait != 3*time.Second {
		t.Fatalf("Configure: %v, options %+v", err, o)
	}
	if extra, ok := file["extra"].([]any); !ok || len(extra) != 2 {
		t.Errorf("file keys %v lack extra", file)
	}
	fs = app(o, nil, nil).FlagSet
	fs.Parse([]string{"--config", conf + ".missing"})
	if _, err := Configure(fs, o); err == nil || !strings.Contains(err.Error(), "failed to load config file") {
		t.Errorf("missing file: %v", err)
	}
}
