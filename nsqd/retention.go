package nsqd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// LogRetention is --log-retention: how long and/or how much of the
// finished log --storage=log keeps for replay. The zero value keeps
// nothing finished. A finished segment stays while either limit holds.
type LogRetention struct {
	For   time.Duration // keep finished segments younger than this
	Bytes int64         // keep finished segments while the log is at most this big
}

// IsZero reports whether nothing finished is retained.
func (r LogRetention) IsZero() bool { return r.For <= 0 && r.Bytes <= 0 }

var sizeUnits = []struct {
	suffix string
	mult   int64
}{ // longest suffixes first
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"b", 1},
}

// Set parses "0", a duration ("72h"), a size ("10GiB", "500MB", "4096B")
// or both comma-separated ("72h,10GiB").
func (r *LogRetention) Set(s string) error {
	var out LogRetention
	parts := strings.Split(s, ",")
	if len(parts) > 2 {
		return fmt.Errorf("--log-retention %q: want a duration, a size or both (72h,10GiB)", s)
	}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "0" && len(parts) == 1 {
			break
		}
		if d, err := time.ParseDuration(p); err == nil {
			if d <= 0 || out.For != 0 {
				return fmt.Errorf("--log-retention %q: the duration must be positive and given once", s)
			}
			out.For = d
			continue
		}
		n, err := parseSize(p)
		if err != nil {
			return fmt.Errorf("--log-retention %q: %w (want a duration such as 72h, a size such as 10GiB or 500MB, or both: 72h,10GiB)", s, err)
		}
		if out.Bytes != 0 {
			return fmt.Errorf("--log-retention %q: the size must be given once", s)
		}
		out.Bytes = n
	}
	*r = out
	return nil
}

var errBadSize = errors.New("not a size")

func parseSize(s string) (int64, error) {
	low := strings.ToLower(s)
	for _, u := range sizeUnits {
		if !strings.HasSuffix(low, u.suffix) {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(low[:len(low)-len(u.suffix)]), 10, 64)
		if err != nil || n <= 0 || n > (1<<62)/u.mult {
			return 0, errBadSize
		}
		return n * u.mult, nil
	}
	return 0, errBadSize
}

// String is the canonical form Set accepts.
func (r LogRetention) String() string {
	if r.IsZero() {
		return "0"
	}
	var parts []string
	if r.For > 0 {
		parts = append(parts, r.For.String())
	}
	if r.Bytes > 0 {
		parts = append(parts, formatSize(r.Bytes))
	}
	return strings.Join(parts, ",")
}

func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// Get returns the value (flag.Getter), so the config layer copies it.
func (r *LogRetention) Get() any { return *r }

// MarshalText shows the option in GET /config/log_retention as it is set.
func (r LogRetention) MarshalText() ([]byte, error) { return []byte(r.String()), nil }
