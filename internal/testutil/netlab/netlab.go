package netlab

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Lab is one test network; see the package comment.
type Lab struct {
	t      testing.TB
	prefix string
	sw     string
	ns     map[uint64]string
	nets   [][]uint64 // members of each network; network 0 holds every member
	owner  bool       // this process created the namespaces (New) and deletes them
}

// Prefix starts the name of every namespace a Lab creates.
const Prefix = "nsqreplt-"

// Env is the environment variable through which Reexec hands a Lab to the
// test process it starts inside one of the namespaces (see Inside).
const Env = "NSQ_NETLAB"

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
		return "cannot create a network namespace (ip netns add): " + err.Error()
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

// killInside SIGKILLs every process of namespace ns (a daemon left by a
// test that died, or one whose test is ending).
func killInside(ns string) {
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// cleanStaleNamespaces deletes lab namespaces whose creating process no
// longer exists, killing what still runs in them first.
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
		killInside(f[0])
		_ = ipCmd("netns", "del", f[0])
	}
}

// New creates the namespaces of members ids (each below 255) and network 0
// linking them all (eth0, 10.251.0.<id>/24), and deletes them at t's
// cleanup, killing whatever still runs inside. Call Unavailable first.
func New(t testing.TB, ids ...uint64) *Lab {
	t.Helper()
	cleanStaleNamespaces(t)
	l := &Lab{t: t, prefix: fmt.Sprintf("%s%d-", Prefix, os.Getpid()), ns: map[uint64]string{}, owner: true}
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
	for _, id := range ids {
		ns := fmt.Sprintf("%sn%d", l.prefix, id)
		must("netns", "add", ns)
		l.ns[id] = ns
		must("-n", ns, "link", "set", "lo", "up")
	}
	l.AddNetwork(ids...)
	return l
}

// AddNetwork links members ids (already created by New) by one more
// network and returns its number k: a bridge of its own, an eth<k> in
// each member at 10.251.<k>.<id>/24. A daemon bound to AddrOn(k, id) is
// then cut by CutNet(k, id) alone, e.g. replication traffic apart from
// client traffic.
func (l *Lab) AddNetwork(ids ...uint64) int {
	l.t.Helper()
	k := len(l.nets)
	must := func(args ...string) {
		l.t.Helper()
		if err := ipCmd(args...); err != nil {
			l.t.Fatal(err)
		}
	}
	br := fmt.Sprintf("br%d", k)
	must("-n", l.sw, "link", "add", br, "type", "bridge")
	must("-n", l.sw, "link", "set", br, "up")
	for _, id := range ids {
		ns, ok := l.ns[id]
		if !ok {
			l.t.Fatalf("netlab: member %d was not created by New", id)
		}
		port, dev := l.port(k, id), fmt.Sprintf("eth%d", k)
		must("-n", l.sw, "link", "add", port, "type", "veth", "peer", "name", dev, "netns", ns)
		must("-n", l.sw, "link", "set", port, "master", br)
		must("-n", l.sw, "link", "set", port, "up")
		must("-n", ns, "addr", "add", l.AddrOn(k, id)+"/24", "dev", dev)
		must("-n", ns, "link", "set", dev, "up")
	}
	l.nets = append(l.nets, slices.Clone(ids))
	return k
}

// port is the switch-side name of member id's link to network k.
func (l *Lab) port(k int, id uint64) string {
	if k == 0 {
		return fmt.Sprintf("p%d", id)
	}
	return fmt.Sprintf("p%dn%d", id, k)
}

// Addr is member id's address on network 0 (no port).
func (l *Lab) Addr(id uint64) string { return l.AddrOn(0, id) }

// AddrOn is member id's address on network k (no port).
func (l *Lab) AddrOn(k int, id uint64) string { return fmt.Sprintf("10.251.%d.%d", k, id) }

// Cut takes every link of member id to the switch down (both ends lose
// carrier): the member is isolated.
func (l *Lab) Cut(id uint64) { l.setLinks(id, "down") }

