package replication

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// pubConn is a minimal V2 publisher that redials after any failure (go-nsq's
// Producer races with itself when it reconnects, which -race reports).
// One goroutine only.
type pubConn struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
}

func (p *pubConn) close() {
	if p.c != nil {
		p.c.Close()
		p.c = nil
	}
}

// pub publishes body and returns nil only on OK.
func (p *pubConn) pub(topic string, body []byte) error {
	if p.c == nil {
		c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
		if err != nil {
			return err
		}
		if _, err := c.Write([]byte("  V2")); err != nil {
			c.Close()
			return err
		}
		p.c, p.r = c, bufio.NewReader(c)
	}
	buf := []byte("PUB " + topic + "\n")
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(body)))
	p.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := p.c.Write(append(buf, body...)); err != nil {
		p.close()
		return err
	}
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(p.r, hdr[:]); err != nil {
			p.close()
			return err
		}
		size := binary.BigEndian.Uint32(hdr[:4])
		if size < 4 || size > 1<<20 {
			p.close()
			return fmt.Errorf("bad frame size %d", size)
		}
		data := make([]byte, size-4)
		if _, err := io.ReadFull(p.r, data); err != nil {
			p.close()
			return err
		}
		typ := binary.BigEndian.Uint32(hdr[4:])
		switch {
		case typ == 0 && string(data) == "_heartbeat_":
			if _, err := p.c.Write([]byte("NOP\n")); err != nil {
				p.close()
				return err
			}
		case typ == 0 && string(data) == "OK":
			return nil
		default:
			p.close() // E_PUB_FAILED closes the connection anyway
			return fmt.Errorf("%s", data)
		}
	}
}
