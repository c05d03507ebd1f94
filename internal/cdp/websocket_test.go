package cdp

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// echoServer is a tiny websocket server: it sends a ping, expects the pong,
// then echoes every message back unmasked, split into two fragments.
func echoServer(t *testing.T) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Sec-WebSocket-Key")
		sum := sha1.Sum([]byte(key + websocketGUID))
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
		writeServerFrame(rw.Writer, true, opPing, []byte("hi"))
		_ = rw.Flush()
		for {
			op, payload, err := readClientFrame(rw.Reader)
			if err != nil {
				return
			}
			switch op {
			case opPong:
				if string(payload) != "hi" {
					t.Errorf("pong payload = %q, want hi", payload)
				}
			case opText:
				half := len(payload) / 2
				writeServerFrame(rw.Writer, false, opText, payload[:half])
				writeServerFrame(rw.Writer, true, opContinuation, payload[half:])
				_ = rw.Flush()
			case opClose:
				return
			}
		}
	}))
}

func writeServerFrame(w *bufio.Writer, fin bool, op byte, payload []byte) {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	_ = w.WriteByte(b0)
	switch n := len(payload); {
	case n < 126:
		_ = w.WriteByte(byte(n))
	case n <= 0xFFFF:
		_ = w.WriteByte(126)
		_ = binary.Write(w, binary.BigEndian, uint16(n))
	default:
		_ = w.WriteByte(127)
		_ = binary.Write(w, binary.BigEndian, uint64(n))
	}
	_, _ = w.Write(payload)
}

func readClientFrame(r *bufio.Reader) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 == 0 {
		return 0, nil, io.ErrUnexpectedEOF // clients must mask
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		_, _ = io.ReadFull(r, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		_, _ = io.ReadFull(r, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	var mask [4]byte
	if _, err := io.ReadFull(r, mask[:]); err != nil {
		return 0, nil, err
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, err
	}
	for i := range p {
		p[i] ^= mask[i%4]
	}
	return h[0] & 0x0F, p, nil
}

func TestWebSocketRoundTrip(t *testing.T) {
	srv := echoServer(t)
	defer srv.Close()
	ws, err := dialWebSocket("ws" + strings.TrimPrefix(srv.URL, "http") + "/devtools/page/1")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.Close()
	for _, size := range []int{0, 5, 125, 126, 300, 70000} {
		msg := []byte(strings.Repeat("x", size))
		if size > 0 {
			msg[size-1] = 'y'
		}
		if err := ws.WriteText(msg); err != nil {
			t.Fatalf("write %d bytes: %v", size, err)
		}
		got, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read %d bytes: %v", size, err)
		}
		if string(got) != string(msg) {
			t.Errorf("echo of %d bytes came back as %d bytes", size, len(got))
		}
	}
}

func TestWebSocketRefusesBadHandshake(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no websockets here", http.StatusNotFound)
	}))
	defer srv.Close()
	if _, err := dialWebSocket("ws" + strings.TrimPrefix(srv.URL, "http")); err == nil {
		t.Errorf("dial to a plain HTTP server = nil error")
	}
	if _, err := dialWebSocket(srv.URL); err == nil {
		t.Errorf("dial with an http:// URL = nil error")
	}
}
