package deploy

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/internal/testutil/gonsqtest"
)

// cluster runs containers from the test image on a network of its own;
// everything it creates is removed at cleanup.
type cluster struct {
	t      *testing.T
	img    builtImage
	global []string // flags before the subcommand, e.g. --runtime runc
	limits []string // run flags: rlimits this sandbox allows
	name   string   // prefix of every container, network and volume name
}

// rt runs the container runtime and returns its stdout.
func (c *cluster) rt(args ...string) string {
	c.t.Helper()
	return command(c.t, 2*time.Minute, "", nil, c.img.rt, append(c.global, args...)...)
}

// newCluster finds how this runtime can start containers here: as it is,
// or (podman) with runc instead of its default runtime, in both cases with
// rlimits no higher than this process's own, since a sandbox without
// CAP_SYS_RESOURCE refuses to raise them. It skips the test, saying why,
// when no way works.
func newCluster(t *testing.T, img builtImage) *cluster {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	nofile := min(rl.Max, 1<<16)
	limits := []string{"--ulimit", fmt.Sprintf("nofile=%d:%d", nofile, nofile), "--ulimit", "nproc=4096:4096"}
	tries := [][]string{nil}
	if img.rt == "podman" { // podman finds runc itself, PATH or not
		tries = append(tries, []string{"--runtime", "runc"})
	}
	var why []string
	for _, global := range tries {
		args := append(append(append([]string{}, global...), "run", "--rm"), limits...)
		out, errOut, err := tryCommand(2*time.Minute, "", nil, img.rt, append(args, img.ref, "/nsqd", "--version")...)
		if err == nil && strings.HasPrefix(out, "nsqd v"+img.version) {
			c := &cluster{t: t, img: img, global: global, limits: limits, name: fmt.Sprintf("nsq-image-test-%d", os.Getpid())}
			t.Logf("containers start with: %s %s run %s", img.rt, strings.Join(global, " "), strings.Join(limits, " "))
			return c
		}
		why = append(why, fmt.Sprintf("%s %s: %v: %s%s", img.rt, strings.Join(args, " "), err, strings.TrimSpace(errOut), out))
	}
	testutil.Skip(t, fmt.Sprintf("%s cannot start containers in this sandbox, so only this part is skipped (the image's file system and config were checked): %s",
		img.rt, strings.Join(why, "; ")))
	return nil
}

// start runs a detached container name from the image with ports
// published on 127.0.0.1 and returns the host address of each port.
func (c *cluster) start(name string, volume string, ports []int, args ...string) map[int]string {
	c.t.Helper()
	c.t.Cleanup(func() { tryCommand(time.Minute, "", nil, c.img.rt, append(c.global, "rm", "-f", name)...) })
	run := append([]string{"run", "-d", "--name", name, "--network", c.name}, c.limits...)
	if volume != "" {
		run = append(run, "-v", volume+":/data")
	}
	for _, p := range ports {
		run = append(run, "-p", fmt.Sprintf("127.0.0.1::%d", p))
	}
	c.rt(append(append(run, c.img.ref), args...)...)
	addrs := map[int]string{}
	for _, p := range ports {
		for _, line := range strings.Split(c.rt("port", name, fmt.Sprintf("%d/tcp", p)), "\n") {
			if strings.HasPrefix(line, "127.0.0.1:") {
				addrs[p] = strings.TrimSpace(line)
				break
			}
		}
		if addrs[p] == "" {
			c.t.Fatalf("%s: port %d not published on 127.0.0.1", name, p)
		}
	}
	return addrs
}

// logs returns what a container wrote.
func (c *cluster) logs(name string) string {
	out, errOut, _ := tryCommand(time.Minute, "", nil, c.img.rt, append(c.global, "logs", name)...)
	return out + errOut
}

// waitHTTP polls url until it answers 200 and its body contains want.
func (c *cluster) waitHTTP(container, url, want string) {
	c.t.Helper()
	var last string
	if err := testutil.Poll(60*time.Second, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			last = err.Error()
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		last = resp.Status + " " + string(body)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(body), want)
	}); err != nil {
		c.t.Fatalf("GET %s: want 200 with %q, last answer: %s\n%s logs:\n%s", url, want, last, container, c.logs(container))
	}
}

func post(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/octet-stream", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %s %s", url, resp.Status, b)
	}
}

// consume reads n messages from topic/channel on the nsqd at addr with
// go-nsq and returns their bodies.
func consume(t *testing.T, addr, topic, channel string, n int) map[string]bool {
	t.Helper()
	c := gonsqtest.Consume(t, topic, channel, gonsqtest.Options{NSQD: []string{addr}, Config: func(c *nsq.Config) { c.MaxInFlight = n }})
	defer c.Stop(t)
	if testutil.Poll(60*time.Second, func() bool { return c.Distinct() >= n }) != nil {
		t.Fatalf("consumed %d of %d messages from %s", c.Distinct(), n, addr)
	}
	bodies := map[string]bool{}
	for _, b := range c.Bodies() {
		bodies[string(b)] = true
	}
	return bodies
}