// Heal brings every link of member id back up.
func (l *Lab) Heal(id uint64) { l.setLinks(id, "up") }

// CutNet takes member id's link to network k down.
func (l *Lab) CutNet(k int, id uint64) { l.setLink(k, id, "down") }

// HealNet brings member id's link to network k back up.
func (l *Lab) HealNet(k int, id uint64) { l.setLink(k, id, "up") }

func (l *Lab) setLinks(id uint64, state string) {
	for k, ids := range l.nets {
		if slices.Contains(ids, id) {
			l.setLink(k, id, state)
		}
	}
}

func (l *Lab) setLink(k int, id uint64, state string) {
	if err := ipCmd("-n", l.sw, "link", "set", l.port(k, id), state); err != nil {
		l.t.Error(err)
	}
}

// Command returns a command running bin with args inside member id's
// namespace (through ip netns exec, which execs bin in place, so the
// process is bin; extra files and the environment pass through). The
// process is killed if the goroutine's thread that started it exits
// (Pdeathsig), and in any case when the lab's owner deletes the lab.
func (l *Lab) Command(id uint64, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.ns[id], bin}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Namespace is member id's namespace name.
func (l *Lab) Namespace(id uint64) string { return l.ns[id] }

// Reexec runs the test binary again inside member id's namespace, with
// only test run (a -test.run pattern) selected, the Lab handed over
// through Env (so the test finds it with Inside) and env added to the
// environment. Each line it prints is logged through t as it comes; the
// test fails if the run does. Sockets of a Go process stay in the
// namespace of the thread that created them, so a test whose clients
// must live inside a namespace (go-nsq dials on goroutines of its own) runs
// there as a whole.
func (l *Lab) Reexec(t testing.TB, id uint64, run string, env ...string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-test.run=" + run, "-test.count=1", "-test.v"}
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, set := d.Deadline(); set {
			// end first, so that this test still cleans up
			args = append(args, "-test.timeout="+(time.Until(deadline)*9/10).Round(time.Second).String())
		}
	}
	cmd := l.Command(id, exe, args...)
	cmd.Env = append(append(os.Environ(), Env+"="+l.encode()), env...)
	r, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		w.Close()
		done <- err
	}()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		t.Log(sc.Text())
	}
	io.Copy(io.Discard, r)
	if err := <-done; err != nil {
		t.Fatalf("the test inside namespace %s failed: %v", l.ns[id], err)
	}
}

// encode is the Lab as Env carries it: the prefix, then each network's
// members ("nsqreplt-123-;1,2,3,100;1,2,3").
func (l *Lab) encode() string {
	parts := []string{l.prefix}
	for _, ids := range l.nets {
		var s []string
		for _, id := range ids {
			s = append(s, strconv.FormatUint(id, 10))
		}
		parts = append(parts, strings.Join(s, ","))
	}
	return strings.Join(parts, ";")
}

// Inside returns the Lab handed to this process by Reexec, or nil when
// the process was not started by one. The returned Lab cuts, heals and
// starts commands; its owner deletes it.
func Inside(t testing.TB) *Lab {
	v := os.Getenv(Env)
	if v == "" {
		return nil
	}
	parts := strings.Split(v, ";")
	l := &Lab{t: t, prefix: parts[0], sw: parts[0] + "sw", ns: map[uint64]string{}}
	for _, p := range parts[1:] {
		var ids []uint64
		for _, f := range strings.Split(p, ",") {
			id, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				t.Fatalf("%s=%q: %v", Env, v, err)
			}
			ids = append(ids, id)
			l.ns[id] = fmt.Sprintf("%sn%d", l.prefix, id)
		}
		l.nets = append(l.nets, ids)
	}
	return l
}

func (l *Lab) close() {
	if !l.owner {
		return
	}
	for _, ns := range l.ns {
		killInside(ns)
		if err := ipCmd("netns", "del", ns); err != nil {
			l.t.Log(err)
		}
	}
	if err := ipCmd("netns", "del", l.sw); err != nil {
		l.t.Log(err)
	}
}
