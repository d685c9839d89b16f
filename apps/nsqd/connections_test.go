package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// TestManyConnectionsWithHeartbeats holds NSQ_TEST_CONNS connections
// (default 500; 10000 for the full figure) to one nsqd process, each
// identified with a 5 s heartbeat and answering every heartbeat with NOP,
// until each has seen two heartbeats. None is dropped; the daemon's RSS
// and goroutine count are logged.
func TestManyConnectionsWithHeartbeats(t *testing.T) {
	conns := 500
	if v := os.Getenv("NSQ_TEST_CONNS"); v != "" {
		var err error
		if conns, err = strconv.Atoi(v); err != nil {
			t.Fatalf("NSQ_TEST_CONNS=%q", v)
		}
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if need := uint64(conns + 256); lim.Cur < need {
		if lim.Max < need {
			t.Skipf("RLIMIT_NOFILE hard limit %d is below the %d needed", lim.Max, need)
		}
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Skipf("cannot raise RLIMIT_NOFILE: %v", err)
		}
	}
	d := start(t, "--data-path="+t.TempDir()) // inherits the raised limit
	ident := []byte(`{"heartbeat_interval":5000,"client_id":"many"}`)
	hello := append([]byte("  V2IDENTIFY\n"), binary.BigEndian.AppendUint32(nil, uint32(len(ident)))...)
	hello = append(hello, ident...)
	hello = append(hello, "SUB many c\n"...)

	var beats atomic.Int64 // connections that have seen two heartbeats
	var dropped atomic.Int64
	var open []net.Conn
	var mu sync.Mutex
	sem := make(chan struct{}, 100)
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var conn net.Conn
			err := testutil.Poll(30*time.Second, func() bool {
				var err error
				conn, err = net.DialTimeout("tcp", d.tcp, 5*time.Second)
				return err == nil
			})
			if err != nil {
				dropped.Add(1)
				return
			}
			conn.Write(hello)
			mu.Lock()
			open = append(open, conn)
			mu.Unlock()
			go func() {
				r := bufio.NewReader(conn)
				seen := 0
				for {
					var hdr [8]byte
					if _, err := io.ReadFull(r, hdr[:]); err != nil {
						break
					}
					body := make([]byte, binary.BigEndian.Uint32(hdr[:4])-4)
					if _, err := io.ReadFull(r, body); err != nil {
						break
					}
					if string(body) == "_heartbeat_" {
						conn.Write([]byte("NOP\n"))
						if seen++; seen == 2 {
							beats.Add(1)
						}
					} else if binary.BigEndian.Uint32(hdr[4:]) == 1 {
						t.Errorf("error frame %s", body)
						break
					}
				}
				if beats.Load() < int64(conns) && seen < 2 {
					dropped.Add(1)
				}
			}()
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range open {
			c.Close()
		}
	})
	if err := testutil.Poll(120*time.Second, func() bool {
		return beats.Load()+dropped.Load() >= int64(conns)
	}); err != nil {
		t.Fatalf("%d of %d connections saw two heartbeats, %d dropped", beats.Load(), conns, dropped.Load())
	}
	if dropped.Load() > 0 {
		t.Fatalf("%d of %d connections dropped", dropped.Load(), conns)
	}
	rss := procRSS(t, d.Pid())
	goroutines := "?"
	if resp, err := http.Get("http://" + d.http + "/debug/pprof/goroutine?debug=1"); err == nil {
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		resp.Body.Close()
		goroutines = strings.TrimSpace(strings.TrimPrefix(line, "goroutine profile: total"))
	}
	t.Logf("%d connections with heartbeats: nsqd RSS %d MiB (%d KiB per connection), %s goroutines",
		conns, rss>>20, rss/int64(conns)>>10, goroutines)
	if per := rss / int64(conns); conns >= 1000 && per > 256<<10 {
		t.Errorf("%d KiB of RSS per connection", per>>10)
	}
	if resp, err := http.Get("http://" + d.http + "/ping"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/ping with %d connections: %v", conns, err)
	}
}

// procRSS reads a process's resident set size from /proc.
func procRSS(t *testing.T, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
