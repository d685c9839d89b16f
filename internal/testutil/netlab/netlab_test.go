package netlab

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

func namespaces(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestLabCleanup: New deletes the namespaces of a run whose process is
// gone, killing what still ran in them, and a Lab's cleanup deletes its
// own, again killing what runs inside.
func TestLabCleanup(t *testing.T) {
	if why := Unavailable(); why != "" {
		testutil.Skip(t, why)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("%s%d-n1", Prefix, dead.Process.Pid)
	if err := ipCmd("netns", "add", stale); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ipCmd("netns", "del", stale) })
	leftover := exec.Command("ip", "netns", "exec", stale, "sleep", "600")
	if err := leftover.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { leftover.Wait(); close(exited) }()

	var mine *Lab
	insideGone := make(chan struct{})
	t.Run("lab", func(t *testing.T) {
		mine = New(t, 1, 2)
		if k := mine.AddNetwork(1, 2); k != 1 {
			t.Fatalf("second network is %d", k)
		}
		if strings.Contains(namespaces(t), stale) {
			t.Fatalf("stale namespace %s not deleted", stale)
		}
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Fatal("the process in the stale namespace still runs")
		}
		// CutNet cuts one network's link, Cut every link, Heal restores them
		mine.CutNet(1, 1)
		if !linkDown(t, mine, "p1n1") || linkDown(t, mine, "p1") {
			t.Fatal("CutNet(1, 1) did not take exactly p1n1 down")
		}
		mine.Cut(1)
		if !linkDown(t, mine, "p1") || !linkDown(t, mine, "p1n1") || linkDown(t, mine, "p2") {
			t.Fatal("Cut(1) did not take exactly node 1's links down")
		}
		mine.Heal(1)
		if linkDown(t, mine, "p1") || linkDown(t, mine, "p1n1") {
			t.Fatal("Heal(1) left a link down")
		}
		sleeper := mine.Command(1, "sleep", "600")
		if err := sleeper.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { sleeper.Wait(); close(insideGone) }()
		pid := fmt.Sprint(sleeper.Process.Pid)
		if err := testutil.Poll(30*time.Second, func() bool {
			out, _ := exec.Command("ip", "netns", "pids", mine.Namespace(1)).Output()
			return strings.Contains(" "+strings.Join(strings.Fields(string(out)), " ")+" ", " "+pid+" ")
		}); err != nil {
			t.Fatal("the command did not enter its namespace")
		}
	})
	if list := namespaces(t); strings.Contains(list, mine.Namespace(1)) || strings.Contains(list, mine.sw) {
		t.Fatalf("the lab's namespaces remain after its cleanup:\n%s", list)
	}
	select {
	case <-insideGone:
	case <-time.After(30 * time.Second):
		t.Fatal("a process inside the lab survived its cleanup")
	}
}

// linkDown tells whether the switch-side port is administratively down.
func linkDown(t *testing.T, l *Lab, port string) bool {
	t.Helper()
	out, err := exec.Command("ip", "-n", l.sw, "-o", "link", "show", port).Output()
	if err != nil {
		t.Fatal(err)
	}
	flags := string(out)[strings.IndexByte(string(out), '<'):strings.IndexByte(string(out), '>')]
	return !strings.Contains(flags+",", ",UP,") && !strings.HasPrefix(flags, "<UP,")
}
