// Package version holds the version every daemon and app reports.
//
// We report NSQ's version number so that tools which compare versions
// (nsqadmin's out_of_date flag, clients that gate features on it) treat our
// daemons exactly like the NSQ release whose behaviour they reproduce.
package version

import (
	"fmt"
	"runtime"
)

// Binary is the NSQ version this build is compatible with.
const Binary = "1.3.0"

// String returns the --version line of a daemon, e.g.
// "nsqd v1.3.0 (built w/go1.26.8)".
func String(app string) string {
	return fmt.Sprintf("%s v%s (built w/%s)", app, Binary, runtime.Version())
}
