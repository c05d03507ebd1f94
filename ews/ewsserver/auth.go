package ewsserver

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/ews/ewsserver/ntlmserver"
	"github.com/calsync/calsync/internal/clock"
)

// AuthOptions selects authentication. With neither Basic nor NTLM every
// request runs as Anonymous.
type AuthOptions struct {
	// Basic accepts "Authorization: Basic".
	Basic bool
	// NTLM accepts NTLMv2 under the NTLM and Negotiate schemes, with the
	// two-step 401 handshake IIS performs; the connection stays
	// authenticated afterwards.
	NTLM bool
	// CheckPassword verifies Basic credentials and returns the canonical
	// account name.
	CheckPassword func(user, password string) (account string, ok bool)
	// Password returns an account's password for NTLM verification.
	Password func(user string) (account, password string, ok bool)
	// Realm is the Basic realm (default the request host).
	Realm string
	// Anonymous is the account of unauthenticated requests when no method
	// is enabled.
	Anonymous string
	// NTLMDomain is the NetBIOS domain the NTLM challenge announces.
	NTLMDomain string
}

type authenticator struct {
	opts  AuthOptions
	clock clock.Clock
	ntlm  *ntlmserver.Server

	mu    sync.Mutex
	conns map[string]*ntlmConn // by remote address (one TCP connection)
}

type ntlmConn struct {
	handshake *ntlmserver.Handshake
	account   string
	seen      time.Time
}

const maxNTLMConns = 8192

func newAuthenticator(o AuthOptions, c clock.Clock) (*authenticator, error) {
	a := &authenticator{opts: o, clock: c, conns: map[string]*ntlmConn{}}
	if o.Basic && o.CheckPassword == nil {
		return nil, errors.New("ewsserver: Basic authentication needs AuthOptions.CheckPassword")
	}
	if o.NTLM {
		if o.Password == nil {
			return nil, errors.New("ewsserver: NTLM authentication needs AuthOptions.Password")
		}
		s, err := ntlmserver.New(ntlmserver.Options{Now: c.Now, Domain: o.NTLMDomain, Lookup: func(user, domain string) (string, string, bool) {
			return o.Password(user)
		}})
		if err != nil {
			return nil, err
		}
		a.ntlm = s
	}
	return a, nil
}

func (a *authenticator) enabled() bool { return a.opts.Basic || a.opts.NTLM }

// challenge answers 401 with the schemes IIS offers.
func (a *authenticator) challenge(w http.ResponseWriter) {
	if a.opts.NTLM {
		w.Header().Add("WWW-Authenticate", "Negotiate")
		w.Header().Add("WWW-Authenticate", "NTLM")
	}
	if a.opts.Basic {
		realm := a.opts.Realm
		if realm == "" {
			realm = "Exchange"
		}
		w.Header().Add("WWW-Authenticate", `Basic realm="`+realm+`"`)
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("<html><head><title>401 - Unauthorized</title></head><body><h1>401 - Unauthorized: Access is denied due to invalid credentials.</h1></body></html>"))
}

// authenticate returns the account or writes the 401 and returns false.
func (a *authenticator) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	if !a.enabled() {
		return a.opts.Anonymous, true
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	token = strings.TrimSpace(token)
	switch {
	case strings.EqualFold(scheme, "Basic") && a.opts.Basic:
		raw, err := base64.StdEncoding.DecodeString(token)
		if err == nil {
			user, pass, ok := strings.Cut(string(raw), ":")
			if ok {
				if account, good := a.opts.CheckPassword(user, pass); good {
					return account, true
				}
			}
		}
	case (strings.EqualFold(scheme, "NTLM") || strings.EqualFold(scheme, "Negotiate")) && a.opts.NTLM:
		return a.ntlmStep(w, r, scheme, token)
	case scheme == "" && a.opts.NTLM:
		if account := a.connAccount(r.RemoteAddr); account != "" {
			return account, true
		}
	}
	a.challenge(w)
	return "", false
}

func (a *authenticator) ntlmStep(w http.ResponseWriter, r *http.Request, scheme, token string) (string, bool) {
	msg, err := base64.StdEncoding.DecodeString(token)
	if err != nil || len(msg) < 12 || string(msg[:8]) != "NTLMSSP\x00" {
		a.challenge(w)
		return "", false
	}
	switch msg[8] {
	case 1:
		hs, challenge, err := a.ntlm.Challenge(msg)
		if err != nil {
			a.challenge(w)
			return "", false
		}
		a.mu.Lock()
		a.pruneLocked()
		a.conns[r.RemoteAddr] = &ntlmConn{handshake: hs, seen: a.clock.Now()}
		a.mu.Unlock()
		w.Header().Set("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(challenge))
		w.WriteHeader(http.StatusUnauthorized)
		return "", false
	case 3:
		a.mu.Lock()
		st := a.conns[r.RemoteAddr]
		a.mu.Unlock()
		if st == nil {
			a.challenge(w)
			return "", false
		}
		account, err := a.ntlm.Authenticate(st.handshake, msg)
		if err != nil {
			a.mu.Lock()
			delete(a.conns, r.RemoteAddr)
			a.mu.Unlock()
			a.challenge(w)
			return "", false
		}
		a.mu.Lock()
		st.account, st.seen, st.handshake = account, a.clock.Now(), nil
		a.mu.Unlock()
		return account, true
	}
	a.challenge(w)
	return "", false
}

func (a *authenticator) connAccount(remote string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if st := a.conns[remote]; st != nil && st.account != "" {
		st.seen = a.clock.Now()
		return st.account
	}
	return ""
}

// pruneLocked forgets idle handshakes so the table stays bounded.
func (a *authenticator) pruneLocked() {
	if len(a.conns) < maxNTLMConns {
		return
	}
	cutoff := a.clock.Now().Add(-10 * time.Minute)
	for k, st := range a.conns {
		if st.seen.Before(cutoff) || len(a.conns) >= maxNTLMConns {
			delete(a.conns, k)
		}
	}
}
