package deploy

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/internal/version"
)

// TestDist builds the release archive for this machine's platform with
// scripts/dist.sh and checks its name, contents, checksum and the version
// its binaries report (the one scripts/version.sh derives from git).
func TestDist(t *testing.T) {
	root := repoRoot(t)
	want := strings.TrimSpace(command(t, time.Minute, root, nil, "sh", "scripts/version.sh"))
	if want == "" || want[0] < '0' || want[0] > '9' {
		t.Fatalf("scripts/version.sh printed %q, want a version number", want)
	}
	dist := t.TempDir()
	platform := runtime.GOOS + "/" + runtime.GOARCH
	command(t, 8*time.Minute, root, []string{"DISTDIR=" + dist, "PLATFORMS=" + platform}, "sh", "scripts/dist.sh")

	name := "nsq-" + want + "." + runtime.GOOS + "-" + runtime.GOARCH + "." + runtime.Version()
	archive := filepath.Join(dist, name+".tar.gz")
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatalf("archive %s: %v", name, err)
	}
	sum := sha256.Sum256(data)
	if wantLine := hex.EncodeToString(sum[:]) + "  " + name + ".tar.gz\n"; string(sums) != wantLine {
		t.Errorf("SHA256SUMS is %q, want %q", sums, wantLine)
	}

	out := t.TempDir()
	files := untar(t, archive, out)
	wantFiles := []string{name + "/README.md"}
	if _, err := os.Stat(filepath.Join(root, "LICENSE")); err == nil {
		wantFiles = append(wantFiles, name+"/LICENSE")
	}
	for _, p := range programs(t) {
		wantFiles = append(wantFiles, name+"/bin/"+p)
	}
	for _, f := range wantFiles {
		if _, ok := files[f]; !ok {
			t.Errorf("archive lacks %s (has %v)", f, files)
		}
	}
	bin := filepath.Join(out, name, "bin")
	if runtime.GOOS == "linux" {
		for _, p := range programs(t) {
			if err := checkStaticELF(filepath.Join(bin, p)); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		}
	}
	checkVersions(t, bin, want)
}

// untar unpacks a .tar.gz into dir and returns the names of its regular
// files.
func untar(t *testing.T, archive, dir string) map[string]bool {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		clean := path.Clean(h.Name)
		if strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
			t.Fatalf("archive entry %q leaves its directory", h.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(clean))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			files[clean] = true
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				t.Fatal(err)
			}
			w, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(w, tr); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		default:
			t.Errorf("archive entry %q has type %c; want only files and directories", h.Name, h.Typeflag)
		}
	}
}

// TestGoInstall installs every program the way `go install
// github.com/dropin/nsq/apps/...@latest` does (from this checkout, into an
// empty GOBIN), runs each with --version from an unrelated directory, and
// checks that nsqadmin serves its UI from the binary alone.
func TestGoInstall(t *testing.T) {
	root := repoRoot(t)
	const module = "github.com/dropin/nsq"
	if got := strings.TrimSpace(command(t, time.Minute, root, nil, "go", "list", "-m")); got != module {
		t.Fatalf("module path is %q, want %q", got, module)
	}
	pkgs := strings.Fields(command(t, time.Minute, root, nil, "go", "list", "-f", "{{if eq .Name \"main\"}}{{.ImportPath}}{{end}}", "./apps/..."))
	var wantPkgs []string
	for _, p := range programs(t) {
		wantPkgs = append(wantPkgs, module+"/apps/"+p)
	}
	if strings.Join(pkgs, " ") != strings.Join(wantPkgs, " ") {
		t.Errorf("main packages under apps/: %v, want %v", pkgs, wantPkgs)
	}

	gobin := t.TempDir()
	command(t, 8*time.Minute, root, []string{"GOBIN=" + gobin}, "go", "install", "./apps/...")
	checkVersions(t, gobin, version.Binary)

	// nsqadmin's pages and assets come from the binary: run it from an
	// empty directory and fetch the page and everything it links under
	// static/.
	admin := testutil.StartProc(t, filepath.Join(gobin, "nsqadmin"), nil,
		"--http-address=127.0.0.1:0", "--nsqd-http-address=127.0.0.1:1")
	var base string
	testutil.Eventually(t, 20*time.Second, func() bool {
		m := regexp.MustCompile(`HTTP: listening on (127\.0\.0\.1:\d+)`).FindStringSubmatch(admin.Stderr.String())
		if m != nil {
			base = "http://" + m[1]
		}
		return m != nil || admin.Exited()
	}, "nsqadmin did not say where it listens:\n%s", admin.Stderr.String())
	if base == "" {
		t.Fatalf("nsqadmin exited:\n%s", admin.Stderr.String())
	}
	page := httpGet(t, base+"/")
	links := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(links) == 0 {
		t.Fatalf("nsqadmin's page links no static assets:\n%s", page)
	}
	for _, l := range links {
		httpGet(t, base+l[1])
	}
}

// httpGet fetches url, fails the test unless it answers 200, and returns
// the body.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	return string(body)
}
