package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// errMissingRev reports a --filename-format without <REV> in a setting
// that needs revisions to tell files apart.
var errMissingRev = errors.New("missing <REV> in --filename-format when gzip, rotation, or work dir enabled")

// namer computes file names from --filename-format. Safe for concurrent
// use (read-only).
type namer struct {
	// format has <TOPIC>, <HOST> and <PID> already substituted; it still
	// holds <DATETIME> and, when revisions are used, <REV>.
	format         string
	datetimeFormat string
	hasRev         bool
}

// nameConfig is what a namer is built from.
type nameConfig struct {
	filenameFormat string
	datetimeFormat string
	hostIdentifier string
	gzip           bool
	needRev        bool // gzip, rotation or a separate work dir
	hostname       string
	shortHostname  string
	pid            int
}

// newNamer substitutes the fixed tokens for topic. <REV> is required when
// c.needRev and deleted otherwise; ".gz" is appended for gzip unless the
// format already ends in it.
func newNamer(c nameConfig, topic string) (*namer, error) {
	format := c.filenameFormat
	if c.needRev && !strings.Contains(format, "<REV>") {
		return nil, errMissingRev
	}
	if !c.needRev {
		format = strings.ReplaceAll(format, "<REV>", "")
	}
	host := c.shortHostname
	if c.hostIdentifier != "" {
		host = strings.NewReplacer("<SHORT_HOST>", c.shortHostname, "<HOSTNAME>", c.hostname).Replace(c.hostIdentifier)
	}
	format = strings.NewReplacer(
		"<TOPIC>", topic,
		"<HOST>", host,
		"<PID>", strconv.Itoa(c.pid),
	).Replace(format)
	if c.gzip && !strings.HasSuffix(format, ".gz") {
		format += ".gz"
	}
	return &namer{format: format, datetimeFormat: c.datetimeFormat, hasRev: c.needRev}, nil
}

// base is the name at t with <REV> left in place: two files belong to the
// same series of revisions exactly when their bases are equal.
func (n *namer) base(t time.Time) string {
	return strings.ReplaceAll(n.format, "<DATETIME>", strftime(n.datetimeFormat, t))
}

// name is the file's path relative to the work and output directories at
// time t and revision rev.
func (n *namer) name(t time.Time, rev int) string {
	return strings.ReplaceAll(n.base(t), "<REV>", fmt.Sprintf("-%06d", rev))
}
