package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd/nsqdtest"
	"github.com/dropin/nsq/nsqlog/nsqlogtest"
)

// TestExample builds and runs the example against a real nsqd and checks
// that every line it logs arrives.
func TestExample(t *testing.T) {
	bin := testutil.Build(t, "github.com/dropin/nsq/examples/nsqlog")
	nsqdAddr, _ := nsqdtest.Addrs(nsqdtest.Start(t))
	topic := nsqlogtest.Topic("example")
	cons := nsqlogtest.Consume(t, nsqdAddr, topic)

	out, err := exec.Command(bin, "--nsqd-tcp-address", nsqdAddr, "--topic", topic, "--count", "250").Output()
	if err != nil {
		t.Fatalf("example: %s", err)
	}
	if !strings.Contains(string(out), "written=250 delivered=250 dropped=0") {
		t.Errorf("stats line %q", out)
	}
	testutil.Eventually(t, 30*time.Second, func() bool { return cons.Total() >= 250 }, "consumer received %d messages, want 250", cons.Total())
	if got := cons.Total(); got != 250 {
		t.Errorf("consumer received %d messages, want 250", got)
	}

	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--topic", topic)
	cmd.Stderr = &stderr
	var ee *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "--nsqd-tcp-address is required") {
		t.Errorf("missing address: err %v, stderr %q", err, stderr.String())
	}
}
