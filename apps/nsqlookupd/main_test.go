package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/internal/version"
)

const waitTimeout = 20 * time.Second

func TestApp(t *testing.T) {
	bin := testutil.Build(t, "github.com/dropin/nsq/apps/nsqlookupd")

	t.Run("version", func(t *testing.T) {
		p := testutil.StartProc(t, bin, nil, "--version", "--tombstone-lifetime=1s")
		if code := p.Wait(t, waitTimeout); code != 0 {
			t.Fatalf("exit %d", code)
		}
		want := version.String("nsqlookupd") + "\n"
		if got := p.Stdout.String(); got != want || !strings.HasPrefix(got, "nsqlookupd v1.3.0 (built w/go") {
			t.Fatalf("--version printed %q, want %q", got, want)
		}
	})

	t.Run("help", func(t *testing.T) {
		p := testutil.StartProc(t, bin, nil, "--help")
		if code := p.Wait(t, waitTimeout); code != 0 {
			t.Fatalf("exit %d", code)
		}
		for _, f := range []string{"-tcp-address", "-http-address", "-broadcast-address", "-inactive-producer-timeout",
			"-tombstone-lifetime", "-log-level", "-log-prefix", "-config", "-version", "-verbose", "(default 45s)", "(default 5m0s)",
			`(default "0.0.0.0:4160")`, `(default "0.0.0.0:4161")`, "(default INFO)", `(default "[nsqlookupd] ")`} {
			if !strings.Contains(p.Stderr.String(), f) {
				t.Errorf("--help lacks %q:\n%s", f, p.Stderr.String())
			}
		}
	})

	t.Run("bad values", func(t *testing.T) {
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		cfgFile := func(body string) string {
			path := filepath.Join(t.TempDir(), "nsqlookupd.cfg")
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}
		free := "--http-address=" + testutil.FreeAddr(t)
		cases := []struct {
			name string
			args []string
			want string
		}{
			{"bad duration flag", []string{"--tombstone-lifetime=abc"}, "tombstone-lifetime"},
			{"negative tombstone lifetime", []string{"--tombstone-lifetime=-1s"}, "--tombstone-lifetime must be >= 0"},
			{"zero inactive timeout", []string{"--inactive-producer-timeout=0"}, "--inactive-producer-timeout must be > 0"},
			{"bad log level", []string{"--log-level=loud"}, "log-level"},
			{"unknown flag", []string{"--nope"}, "flag provided but not defined: -nope"},
			{"positional argument", []string{"extra"}, `unexpected argument "extra"`},
			{"config bad duration", []string{"--config=" + cfgFile(`tombstone_lifetime = "xyz"`)}, "--tombstone-lifetime (config key tombstone_lifetime)"},
			{"config bad type", []string{"--config=" + cfgFile(`inactive_producer_timeout = true`)}, "--inactive-producer-timeout"},
			{"config bad log level", []string{"--config=" + cfgFile(`log_level = "loud"`)}, "--log-level"},
			{"config unparsable", []string{"--config=" + cfgFile(`tcp_address = `)}, "failed to load config file"},
			{"config missing", []string{"--config=" + filepath.Join(t.TempDir(), "absent.cfg")}, "failed to load config file"},
			{"tcp address in use", []string{"--tcp-address=" + busy.Addr().String(), free}, "--tcp-address " + busy.Addr().String()},
			{"http address in use", []string{"--tcp-address=" + testutil.FreeAddr(t), "--http-address=" + busy.Addr().String()}, "--http-address " + busy.Addr().String()},
			{"bad tcp address", []string{"--tcp-address=nohostport", free}, "--tcp-address nohostport"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p := testutil.StartProc(t, bin, nil, c.args...)
				if code := p.Wait(t, waitTimeout); code != 1 {
					t.Fatalf("exit %d, want 1; stderr:\n%s", code, p.Stderr.String())
				}
				stderr := p.Stderr.String()
				if !strings.HasPrefix(stderr, "[nsqlookupd] ") || !strings.Contains(stderr, "FATAL: ") || !strings.Contains(stderr, c.want) {
					t.Fatalf("stderr %q lacks [nsqlookupd] ... FATAL: ...%s", stderr, c.want)
				}
			})
		}
	})

	t.Run("config file, flags and SIGTERM", func(t *testing.T) {
		httpAddr, cfgTCPAddr, flagTCPAddr := testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t)
		cfgPath := filepath.Join(t.TempDir(), "nsqlookupd.cfg")
		cfgBody := fmt.Sprintf(`
http_address = %q
tcp_address = %q
broadcast_address = "cfg.example"
inactive_producer_timeout = 300  # integer = milliseconds
log_level = "debug"
log_prefix = "[cfg-lookupd] "
unknown_key = "ignored"
`, httpAddr, cfgTCPAddr)
		if err := os.WriteFile(cfgPath, []byte(cfgBody), 0o600); err != nil {
			t.Fatal(err)
		}
		p := testutil.StartProc(t, bin, nil, "--config", cfgPath, "--tcp-address="+flagTCPAddr, "--verbose")
		p.WaitHTTP(t, "http://"+httpAddr+"/ping", waitTimeout) // http_address came from the file

		c := dialV1(t, flagTCPAddr) // the flag beat the file's tcp_address
		reply := c.identify(t)
		var got map[string]any
		if err := json.Unmarshal([]byte(reply), &got); err != nil {
			t.Fatalf("IDENTIFY reply %q: %v", reply, err)
		}
		_, httpPort, _ := net.SplitHostPort(httpAddr)
		_, tcpPort, _ := net.SplitHostPort(flagTCPAddr)
		if got["broadcast_address"] != "cfg.example" || fmt.Sprint(got["http_port"]) != httpPort ||
			fmt.Sprint(got["tcp_port"]) != tcpPort || got["version"] != version.Binary {
			t.Fatalf("IDENTIFY reply %s", reply)
		}
		c.cmd(t, "REGISTER t")
		visible := func() bool {
			resp, err := http.Get("http://" + httpAddr + "/lookup?topic=t")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var v struct{ Producers []json.RawMessage }
			json.NewDecoder(resp.Body).Decode(&v)
			return len(v.Producers) == 1
		}
		testutil.Eventually(t, waitTimeout, func() bool { c.cmd(t, "PING"); return visible() }, "producer not visible")
		// the config's 300 ms inactivity timeout (not the 5m default) hides it
		testutil.Eventually(t, waitTimeout, func() bool { return !visible() }, "producer never became inactive")

		stderr := p.Stderr.String()
		if !strings.Contains(stderr, "[cfg-lookupd] ") || !strings.Contains(stderr, " DEBUG: ") {
			t.Fatalf("log prefix/level from config not applied:\n%s", stderr)
		}

		p.Signal(t, syscall.SIGTERM)
		if code := p.Wait(t, waitTimeout); code != 0 {
			t.Fatalf("exit %d after SIGTERM; stderr:\n%s", code, p.Stderr.String())
		}
		c.expectClosed(t)
	})

	t.Run("SIGINT", func(t *testing.T) {
		httpAddr := testutil.FreeAddr(t)
		p := testutil.StartProc(t, bin, nil, "--tcp-address="+testutil.FreeAddr(t), "--http-address="+httpAddr, "--log-level=warn")
		p.WaitHTTP(t, "http://"+httpAddr+"/ping", waitTimeout)
		p.Signal(t, syscall.SIGINT)
		if code := p.Wait(t, waitTimeout); code != 0 {
			t.Fatalf("exit %d after SIGINT; stderr:\n%s", code, p.Stderr.String())
		}
		if s := p.Stderr.String(); strings.Contains(s, "INFO:") {
			t.Fatalf("--log-level=warn still logs INFO:\n%s", s)
		}
	})
}

