package version

import (
	"fmt"
	"runtime"
	"strings"
)

// Binary is the NSQ version this build is compatible with.
const Binary = "1.3.0"

// Build is the version of this build, set at link time:
//
//	go build -ldflags "-X github.com/dropin/nsq/internal/version.Build=1.3.0+e72cdc2"
//
// scripts/version.sh derives it from `git describe --tags --always --dirty`.
// It is empty in a plain `go build` or `go install`, and Number then falls
// back to Binary. It is a variable only because -X can set nothing else;
// nothing assigns it at run time.
var Build string

// Number is the version --version shows, without a leading "v": Build if
// it was set at link time, otherwise Binary.
func Number() string {
	if b := strings.TrimPrefix(strings.TrimSpace(Build), "v"); b != "" {
		return b
	}
	return Binary
}

// String returns the --version line of a daemon, e.g.
// "nsqd v1.3.0 (built w/go1.26.8)".
func String(app string) string {
	return fmt.Sprintf("%s v%s (built w/%s)", app, Number(), runtime.Version())
}

// Line returns the --version line of a client app, e.g. "nsq_tail v1.3.0"
// (NSQ's apps print no build suffix, unlike its daemons).
func Line(app string) string {
	return fmt.Sprintf("%s v%s", app, Number())
}
