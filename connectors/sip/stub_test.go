package sip

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/calsync/calsync/connectors"
	"github.com/calsync/calsync/internal/testenv"
)

// stubServer answers PUBLISH as servers other than Kamailio 5.6 may: a
// 401 challenge (WWW-Authenticate, as a registrar-style server does) and
// 423 Interval Too Brief below minExpires. It checks only that an answer
// to its challenge is there.
type stubServer struct {
	addr       string
	minExpires int

	mu      sync.Mutex
	expires []int // Expires of every authorized PUBLISH
	seq     int
}

func startStub(t *testing.T, minExpires int) *stubServer {
	t.Helper()
	s := &stubServer{minExpires: minExpires}
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnPublish(s.handle)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = pc.LocalAddr().String()
	go func() { _ = srv.ServeUDP(pc) }()
	t.Cleanup(func() {
		_ = pc.Close()
		_ = ua.Close()
	})
	return s
}

func (s *stubServer) handle(req *gosip.Request, tx gosip.ServerTransaction) {
	if req.GetHeader("Authorization") == nil {
		res := gosip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
		res.AppendHeader(gosip.NewHeader("WWW-Authenticate", `Digest realm="stub", nonce="abc123", algorithm=MD5`))
		_ = tx.Respond(res)
		return
	}
	exp, _ := strconv.Atoi(req.GetHeader("Expires").Value())
	if exp > 0 && exp < s.minExpires {
		res := gosip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
		res.AppendHeader(gosip.NewHeader("Min-Expires", strconv.Itoa(s.minExpires)))
		_ = tx.Respond(res)
		return
	}
	s.mu.Lock()
	s.expires = append(s.expires, exp)
	s.seq++
	etag := "stub." + strconv.Itoa(s.seq)
	s.mu.Unlock()
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(gosip.NewHeader("SIP-ETag", etag))
	res.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(exp)))
	_ = tx.Respond(res)
}

// A 401 is answered with Authorization; a 423 raises Expires to the
// server's Min-Expires for this and later publications.
func TestChallenge401AndMinExpires423(t *testing.T) {
	stub := startStub(t, 7200)
	c, err := New(Options{Server: "sip:" + stub.addr, Domain: "example.test", Username: "calsync", Password: "pw",
		Expires: time.Hour, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	c.Runner().Set("alice@example.com", connectors.State{Availability: "busy"})
	testenv.WaitFor(t, "alice published", func() bool { _, ok := c.pubs.get("alice@example.com"); return ok })
	c.Runner().Set("bob@example.com", connectors.State{Availability: "busy"})
	testenv.WaitFor(t, "bob published", func() bool { _, ok := c.pubs.get("bob@example.com"); return ok })
	stub.mu.Lock()
	defer stub.mu.Unlock()
	if len(stub.expires) != 2 || stub.expires[0] != 7200 || stub.expires[1] != 7200 {
		t.Fatalf("accepted publications with Expires %v, want [7200 7200]", stub.expires)
	}
	if p, _ := c.pubs.get("alice@example.com"); p.Granted != 7200 || p.ETag != "stub.1" {
		t.Fatalf("alice's publication %+v", p)
	}
}
