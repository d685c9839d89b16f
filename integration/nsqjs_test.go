package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// TestNSQJSClient runs the nsqjs client (node, pinned in nsqjs/package.json,
// installed by `make interop-deps`) against our nsqd and nsqlookupd.
func TestNSQJSClient(t *testing.T) {
	node, err := exec.LookPath("node")
	modules := filepath.Join("nsqjs", "node_modules", "nsqjs")
	if err != nil {
		testutil.Missing(t, "NSQ_REQUIRE_INTEROP", "node is not installed", "install node and npm, then `make interop-deps`")
	}
	if _, err := os.Stat(modules); err != nil {
		testutil.Missing(t, "NSQ_REQUIRE_INTEROP", fmt.Sprintf("nsqjs is not installed (%v)", err), "`make interop-deps`, which needs npm")
	}
	lookupd := startProc(t, "lookupd", "nsqlookupd", "--log-level=warn")
	nsqd := startNSQD(t, "nsqd", lookupd)
	tcpPort := nsqd.tcp[strings.LastIndexByte(nsqd.tcp, ':')+1:]
	httpPort := lookupd.http[strings.LastIndexByte(lookupd.http, ':')+1:]
	for _, mode := range []string{"plain", "snappy", "deflate", "lookupd"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(node, "interop.js", tcpPort, httpPort, mode)
			cmd.Dir = "nsqjs"
			done := make(chan struct{})
			var out []byte
			go func() {
				out, err = cmd.CombinedOutput()
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				<-done
			}
			if err != nil || !strings.Contains(string(out), "OK "+mode) {
				t.Fatalf("nsqjs %s: %v\n%s", mode, err, out)
			}
		})
	}
}
