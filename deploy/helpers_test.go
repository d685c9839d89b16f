package deploy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// repoRoot is the module root, one level up from this package.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// programs lists the binaries the project ships: one per directory under
// apps/.
func programs(tb testing.TB) []string {
	tb.Helper()
	entries, err := os.ReadDir(filepath.Join(repoRoot(tb), "apps"))
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) < 9 {
		tb.Fatalf("only %d programs under apps/: %v", len(names), names)
	}
	return names
}

// noVersionFlag are the programs that, like their NSQ counterparts, have
// no --version.
var noVersionFlag = map[string]bool{"to_nsq": true}

// command runs name with args in dir (the repository root when empty) with
// extra environment, and returns its stdout; it fails the test when the
// command fails or takes longer than timeout.
func command(tb testing.TB, timeout time.Duration, dir string, env []string, name string, args ...string) string {
	tb.Helper()
	out, errOut, err := tryCommand(timeout, dir, env, name, args...)
	if err != nil {
		tb.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// tryCommand is command without failing the test.
func tryCommand(timeout time.Duration, dir string, env []string, name string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// checkVersions runs every program in dir with --version and checks that
// it reports version want: "<name> v<want>" for the apps, followed by
// " (built w/go...)" for the daemons.
func checkVersions(t *testing.T, dir, want string) {
	t.Helper()
	for _, name := range programs(t) {
		bin := filepath.Join(dir, name)
		if _, err := os.Stat(bin); err != nil {
			t.Errorf("%s missing: %v", name, err)
			continue
		}
		if noVersionFlag[name] {
			continue
		}
		out := command(t, time.Minute, t.TempDir(), nil, bin, "--version")
		line, _, _ := strings.Cut(out, "\n")
		prefix := name + " v" + want
		if rest, ok := strings.CutPrefix(line, prefix); !ok || (rest != "" && !strings.HasPrefix(rest, " (built w/go")) {
			t.Errorf("%s --version printed %q, want %q[ (built w/go...)]", name, line, prefix)
		}
	}
}
