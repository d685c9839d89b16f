package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// composeService is what TestComposeFile reads of one service in
// compose.yaml, which keeps each service's command and volumes on one line
// as flow sequences (so this test needs no YAML parser).
type composeService struct {
	command []string
	volumes []string
}

func readCompose(t *testing.T) map[string]*composeService {
	t.Helper()
	data, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	serviceLine := regexp.MustCompile(`^  ([a-z0-9-]+):$`)
	services := map[string]*composeService{}
	var cur *composeService
	inServices := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "services:":
			inServices = true
		case inServices && line != "" && line[0] != ' ' && line[0] != '#':
			inServices = false
		case !inServices:
		case serviceLine.MatchString(line):
			cur = &composeService{}
			services[serviceLine.FindStringSubmatch(line)[1]] = cur
		case cur != nil && strings.HasPrefix(line, "    command: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "    command: ")), &cur.command); err != nil {
				t.Fatalf("compose.yaml: %q: %v", line, err)
			}
		case cur != nil && strings.HasPrefix(line, "    volumes: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "    volumes: ")), &cur.volumes); err != nil {
				t.Fatalf("compose.yaml: %q: %v", line, err)
			}
		}
	}
	return services
}

// TestComposeFile checks the seed topology in compose.yaml: 3 nsqd, 2
// nsqlookupd and 1 nsqadmin; every nsqd registered with both lookupds and
// keeping /data on a volume of its own; nsqadmin asking both lookupds; and
// no flag that the programs do not have.
func TestComposeFile(t *testing.T) {
	services := readCompose(t)
	byProgram := map[string][]string{}
	for name, s := range services {
		if len(s.command) == 0 {
			t.Fatalf("service %s has no command", name)
		}
		byProgram[s.command[0]] = append(byProgram[s.command[0]], name)
	}
	for prog, n := range map[string]int{"/nsqd": 3, "/nsqlookupd": 2, "/nsqadmin": 1} {
		if len(byProgram[prog]) != n {
			t.Errorf("%d services run %s (%v), want %d", len(byProgram[prog]), prog, byProgram[prog], n)
		}
	}
	slices.Sort(byProgram["/nsqlookupd"])

	lookupds := func(s *composeService, flag string, port string) []string {
		var got []string
		for _, arg := range s.command[1:] {
			if v, ok := strings.CutPrefix(arg, "--"+flag+"="); ok {
				got = append(got, strings.TrimSuffix(v, ":"+port))
			}
		}
		slices.Sort(got)
		return got
	}
	volumes := map[string]bool{}
	for _, name := range byProgram["/nsqd"] {
		s := services[name]
		if got := lookupds(s, "lookupd-tcp-address", "4160"); !slices.Equal(got, byProgram["/nsqlookupd"]) {
			t.Errorf("%s registers with %v, want %v", name, got, byProgram["/nsqlookupd"])
		}
		var data string
		for _, v := range s.volumes {
			if vol, ok := strings.CutSuffix(v, ":/data"); ok {
				data = vol
			}
		}
		if data == "" || volumes[data] {
			t.Errorf("%s: /data volume %q missing or shared (volumes %v)", name, data, s.volumes)
		}
		volumes[data] = true
	}
	for _, name := range byProgram["/nsqadmin"] {
		if got := lookupds(services[name], "lookupd-http-address", "4161"); !slices.Equal(got, byProgram["/nsqlookupd"]) {
			t.Errorf("%s asks %v, want %v", name, got, byProgram["/nsqlookupd"])
		}
	}

	// Every flag used is one the program lists in --help.
	for prog, names := range byProgram {
		bin := testutil.Build(t, "github.com/dropin/nsq/apps/"+strings.TrimPrefix(prog, "/"))
		_, help, _ := tryCommand(time.Minute, t.TempDir(), nil, bin, "--help")
		for _, name := range names {
			for _, arg := range services[name].command[1:] {
				flag, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
				if !strings.Contains(help, "\n  -"+flag+" ") && !strings.Contains(help, "\n  -"+flag+"\n") {
					t.Errorf("%s: %s has no flag %q", name, filepath.Base(prog), flag)
				}
			}
		}
	}
}
