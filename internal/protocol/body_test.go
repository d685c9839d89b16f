package protocol

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

func be32(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestReadMPUB(t *testing.T) {
	const maxBody, maxMsg = 1024, 16
	cases := []struct {
		name     string
		in       []byte
		want     []string
		code     string // expected error code, "" for success
		desc     string
		trailing int // bytes the decoder must leave unread
	}{
		{name: "one", in: AppendMPUB(nil, []byte("a")), want: []string{"a"}},
		{name: "several", in: AppendMPUB(nil, []byte("a"), []byte("bc"), []byte("def")), want: []string{"a", "bc", "def"}},
		{name: "trailing bytes stay unread", in: cat(AppendMPUB(nil, []byte("x")), []byte("zz")), want: []string{"x"}, trailing: 2},
		{name: "no count", in: []byte{0, 0}, code: ErrBadBody, desc: "MPUB failed to read message count"},
		{name: "zero count", in: be32(0), code: ErrBadBody, desc: "MPUB invalid message count 0"},
		{name: "negative count", in: be32(-1), code: ErrBadBody, desc: "MPUB invalid message count -1"},
		{name: "count over body", in: be32((maxBody-4)/5 + 1), code: ErrBadBody, desc: "MPUB invalid message count 205"},
		{name: "no size", in: cat(be32(2), AppendBody(nil, []byte("a"))), code: ErrBadMessage, desc: "MPUB failed to read message(1) body size"},
		{name: "zero size", in: cat(be32(1), be32(0)), code: ErrBadMessage, desc: "MPUB invalid message(0) body size 0"},
		{name: "message too big", in: cat(be32(1), be32(maxMsg+1)), code: ErrBadMessage, desc: "MPUB message too big 17 > 16"},
		{name: "short body", in: cat(be32(1), be32(3), []byte("ab")), code: ErrBadMessage, desc: "MPUB failed to read message body"},
	}
	for _, c := range cases {
		for _, total := range []int{0, len(c.in)} {
			t.Run(c.name, func(t *testing.T) {
				r := bytes.NewReader(c.in)
				got, err := ReadMPUB(r, total, maxBody, maxMsg)
				if c.code != "" {
					var perr *Error
					if !errors.As(err, &perr) || perr.Code != c.code || perr.Desc != c.desc || !perr.Fatal {
						t.Fatalf("err = %#v, want fatal %s %q", err, c.code, c.desc)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(c.want) {
					t.Fatalf("got %d messages, want %d", len(got), len(c.want))
				}
				for i, w := range c.want {
					if string(got[i]) != w {
						t.Errorf("message %d = %q, want %q", i, got[i], w)
					}
				}
				if r.Len() != c.trailing {
					t.Errorf("%d bytes left unread, want %d", r.Len(), c.trailing)
				}
			})
		}
	}
}

// The bodies share one allocation when the total is known, and appending
// to one must not overwrite the next.
func TestReadMPUBSlab(t *testing.T) {
	in := AppendMPUB(nil, []byte("ab"), []byte("cd"))
	got, err := ReadMPUB(bytes.NewReader(in), len(in), 1024, 16)
	if err != nil {
		t.Fatal(err)
	}
	if cap(got[0]) != 2 {
		t.Errorf("cap of first body = %d, want 2 (capped slab slice)", cap(got[0]))
	}
	_ = append(got[0], 'X')
	if string(got[1]) != "cd" {
		t.Errorf("append to body 0 changed body 1 to %q", got[1])
	}
}

func TestReadInt32(t *testing.T) {
	for _, r := range []io.Reader{
		bytes.NewReader(be32(-2)),
		bufio.NewReader(bytes.NewReader(be32(-2))),
	} {
		v, err := ReadInt32(r)
		if err != nil || v != -2 {
			t.Errorf("%T: ReadInt32 = %d, %v; want -2", r, v, err)
		}
		if _, err := ReadInt32(r); err == nil {
			t.Errorf("%T: ReadInt32 past the end did not fail", r)
		}
	}
	if _, err := ReadInt32(bufio.NewReader(bytes.NewReader([]byte{1, 2}))); err == nil {
		t.Error("ReadInt32 of 2 bytes did not fail")
	}
}

func TestReadFrame(t *testing.T) {
	var b bytes.Buffer
	WriteFrame(&b, FrameTypeError, []byte("E_INVALID x"))
	WriteFrame(&b, FrameTypeResponse, nil)
	r := bufio.NewReader(&b)
	buf := make([]byte, 0, 64)
	typ, data, err := ReadFrame(r, buf)
	if err != nil || typ != FrameTypeError || string(data) != "E_INVALID x" {
		t.Fatalf("ReadFrame = %d, %q, %v", typ, data, err)
	}
	if &data[0] != &buf[:1][0] {
		t.Error("ReadFrame did not read into the buffer it was given")
	}
	typ, data, err = ReadFrame(r, nil)
	if err != nil || typ != FrameTypeResponse || len(data) != 0 {
		t.Fatalf("empty frame: %d, %q, %v", typ, data, err)
	}
	if _, _, err := ReadFrame(bytes.NewReader(be32(3)), nil); err == nil || !strings.Contains(err.Error(), "invalid size 3") {
		t.Errorf("size below 4: err = %v", err)
	}
	if _, _, err := ReadFrame(bytes.NewReader(cat(be32(10), be32(0), []byte("ab"))), nil); err == nil {
		t.Error("short frame did not fail")
	}
}

func TestBody(t *testing.T) {
	var b bytes.Buffer
	WriteBody(&b, []byte("hi"))
	if want := AppendBody(nil, []byte("hi")); !bytes.Equal(b.Bytes(), want) || !bytes.Equal(want, []byte{0, 0, 0, 2, 'h', 'i'}) {
		t.Errorf("WriteBody = %v, AppendBody = %v", b.Bytes(), want)
	}
}

// Reading sizes and frames off a buffered connection must not allocate:
// nsqd reads every command body this way.
func TestReadAllocs(t *testing.T) {
	var frames bytes.Buffer
	for i := 0; i < 200; i++ {
		WriteFrame(&frames, FrameTypeMessage, []byte("0123456789"))
	}
	r := bufio.NewReaderSize(bytes.NewReader(frames.Bytes()), 4096)
	buf := make([]byte, 64)
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := ReadFrame(r, buf); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("ReadFrame from a bufio.Reader: %v allocs, want 0", n)
	}
}

func BenchmarkReadMPUB(b *testing.B) {
	msgs := make([][]byte, 100)
	for i := range msgs {
		msgs[i] = make([]byte, 256)
	}
	in := AppendMPUB(nil, msgs...)
	r := bytes.NewReader(in)
	br := bufio.NewReaderSize(r, 64*1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for i := 0; i < b.N; i++ {
		r.Reset(in)
		br.Reset(r)
		if _, err := ReadMPUB(br, len(in), 1<<20, 1024); err != nil {
			b.Fatal(err)
		}
	}
}
