package clientapp

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"regexp"
	"testing"
)

// testFlags is a minimal app command line: --version and --bad.
type testFlags struct {
	version, bad bool
	validated    bool
}

func (f *testFlags) ShowVersion() bool { return f.version }

func (f *testFlags) Validate() error {
	f.validated = true
	if f.bad {
		return errors.New("--bad is bad")
	}
	return nil
}

func parseTestFlags(argv []string, stderr io.Writer) (*testFlags, error) {
	f := &testFlags{}
	fs := flag.NewFlagSet(argv[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&f.version, "version", false, "print version string")
	fs.BoolVar(&f.bad, "bad", false, "fail validation")
	if err := ParseFlags(fs, argv[1:]); err != nil {
		return nil, err
	}
	return f, nil
}

func TestSetup(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantOK     bool
		wantCode   int
		wantStdout string
		wantStderr string // regexp
	}{
		{"valid", nil, true, 0, "", `^$`},
		{"help", []string{"-h"}, false, 0, "", `Usage of app:`},
		{"bad flag", []string{"--nope"}, false, 2, "", `flag provided but not defined: -nope`},
		{"version", []string{"--version"}, false, 0, "app v1.3.0\n", `^$`},
		{"version wins over validation", []string{"--version", "--bad"}, false, 0, "app v1.3.0\n", `^$`},
		{"invalid", []string{"--bad"}, false, 1, "", `^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d --bad is bad\n$`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			f, logger, code, ok := Setup("app", append([]string{"app"}, tc.args...), &stdout, &stderr, parseTestFlags)
			if ok != tc.wantOK || code != tc.wantCode {
				t.Fatalf("ok %v code %d, want ok %v code %d (stderr %q)", ok, code, tc.wantOK, tc.wantCode, stderr.String())
			}
			if stdout.String() != tc.wantStdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.wantStdout)
			}
			if !regexp.MustCompile(tc.wantStderr).MatchString(stderr.String()) {
				t.Errorf("stderr %q, want match for %q", stderr.String(), tc.wantStderr)
			}
			if ok {
				if !f.validated || logger == nil {
					t.Fatalf("validated %v, logger %v", f.validated, logger)
				}
				logger.Print("hello")
				if !regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d hello\n$`).MatchString(stderr.String()) {
					t.Errorf("logger wrote %q to stderr", stderr.String())
				}
			}
		})
	}
}
