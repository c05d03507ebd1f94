package kamailio

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"time"
)

// ping sends one OPTIONS over UDP and waits up to 200 ms for a 200 OK:
// Kamailio opens its sockets before its workers route, so only an answer
// proves it is ready.
func ping(addr string) error {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	tag := hex.EncodeToString(id)
	msg := fmt.Sprintf("OPTIONS sip:%[1]s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[2]s;branch=z9hG4bK%[3]s\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:ping@%[2]s>;tag=%[3]s\r\n"+
		"To: <sip:%[1]s>\r\n"+
		"Call-ID: %[3]s@calsync\r\n"+
		"CSeq: 1 OPTIONS\r\n"+
		"Content-Length: 0\r\n\r\n", addr, local, tag)
	if _, err := conn.Write([]byte(msg)); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200")) {
		line, _, _ := bytes.Cut(buf[:n], []byte("\r\n"))
		return fmt.Errorf("OPTIONS answered %q", line)
	}
	return nil
}
