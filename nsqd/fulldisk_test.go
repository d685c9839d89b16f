package nsqd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mountTmpfs mounts a tmpfs of size bytes and returns its path; the test
// is skipped when that is not possible (not root, no mount).
func mountTmpfs(tb testing.TB, size int64) string {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root to mount a size-limited tmpfs")
	}
	dir := tb.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		tb.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	tb.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

func resizeTmpfs(tb testing.TB, dir string, size int64) {
	tb.Helper()
	if out, err := exec.Command("mount", "-o", fmt.Sprintf("remount,size=%d", size), dir).CombinedOutput(); err != nil {
		tb.Fatalf("remount %s: %v %s", dir, err, out)
	}
}

// fillDisk writes a file until the file system is full.
func fillDisk(tb testing.TB, dir string) {
	tb.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				tb.Fatal(err)
			}
			return
		}
	}
}

// TestChannelMessageCountExcludesFailedWrites: with the disk full and no
// room in memory, topic and channel count exactly the PUBs acknowledged,
// not those refused.
func TestChannelMessageCountExcludesFailedWrites(t *testing.T) {
	opts := testOptions(t)
	opts.DataPath = mountTmpfs(t, 1<<20)
	opts.MemQueueSize = 0
	n := startNSQD(t, opts)
	httpDo(t, n, "POST", "/topic/create?topic=cnt", "")
	httpDo(t, n, "POST", "/channel/create?topic=cnt&channel=c", "")
	publish(t, n, "cnt", "fits")
	fillDisk(t, opts.DataPath)
	acked := uint64(1)
	big := []byte(strings.Repeat("does not fit", 1000))
	eventually(t, func() bool {
		c := dial(t, n)
		defer c.conn.Close()
		c.cmd("PUB cnt", big)
		f := c.readFrame()
		if string(f.data) == "OK" {
			acked++
			return false
		}
		if !strings.HasPrefix(string(f.data), "E_PUB_FAILED") {
			t.Fatalf("PUB on a full disk: %s", f)
		}
		return true
	}, "PUB refused on a full disk")
	for _, tp := range getStats(t, n, "&topic=cnt").Topics {
		if tp.MessageCount != acked || tp.Channels[0].MessageCount != acked {
			t.Fatalf("message_count topic %d channel %d, want %d acknowledged",
				tp.MessageCount, tp.Channels[0].MessageCount, acked)
		}
	}
}

// TestFullDiskKeepsAcknowledged publishes over HTTP (PUB and MPUB) into a
// topic with two channels on a 3 MB file system until publishing fails,
// grows the file system (publishing resumes) and fills it again, stops
// the daemon with the disk full, frees space, restarts and reads both
// channels: every acknowledged message is there exactly once and no
// message of a refused publish is.
func TestFullDiskKeepsAcknowledged(t *testing.T) {
	opts := testOptions(t)
	opts.DataPath = mountTmpfs(t, 3<<20)
	opts.MemQueueSize = 50
	opts.MaxBytesPerFile = 64 << 10
	n := startNSQD(t, opts)
	httpDo(t, n, "POST", "/topic/create?topic=full", "")
	for _, ch := range []string{"a", "b"} {
		httpDo(t, n, "POST", "/channel/create?topic=full&channel="+ch, "")
	}
	acked := map[string]bool{}
	refused := map[string]bool{}
	pad := strings.Repeat("x", 1000)
	seq := 0
	pubOnce := func() bool {
		var bodies []string
		k := 1
		if seq%3 == 2 {
			k = 5
		}
		for i := 0; i < k; i++ {
			bodies = append(bodies, fmt.Sprintf("m%06d-%s", seq, pad))
			seq++
		}
		var code int
		if k == 1 {
			code, _, _ = httpDo(t, n, "POST", "/pub?topic=full", bodies[0])
		} else {
			code, _, _ = httpDo(t, n, "POST", "/mpub?topic=full", strings.Join(bodies, "\n"))
		}
		for _, b := range bodies {
			if code == 200 {
				acked[b[:7]] = true
			} else {
				refused[b[:7]] = true
			}
		}
		return code == 200
	}
	fill := func() {
		t.Helper()
		failures := 0
		for i := 0; i < 20000 && failures < 30; i++ {
			if pubOnce() {
				failures = 0
			} else {
				failures++
			}
		}
		if failures < 30 {
			t.Fatal("the file system never filled")
		}
	}
	fill()
	ackedFull := len(acked)
	// room again: publishing resumes, until the disk is full once more
	resizeTmpfs(t, opts.DataPath, 5<<20)
	eventually(t, pubOnce, "publishing resumes once the file system has room")
	fill()
	n.Exit() // with the disk full

	resizeTmpfs(t, opts.DataPath, 64<<20)
	n2 := startNSQD(t, opts)
	for _, ch := range []string{"a", "b"} {
		sub := subscribe(t, n2, "full", ch, 2500)
		got := map[string]bool{}
		for len(got) < len(acked) {
			f, err := sub.readFrameHB(false)
			if err != nil {
				break
			}
			body := string(f.data[26:])
			key := body[:7]
			sub.cmd("FIN " + string(f.data[10:26]))
			if got[key] {
				t.Errorf("channel %s: %s delivered twice", ch, key)
			}
			if refused[key] {
				t.Errorf("channel %s: %s of a refused publish delivered", ch, key)
			}
			got[key] = true
		}
		t.Logf("channel %s: acked %d (%d before the disk first filled, %d refused), kept %d",
			ch, len(acked), ackedFull, len(refused), len(got))
		if len(got) != len(acked) {
			t.Errorf("channel %s: kept %d of %d acknowledged messages", ch, len(got), len(acked))
		}
		cs := channelStatsOf(t, n2, "full", ch)
		if cs.Depth != 0 {
			t.Errorf("channel %s: %d more messages than acknowledged", ch, cs.Depth)
		}
	}
}