// testCluster runs nsqlookupd, nsqd (its /data on a named volume) and
// nsqadmin containers, publishes over HTTP and consumes with go-nsq from
// this host through the published ports, then stops nsqd with SIGTERM and
// checks that it exited by itself within the grace period, leaving its
// queue on the volume for the next nsqd.
func testCluster(t *testing.T, img builtImage) {
	c := newCluster(t, img)
	c.rt("network", "create", c.name)
	t.Cleanup(func() { tryCommand(time.Minute, "", nil, img.rt, append(c.global, "network", "rm", c.name)...) })
	volume := c.name + "-data"
	c.rt("volume", "create", volume)
	t.Cleanup(func() { tryCommand(time.Minute, "", nil, img.rt, append(c.global, "volume", "rm", "-f", volume)...) })

	lookupd, nsqdName, admin := c.name+"-lookupd", c.name+"-nsqd", c.name+"-admin"
	l := c.start(lookupd, "", []int{4161}, "/nsqlookupd", "--broadcast-address="+lookupd)
	d := c.start(nsqdName, volume, []int{4150, 4151}, "/nsqd", "--lookupd-tcp-address="+lookupd+":4160", "--broadcast-address="+nsqdName)
	a := c.start(admin, "", []int{4171}, "/nsqadmin", "--lookupd-http-address="+lookupd+":4161")
	c.waitHTTP(lookupd, "http://"+l[4161]+"/ping", "OK")
	c.waitHTTP(nsqdName, "http://"+d[4151]+"/ping", "OK")
	c.waitHTTP(admin, "http://"+a[4171]+"/ping", "OK")

	post(t, "http://"+d[4151]+"/topic/create?topic=img", "")
	post(t, "http://"+d[4151]+"/channel/create?topic=img&channel=ch", "")
	want := map[string]bool{}
	for i := range 10 {
		body := fmt.Sprintf("msg-%d", i)
		post(t, "http://"+d[4151]+"/pub?topic=img", body)
		want[body] = true
	}
	if got := consume(t, d[4150], "img", "ch", len(want)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("consumed %v, want %v", got, want)
	}
	// nsqd registered with lookupd under its broadcast address, and
	// nsqadmin finds the topic through lookupd.
	c.waitHTTP(lookupd, "http://"+l[4161]+"/lookup?topic=img", `"broadcast_address":"`+nsqdName+`"`)
	c.waitHTTP(admin, "http://"+a[4171]+"/api/topics", `"img"`)

	kept := map[string]bool{}
	for i := range 5 {
		body := fmt.Sprintf("kept-%d", i)
		post(t, "http://"+d[4151]+"/pub?topic=img", body)
		kept[body] = true
	}
	// SIGTERM, then SIGKILL after 10s: exit status 0 says nsqd stopped by
	// itself within the grace period (137 would be the SIGKILL).
	c.rt("stop", "-t", "10", nsqdName)
	if code := strings.TrimSpace(c.rt("inspect", "--format", "{{.State.ExitCode}}", nsqdName)); code != "0" {
		t.Fatalf("nsqd exited with status %s after SIGTERM, want 0\n%s", code, c.logs(nsqdName))
	}
	checkVolume(t, c.rt("cp", nsqdName+":/data", "-"), "kept-4")

	// A new nsqd on the same volume serves the queue the first one left.
	d2 := c.start(nsqdName+"-2", volume, []int{4150, 4151}, "/nsqd")
	c.waitHTTP(nsqdName+"-2", "http://"+d2[4151]+"/ping", "OK")
	if got := consume(t, d2[4150], "img", "ch", len(kept)); fmt.Sprint(got) != fmt.Sprint(kept) {
		t.Errorf("after restart consumed %v, want %v", got, kept)
	}
}

// checkVolume checks that the tar stream of /data holds nsqd's metadata
// and a queue file containing body.
func checkVolume(t *testing.T, stream, body string) {
	t.Helper()
	tr := tar.NewReader(strings.NewReader(stream))
	var names []string
	var meta, queued bool
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading /data: %v (names so far %v)", err, names)
		}
		data, _ := io.ReadAll(tr)
		names = append(names, h.Name)
		if strings.HasSuffix(h.Name, "/nsqd.dat") || h.Name == "nsqd.dat" {
			var m map[string]any
			meta = json.Unmarshal(data, &m) == nil
		}
		queued = queued || bytes.Contains(data, []byte(body))
	}
	if !meta || !queued {
		t.Errorf("/data after stop: metadata %v, queue holding %q %v; files %v", meta, body, queued, names)
	}
}
