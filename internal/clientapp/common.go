package clientapp

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/version"
)

// UserAgent is the user_agent an app sends in IDENTIFY, e.g.
// "nsq_tail/1.3.0 go-nsq/1.1.0".
func UserAgent(app string) string {
	return fmt.Sprintf("%s/%s go-nsq/%s", app, version.Binary, nsq.VERSION)
}

// VersionLine is what an app's --version prints, e.g. "nsq_tail v1.3.0"
// (NSQ's apps print no build suffix, unlike its daemons).
func VersionLine(app string) string {
	return version.Line(app)
}

// NewLogger returns the logger of the apps' own messages: NSQ's apps use
// Go's standard logger, "YYYY/MM/DD HH:MM:SS <message>" on stderr.
func NewLogger(w io.Writer) *log.Logger {
	return log.New(w, "", log.LstdFlags)
}

// ErrExit is returned by ParseFlags when the program should stop; Code
// says with which exit status (0 after -h, 2 after a flag error).
type ErrExit struct{ Code int }

func (e ErrExit) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ParseFlags parses args with fs, which must use flag.ContinueOnError, and
// maps the outcome onto Go's flag.ExitOnError behaviour without exiting:
// -h/--help gives ErrExit{0}, any other error (already reported with the
// usage on fs.Output()) gives ErrExit{2}.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		return ErrExit{Code: 0}
	default:
		return ErrExit{Code: 2}
	}
}

// The address-source errors (§0.3 of the apps spec).
var (
	ErrNoAddress   = errors.New("--nsqd-tcp-address or --lookupd-http-address required")
	ErrBothAddress = errors.New("use --nsqd-tcp-address or --lookupd-http-address not both")
)

// CheckAddressSource enforces that exactly one of the two address lists
// is given.
func CheckAddressSource(nsqdTCP, lookupdHTTP []string) error {
	switch {
	case len(nsqdTCP) == 0 && len(lookupdHTTP) == 0:
		return ErrNoAddress
	case len(nsqdTCP) > 0 && len(lookupdHTTP) > 0:
		return ErrBothAddress
	}
	return nil
}

// Connect points c at its source: straight at the nsqd TCP addresses, or
// at the lookupds, which go-nsq polls for producers of the topic.
func Connect(c *nsq.Consumer, nsqdTCP, lookupdHTTP []string) error {
	if len(nsqdTCP) > 0 {
		return c.ConnectToNSQDs(nsqdTCP)
	}
	return c.ConnectToNSQLookupds(lookupdHTTP)
}

// Hostname returns the full and short (up to the first dot) host names,
// as go-nsq uses them for hostname and client_id.
func Hostname() (full, short string, err error) {
	full, err = os.Hostname()
	if err != nil {
		return "", "", fmt.Errorf("get hostname: %w", err)
	}
	short, _, _ = strings.Cut(full, ".")
	return full, short, nil
}
