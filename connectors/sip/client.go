package sip

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// ErrCredentials: the server rejected the publisher's digest credentials.
var ErrCredentials = errors.New("the SIP server rejected the publisher's credentials (check connectors.sip.username and password)")

// server is where PUBLISHes go: the address and transport of the
// configured server URI.
type server struct {
	dest      string // host:port
	transport string // UDP, TCP or TLS
}

// parseServer reads sip:host[:port][;transport=udp|tcp|tls] or
// sips:host[:port] (TLS).
func parseServer(s string) (server, error) {
	var u gosip.Uri
	if err := gosip.ParseUri(s, &u); err != nil {
		return server{}, fmt.Errorf("server %q is not a SIP URI: %w", s, err)
	}
	if u.Scheme != "sip" && u.Scheme != "sips" {
		return server{}, fmt.Errorf("server %q: the scheme must be sip: or sips: (sip:pbx.example.com:5060;transport=tcp)", s)
	}
	if u.Host == "" {
		return server{}, fmt.Errorf("server %q has no host", s)
	}
	srv := server{transport: "UDP"}
	port := 5060
	if u.Scheme == "sips" {
		srv.transport, port = "TLS", 5061
	}
	if t, ok := u.UriParams.Get("transport"); ok {
		switch strings.ToUpper(t) {
		case "UDP", "TCP":
			srv.transport = strings.ToUpper(t)
		case "TLS":
			srv.transport, port = "TLS", 5061
		default:
			return server{}, fmt.Errorf("server %q: transport %q is not udp, tcp or tls", s, t)
		}
	}
	if u.Port > 0 {
		port = u.Port
	}
	srv.dest = net.JoinHostPort(u.Host, strconv.Itoa(port))
	return srv, nil
}

// client sends PUBLISH requests with digest authentication. It keeps the
// last challenge and answers it in advance on later requests (nonce reuse),
// so a publication costs one round trip, not two; a stale or missing
// nonce costs the challenge again. Safe for concurrent use.
type client struct {
	ua       *sipgo.UserAgent
	c        *sipgo.Client
	srv      server
	domain   string
	username string
	password string

	mu     sync.Mutex
	chal   *digest.Challenge
	header string // Authorization or Proxy-Authorization
	count  int
}

func newClient(srv server, domain, username, password string, tlsConf *tls.Config, log *slog.Logger) (*client, error) {
	opts := []sipgo.UserAgentOption{
		sipgo.WithUserAgent("calsync"),
		sipgo.WithUserAgentHostname(domain),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(gosip.WithTransactionLayerLogger(log)),
	}
	if tlsConf != nil {
		opts = append(opts, sipgo.WithUserAgenTLSConfig(tlsConf))
	}
	ua, err := sipgo.NewUA(opts...)
	if err != nil {
		return nil, err
	}
	c, err := sipgo.NewClient(ua, sipgo.WithClientLogger(log))
	if err != nil {
		_ = ua.Close()
		return nil, err
	}
	return &client{ua: ua, c: c, srv: srv, domain: domain, username: username, password: password}, nil
}

func (cl *client) close() error { return cl.ua.Close() }

// publish is one PUBLISH request as RFC 3903 Table 1 shapes it.
type publish struct {
	entity  string // Request-URI and To: the presentity
	ifMatch string // SIP-If-Match, empty for an initial publication
	expires int    // seconds; 0 removes
	body    []byte // PIDF; nil for a refresh or a removal
}

// answer is what the server answered.
type answer struct {
	code       int
	reason     string
	etag       string
	expires    int // -1 when absent
	minExpires int // -1 when absent
}

// send sends p and answers digest challenges. A transport failure or a
// timeout is returned as an error; every SIP answer (also 4xx/5xx) as an
// answer, except repeated challenges: ErrCredentials.
func (cl *client) send(ctx context.Context, p publish) (answer, error) {
	var uri gosip.Uri
	if err := gosip.ParseUri(p.entity, &uri); err != nil {
		return answer{}, fmt.Errorf("presentity %q: %w", p.entity, err)
	}
	req := gosip.NewRequest(gosip.PUBLISH, uri)
	req.SetDestination(cl.srv.dest)
	req.SetTransport(cl.srv.transport)
	from := &gosip.FromHeader{Address: gosip.Uri{Scheme: "sip", User: cl.username, Host: cl.domain}, Params: gosip.NewParams()}
	from.Params.Add("tag", randomToken())
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: uri, Params: gosip.NewParams()})
	req.AppendHeader(gosip.NewHeader("Event", "presence"))
	req.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(p.expires)))
	if p.ifMatch != "" {
		req.AppendHeader(gosip.NewHeader("SIP-If-Match", p.ifMatch))
	}
	if p.body != nil {
		req.AppendHeader(gosip.NewHeader("Content-Type", "application/pidf+xml"))
		req.SetBody(p.body)
	} else {
		req.SetBody(nil)
	}
	cl.authorize(req)
	res, err := cl.c.Do(ctx, req)
	for try := 0; err == nil && isChallenge(res.StatusCode) && try < 2; try++ {
		stale, lerr := cl.learn(res)
		if lerr != nil {
			return answer{}, lerr
		}
		if try == 1 && !stale {
			return answer{}, ErrCredentials
		}
		cl.authorize(req)
		req.RemoveHeader("Via")
		res, err = cl.c.Do(ctx, req, sipgo.ClientRequestIncreaseCSEQ, sipgo.ClientRequestAddVia)
	}
	if err != nil {
		return answer{}, err
	}
	if isChallenge(res.StatusCode) {
		return answer{}, ErrCredentials
	}
	a := answer{code: res.StatusCode, reason: res.Reason, expires: -1, minExpires: -1}
	if h := res.GetHeader("SIP-ETag"); h != nil {
		a.etag = strings.TrimSpace(h.Value())
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			a.expires = n
		}
	}
	if h := res.GetHeader("Min-Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			a.minExpires = n
		}
	}
	return a, nil
}

func isChallenge(code int) bool { return code == 401 || code == 407 }

// learn keeps the challenge of a 401/407; stale reports the server's
// stale=true (the nonce expired, the credentials were fine).
func (cl *client) learn(res *gosip.Response) (stale bool, err error) {
	name, header := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		name, header = "Proxy-Authenticate", "Proxy-Authorization"
	}
	h := res.GetHeader(name)
	if h == nil {
		return false, fmt.Errorf("the server answered %d without %s", res.StatusCode, name)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		return false, fmt.Errorf("the server's %s: %w", name, err)
	}
	chal.Algorithm = strings.ToUpper(chal.Algorithm)
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.chal, cl.header, cl.count = chal, header, 0
	return chal.Stale, nil
}

// authorize answers the last challenge in req, if there was one.
func (cl *client) authorize(req *gosip.Request) {
	cl.mu.Lock()
	chal, header := cl.chal, cl.header
	cl.count++
	count := cl.count
	cl.mu.Unlock()
	if chal == nil {
		return
	}
	cred, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: req.Recipient.Addr(),
		Username: cl.username, Password: cl.password, Count: count})
	if err != nil {
		return // the server challenges again and says why
	}
	req.RemoveHeader("Authorization")
	req.RemoveHeader("Proxy-Authorization")
	req.AppendHeader(gosip.NewHeader(header, cred.String()))
}

func randomToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