// v1Conn is a minimal lookup-protocol client.
type v1Conn struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialV1(t *testing.T, addr string) *v1Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := conn.Write([]byte("  V1")); err != nil {
		t.Fatal(err)
	}
	return &v1Conn{conn: conn, r: bufio.NewReader(conn)}
}

func (c *v1Conn) reply(t *testing.T) string {
	t.Helper()
	var size int32
	if err := binary.Read(c.r, binary.BigEndian, &size); err != nil {
		t.Fatalf("read reply: %v", err)
	}
	if size < 0 || size > 1<<20 {
		t.Fatalf("reply size %d", size)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(c.r, buf); err != nil {
		t.Fatalf("read reply: %v", err)
	}
	return string(buf)
}

func (c *v1Conn) cmd(t *testing.T, line string) {
	t.Helper()
	if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
		t.Fatal(err)
	}
	if got := c.reply(t); got != "OK" {
		t.Fatalf("%s: %q", line, got)
	}
}

func (c *v1Conn) identify(t *testing.T) string {
	t.Helper()
	body := []byte(`{"broadcast_address":"nsqd.example","tcp_port":4150,"http_port":4151,"version":"1.3.0"}`)
	msg := binary.BigEndian.AppendUint32([]byte("IDENTIFY\n"), uint32(len(body)))
	if _, err := c.conn.Write(append(msg, body...)); err != nil {
		t.Fatal(err)
	}
	return c.reply(t)
}

func (c *v1Conn) expectClosed(t *testing.T) {
	t.Helper()
	if _, err := c.r.ReadByte(); err == nil {
		t.Fatal("connection still open after shutdown")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection not closed after shutdown")
	}
}
