package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// SkipLogEnv names the file that Skip appends a line to for every skipped
// test, so that `make test` can list what did not run and why at its end.
// Each line is "package<TAB>test<TAB>reason"; the file is shared by the
// parallel test binaries of one run, and each line is a single append.
const SkipLogEnv = "NSQ_SKIP_LOG"

// Skip records the skip in $NSQ_SKIP_LOG (when set) and skips tb with
// reason. Tests skip through it, not tb.Skip, so no skip goes unreported.
func Skip(tb testing.TB, reason string) {
	tb.Helper()
	if path := os.Getenv(SkipLogEnv); path != "" {
		line := fmt.Sprintf("%s\t%s\t%s\n", packageDir(), tb.Name(), strings.ReplaceAll(reason, "\n", " "))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			tb.Fatalf("%s: %v", SkipLogEnv, err)
		}
		_, err = f.WriteString(line)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			tb.Fatalf("%s: %v", SkipLogEnv, err)
		}
	}
	tb.Skip(reason)
}

// Missing is for a test that needs something a machine may lack (a
// browser, node); call it once the thing is found missing. When the
// environment variable env is true ("1" or "true", as strconv.ParseBool
// reads it; CI sets it) the test fails, otherwise it is skipped through
// Skip. Both messages say what is missing and how to install it; a value of
// env that is not a boolean fails the test too.
func Missing(tb testing.TB, env, what, install string) {
	tb.Helper()
	required, err := Required(env)
	if err != nil {
		tb.Fatal(err)
	}
	if required {
		tb.Fatalf("%s, and %s=%s makes that a failure: %s", what, env, os.Getenv(env), install)
	}
	Skip(tb, fmt.Sprintf("%s (%s); set %s=1 to make this a failure", what, install, env))
}

// Required reads the boolean environment variable env: unset or empty is
// false, otherwise it must be one of strconv.ParseBool's spellings
// ("1", "true", "0", "false", ...).
func Required(env string) (bool, error) {
	v := os.Getenv(env)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want 1 or true (or 0, false, unset)", env, v)
	}
	return b, nil
}

// packageDir is the test's package directory relative to the module root
// (go test runs a test binary in its package's directory), or the
// directory's base name when no go.mod is found above it.
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "?"
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, wd)
			if err != nil || rel == "." {
				return filepath.Base(wd)
			}
			return filepath.ToSlash(rel)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return filepath.Base(wd)
		}
		dir = parent
	}
}
