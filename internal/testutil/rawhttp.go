package testutil

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
	"strings"
)

var dateLine = regexp.MustCompile(`(?m)^Date: [^\r]*\r$`)

// ReadRawHTTPReply reads one HTTP/1.1 reply from br exactly as sent, with
// its Date value replaced by X so two replies compare byte for byte: the
// head, then a body of Content-Length bytes, none after a 1xx status,
// else everything up to EOF. On error it returns what it read.
func ReadRawHTTPReply(br *bufio.Reader) (string, error) {
	var b strings.Builder
	clen := -1
	status := ""
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.String(), err
		}
		if status == "" {
			status = line
			continue
		}
		if line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			clen, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	var rest []byte
	var err error
	switch {
	case strings.HasPrefix(status, "HTTP/1.1 1"):
	case clen >= 0:
		rest = make([]byte, clen)
		var n int
		n, err = io.ReadFull(br, rest)
		rest = rest[:n]
	default:
		rest, err = io.ReadAll(br)
	}
	b.Write(rest)
	if err != nil {
		return b.String(), err
	}
	return dateLine.ReplaceAllString(b.String(), "Date: X\r"), nil
}
