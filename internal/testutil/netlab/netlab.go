package netlab

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Lab is one test network; see the package comment.
type Lab struct {
	t      testing.TB
	prefix string
	sw     string
	ns     map[uint64]string
}

// Prefix starts the name of every namespace a Lab creates.
const Prefix = "nsqreplt-"

// Unavailable returns why a Lab cannot run here (not root, no ip command,
// namespaces refused), or "" when it can.
func Unavailable() string {
	if os.Geteuid() != 0 {
		return "network namespaces need root (the test runs as uid " + strconv.Itoa(os.Geteuid()) + ")"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "the ip command (iproute2) is not installed"
	}
	// uid 0 without the capability (a container): probe once.
	probe := fmt.Sprintf("%s%d-probe", Prefix, os.Getpid())
	if err := ipCmd("netns", "add", probe); err != nil {
		return "cannot create a network namespace: " + err.Error()
	}
	_ = ipCmd("netns", "del", probe)
	return ""
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// cleanStaleNamespaces deletes lab namespaces whose creating process no
// longer exists.
func cleanStaleNamespaces(t testing.TB) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], Prefix) {
			continue
		}
		rest := strings.TrimPrefix(f[0], Prefix)
		pid, err := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, '-'))])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue // its test still runs
		}
		t.Logf("deleting stale namespace %s", f[0])
		_ = ipCmd("netns", "del", f[0])
	}
}

// New creates the namespaces and links of members ids (each below 255)
// and deletes them at t's cleanup. Call Unavailable first.
func New(t testing.TB, ids ...uint64) *Lab {
	t.Helper()
	cleanStaleNamespaces(t)
	l := &Lab{t: t, prefix: fmt.Sprintf("%s%d-", Prefix, os.Getpid()), ns: map[uint64]string{}}
	l.sw = l.prefix + "sw"
	t.Cleanup(l.close)
	must := func(args ...string) {
		t.Helper()
		if err := ipCmd(args...); err != nil {
			t.Fatal(err)
		}
	}
	must("netns", "add", l.sw)
	must("-n", l.sw, "link", "set", "lo", "up")
	must("-n", l.sw, "link", "add", "br0", "type", "bridge")
	must("-n", l.sw, "link", "set", "br0", "up")
	for _, id := range ids {
		ns := fmt.Sprintf("%sn%d", l.prefix, id)
		must("netns", "add", ns)
		l.ns[id] = ns
		must("-n", ns, "link", "set", "lo", "up")
		port := fmt.Sprintf("p%d", id)
		must("-n", l.sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
		must("-n", l.sw, "link", "set", port, "master", "br0")
		must("-n", l.sw, "link", "set", port, "up")
		must("-n", ns, "addr", "add", l.Addr(id)+"/24", "dev", "eth0")
		must("-n", ns, "link", "set", "eth0", "up")
	}
	return l
}

// Addr is member id's address inside its namespace (no port).
func (l *Lab) Addr(id uint64) string { return fmt.Sprintf("10.251.0.%d", id) }

// Cut takes member id's link to the switch down (both ends lose carrier).
func (l *Lab) Cut(id uint64) {
	if err := ipCmd("-n", l.sw, "link", "set", fmt.Sprintf("p%d", id), "down"); err != nil {
		l.t.Error(err)
	}
}

// Heal brings member id's link back up.
func (l *Lab) Heal(id uint64) {
	if err := ipCmd("-n", l.sw, "link", "set", fmt.Sprintf("p%d", id), "up"); err != nil {
		l.t.Error(err)
	}
}

// Command returns a command running bin with args inside member id's
// namespace (through ip netns exec; extra files and the environment pass
// through).
func (l *Lab) Command(id uint64, bin string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", l.ns[id], bin}, args...)...)
}

// Namespace is member id's namespace name.
func (l *Lab) Namespace(id uint64) string { return l.ns[id] }

func (l *Lab) close() {
	for _, ns := range l.ns {
		if err := ipCmd("netns", "del", ns); err != nil {
			l.t.Log(err)
		}
	}
	if err := ipCmd("netns", "del", l.sw); err != nil {
		l.t.Log(err)
	}
}
