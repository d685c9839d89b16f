package deploy

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// The image's unprivileged user, as scripts/image.sh writes it.
const imageUID = 65532

// containerRuntime finds podman, or docker with a daemon it can reach
// (CONTAINER_RUNTIME picks one). It skips the test, saying why, when there
// is none, unless NSQ_REQUIRE_IMAGE=1 (or true) makes that a failure.
func containerRuntime(t *testing.T) string {
	t.Helper()
	candidates := []string{"podman", "docker"}
	if rt := os.Getenv("CONTAINER_RUNTIME"); rt != "" {
		candidates = []string{rt}
	}
	var why []string
	for _, rt := range candidates {
		if _, err := exec.LookPath(rt); err != nil {
			why = append(why, rt+" not found")
			continue
		}
		if _, errOut, err := tryCommand(time.Minute, "", nil, rt, "info"); err != nil {
			why = append(why, fmt.Sprintf("%s info: %v: %s", rt, err, strings.TrimSpace(errOut)))
			continue
		}
		return rt
	}
	testutil.Missing(t, "NSQ_REQUIRE_IMAGE", "no container runtime to build the image with: "+strings.Join(why, "; "),
		"Debian: apt-get install podman runc")
	return ""
}

// builtImage is an image built by scripts/image.sh for the test.
type builtImage struct {
	rt, ref, version string
}

// buildImage runs scripts/image.sh (what `make image` runs) with a name
// and version of the test's own, and removes the image at cleanup.
func buildImage(t *testing.T, rt string) builtImage {
	t.Helper()
	name := fmt.Sprintf("localhost/nsq-image-test-%d", os.Getpid())
	img := builtImage{rt: rt, ref: name + ":1.3.0-imagetest", version: "1.3.0+imagetest"}
	t.Cleanup(func() {
		tryCommand(time.Minute, "", nil, rt, "rmi", img.ref, name+":latest")
	})
	command(t, 8*time.Minute, repoRoot(t), []string{
		"CONTAINER_RUNTIME=" + rt, "IMAGE=" + name, "VERSION=" + img.version,
		"BUILDDIR=" + t.TempDir(),
	}, "sh", "scripts/image.sh")
	return img
}

// TestImage builds the image, checks its file system (exported from a
// container created from it) and its config, and then, where the runtime
// can start containers, runs a small cluster from it (image_run_test.go).
func TestImage(t *testing.T) {
	rt := containerRuntime(t)
	img := buildImage(t, rt)

	files := exportImage(t, img)
	bins := t.TempDir()
	for _, name := range programs(t) {
		f, ok := files["usr/local/bin/"+name]
		if !ok || f.Typeflag != tar.TypeReg || f.Mode&0o111 != 0o111 {
			t.Errorf("/usr/local/bin/%s: %+v, want an executable file", name, f.Header)
			continue
		}
		path := filepath.Join(bins, name)
		if err := os.WriteFile(path, f.data, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := checkStaticELF(path); err != nil {
			t.Errorf("/usr/local/bin/%s: %v", name, err)
		}
		for _, dir := range []string{"", "bin/"} {
			l, ok := files[dir+name]
			switch {
			case !ok:
				t.Errorf("/%s%s missing", dir, name)
			case l.Typeflag == tar.TypeSymlink && l.Linkname == "/usr/local/bin/"+name:
			case l.Typeflag == tar.TypeReg && bytes.Equal(l.data, f.data):
			default:
				t.Errorf("/%s%s is %c -> %q, want /usr/local/bin/%s", dir, name, l.Typeflag, l.Linkname, name)
			}
		}
	}
	checkDir(t, files, "data", 0o755, imageUID)
	checkDir(t, files, "tmp", 0o1777, 0)
	if p := string(files["etc/passwd"].data); !strings.Contains(p, fmt.Sprintf("\nnsq:x:%d:%d:", imageUID, imageUID)) {
		t.Errorf("/etc/passwd has no nsq user:\n%s", p)
	}
	if g := string(files["etc/group"].data); !strings.Contains(g, fmt.Sprintf("\nnsq:x:%d:", imageUID)) {
		t.Errorf("/etc/group has no nsq group:\n%s", g)
	}
	if pool := x509.NewCertPool(); !pool.AppendCertsFromPEM(files["etc/ssl/certs/ca-certificates.crt"].data) {
		t.Error("/etc/ssl/certs/ca-certificates.crt holds no certificates")
	}
	if runtime.GOOS == "linux" {
		checkVersions(t, bins, img.version) // the image's binaries, run on this host
	}

	var cfg struct {
		User         string
		WorkingDir   string
		ExposedPorts map[string]struct{}
		Entrypoint   []string
	}
	out := command(t, time.Minute, "", nil, rt, "image", "inspect", "--format", "{{json .Config}}", img.ref)
	if err := json.Unmarshal([]byte(out), &cfg); err != nil {
		t.Fatalf("image config %q: %v", out, err)
	}
	if cfg.User != fmt.Sprintf("%d:%d", imageUID, imageUID) {
		t.Errorf("user %q, want %d:%d", cfg.User, imageUID, imageUID)
	}
	if cfg.WorkingDir != "/data" {
		t.Errorf("working directory %q, want /data (nsqd's default --data-path is its working directory)", cfg.WorkingDir)
	}
	var ports []string
	for p := range cfg.ExposedPorts {
		ports = append(ports, p)
	}
	sort.Strings(ports)
	if got, want := strings.Join(ports, " "), "4150/tcp 4151/tcp 4160/tcp 4161/tcp 4170/tcp 4171/tcp"; got != want {
		t.Errorf("exposed ports %q, want %q", got, want)
	}
	if len(cfg.Entrypoint) != 0 {
		t.Errorf("entrypoint %q, want none (NSQ's image has none: commands name the program)", cfg.Entrypoint)
	}

	t.Run("cluster", func(t *testing.T) { testCluster(t, img) })
}

// imageFile is one entry of the image's file system.
type imageFile struct {
	*tar.Header
	data []byte // contents of regular files
}

// exportImage returns the image's file system by path (without the
// leading "/"), exported from a container created, not started, from it.
func exportImage(t *testing.T, img builtImage) map[string]imageFile {
	t.Helper()
	id := strings.TrimSpace(command(t, time.Minute, "", nil, img.rt, "create", img.ref, "/nsqd"))
	defer tryCommand(time.Minute, "", nil, img.rt, "rm", "-f", id)
	archive := filepath.Join(t.TempDir(), "fs.tar")
	command(t, 2*time.Minute, "", nil, img.rt, "export", "-o", archive, id)
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string]imageFile{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/"), "/")
		files[name] = imageFile{h, data}
	}
}

func checkDir(t *testing.T, files map[string]imageFile, name string, mode int64, uid int) {
	t.Helper()
	f, ok := files[name]
	if !ok || f.Typeflag != tar.TypeDir {
		t.Errorf("/%s missing or not a directory", name)
		return
	}
	if f.Mode&0o7777 != mode || f.Uid != uid {
		t.Errorf("/%s has mode %o owner %d, want %o owner %d", name, f.Mode&0o7777, f.Uid, mode, uid)
	}
}

// checkStaticELF checks that path is an ELF executable that needs no
// dynamic loader or shared library.
func checkStaticELF(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			return fmt.Errorf("dynamically linked (has %v)", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return fmt.Errorf("needs shared libraries %v", libs)
	}
	return nil
}
