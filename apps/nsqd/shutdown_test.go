package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// TestSIGTERMWithIdleConnection: a TCP connection that never sent the
// protocol magic must not hold up shutdown. Twenty messages published over
// HTTP, one idle connection, SIGTERM, and SIGKILL if the process is still
// there 5 s later (as docker stop would): the restarted daemon has all 20.
func TestSIGTERMWithIdleConnection(t *testing.T) {
	dir := t.TempDir()
	d := start(t, "--data-path="+dir)
	for i := 0; i < 20; i++ {
		resp, err := http.Post("http://"+d.http+"/pub?topic=idle", "text/plain", strings.NewReader(fmt.Sprintf("m%d", i)))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("pub: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	for _, greeting := range []string{"", "  V"} { // nothing, and half a magic
		idle, err := net.Dial("tcp", d.tcp)
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
		idle.Write([]byte(greeting))
	}
	// an HTTP request still sending its body
	slow, err := net.Dial("tcp", d.http)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Write([]byte("POST /pub?topic=idle HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"))

	d.Signal(t, syscall.SIGTERM)
	if testutil.Poll(5*time.Second, d.Exited) != nil {
		d.Signal(t, syscall.SIGKILL)
		testutil.Poll(20*time.Second, d.Exited)
		t.Errorf("still running 5 s after SIGTERM; killed")
	} else if code := d.Wait(t, time.Second); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, d.Output())
	}

	d2 := start(t, "--data-path="+dir)
	resp, err := http.Get("http://" + d2.http + "/stats?format=json&topic=idle")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var stats struct {
		Topics []struct {
			Depth int64 `json:"depth"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(body, &stats); err != nil {
		t.Fatal(err)
	}
	if len(stats.Topics) != 1 || stats.Topics[0].Depth != 20 {
		t.Fatalf("after restart: %s; want topic idle with depth 20", body)
	}
	d2.stop(t)
}
