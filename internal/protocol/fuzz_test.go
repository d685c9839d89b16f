package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"testing"
)

// FuzzCommandParse feeds arbitrary bytes to the pieces of the V2 command
// parser: line trimming, parameter splitting, number parsing and the
// "is a whole command buffered" check.
func FuzzCommandParse(f *testing.F) {
	for _, s := range []string{"NOP\n", "PUB t\n\x00\x00\x00\x01a", "RDY 18446744073709551615\n",
		"RDY 18446744073709551616\n", "REQ 0123456789abcdef 10\r\n", "MPUB t\n\x00\x00\x00\x08\x00\x00\x00\x01",
		"IDENTIFY\n\xff\xff\xff\xff", "  \n", "SUB  a  b \n", "DPUB t -1\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		complete := CommandComplete(b)
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 && complete {
			t.Fatalf("complete without a newline: %q", b)
		}
		line := TrimLine(b)
		var p Params
		p.Split(line)
		for i := 0; i < p.Len(); i++ {
			tok := p.At(i)
			if bytes.IndexByte(tok, ' ') >= 0 {
				t.Fatalf("token %q holds a space", tok)
			}
			v, ok := ParseUint(tok)
			want, err := strconv.ParseUint(string(tok), 10, 64)
			if len(tok) == 0 {
				want, err = 0, nil
			}
			if ok != (err == nil) || ok && v != want {
				t.Fatalf("ParseUint(%q) = %d %v, strconv %d %v", tok, v, ok, want, err)
			}
		}
	})
}

// FuzzReadMPUB decodes arbitrary MPUB bodies: a decoded body re-encodes to
// the bytes it came from, and nothing is read past the last message.
func FuzzReadMPUB(f *testing.F) {
	f.Add(AppendMPUB(nil, []byte("a"), []byte("bc")), 0)
	f.Add(AppendMPUB(nil, bytes.Repeat([]byte("x"), 70<<10)), 1<<20)
	f.Add([]byte{0, 0, 0, 0}, 8)
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff}, 8)
	f.Add(binary.BigEndian.AppendUint32([]byte{0, 0, 0, 1}, 1<<31-1), 5<<20)
	f.Fuzz(func(t *testing.T, b []byte, total int) {
		const maxBody, maxMsg = 1 << 20, 128 << 10
		if total < 0 || total > maxBody {
			total = 0
		}
		r := bytes.NewReader(b)
		bodies, err := ReadMPUB(r, total, maxBody, maxMsg)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) || !perr.Fatal {
				t.Fatalf("error %v is not a fatal protocol error", err)
			}
			return
		}
		used := len(b) - r.Len()
		if enc := AppendMPUB(nil, bodies...); !bytes.Equal(enc, b[:used]) {
			t.Fatalf("re-encoded %d bytes differ from the %d read", len(enc), used)
		}
		for _, body := range bodies {
			if len(body) == 0 || len(body) > maxMsg {
				t.Fatalf("body of %d bytes accepted", len(body))
			}
		}
	})
}
