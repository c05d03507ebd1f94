package graphclient

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/calsync/calsync/graph"
	"github.com/calsync/calsync/graph/internal/graphwire"
	"github.com/calsync/calsync/internal/clock"
)

// Tokens gives the client its bearer token. *TokenSource implements it; a
// test may implement it with a constant.
type Tokens interface {
	// Token returns a valid access token.
	Token(ctx context.Context) (string, error)
	// Invalidate drops tok after Graph refused it (401), so that the next
	// Token fetches a new one; a token already replaced is kept.
	Invalidate(tok string)
}

// TokenSource is the one app-only token of a tenant, shared by every
// caller (all workers, the subscription renewer, the settings poller): at
// most one request to the token endpoint at a time; the token is renewed
// in the background once three quarters of its lifetime (at most 5 min
// before expiry) have passed, callers keeping the old one meanwhile; only
// without a valid token do callers wait, each until its own context ends.
// After a failed request the next one waits 1 s, doubling up to 1 min;
// callers without a valid token get the last failure meanwhile.
// It is safe for concurrent use.
type TokenSource struct {
	cred  Credentials
	http  *http.Client
	clock clock.Clock

	mu       sync.Mutex
	token    string
	expiry   time.Time
	renewAt  time.Time
	inflight *tokenFetch
	// After a failed request the next waits until retryAt (growing with
	// failures); meanwhile callers keep a valid token or get lastErr.
	failures int
	retryAt  time.Time
	lastErr  error
}

// Pauses after failed token requests: every caller that found no token
// (or one due for renewal) would otherwise start the next request as soon
// as the last failed — a loop Entra answers with throttling
// (AADSTS50196).
const (
	retryFirst = time.Second
	retryMax   = time.Minute
)

type tokenFetch struct {
	done chan struct{}
	err  error
}

// TokenOptions configure NewTokenSource; nil means defaults.
type TokenOptions struct {
	// HTTPClient reaches the token endpoint (default: a new http.Client
	// with a 30 s timeout).
	HTTPClient *http.Client
	// Clock decides when the token is due (default: real time).
	Clock clock.Clock
}

// fetchTimeout bounds one token request; it runs detached from the
// caller that started it, since other callers wait for it too.
const fetchTimeout = 30 * time.Second

// NewTokenSource checks the credentials and returns the tenant's token
// source. No request is made until the first Token.
func NewTokenSource(cred Credentials, opts *TokenOptions) (*TokenSource, error) {
	if err := cred.validate(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &TokenOptions{}
	}
	s := &TokenSource{cred: cred, http: opts.HTTPClient, clock: opts.Clock}
	if s.http == nil {
		s.http = &http.Client{Timeout: fetchTimeout}
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	return s, nil
}

// Token implements Tokens.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	for {
		s.mu.Lock()
		now := s.clock.Now()
		usable := s.token != "" && now.Before(s.expiry)
		if usable && now.Before(s.renewAt) {
			tok := s.token
			s.mu.Unlock()
			return tok, nil
		}
		if f := s.inflight; f != nil {
			if usable { // someone renews; the old token is still good
				tok := s.token
				s.mu.Unlock()
				return tok, nil
			}
			s.mu.Unlock()
			select {
			case <-f.done:
				if f.err != nil {
					return "", f.err
				}
				continue
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		if now.Before(s.retryAt) { // the last request failed a moment ago
			tok, err := s.token, s.lastErr
			s.mu.Unlock()
			if usable {
				return tok, nil
			}
			return "", err
		}
		f := &tokenFetch{done: make(chan struct{})}
		s.inflight = f
		s.mu.Unlock()
		// The fetch serves every waiter: it runs detached from this
		// caller, who may give up (ctx) like the others.
		go s.runFetch(context.WithoutCancel(ctx), f)
		if usable {
			s.mu.Lock()
			tok := s.token
			s.mu.Unlock()
			return tok, nil
		}
	}
}

// runFetch makes the one token request and publishes its outcome.
func (s *TokenSource) runFetch(ctx context.Context, f *tokenFetch) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	tok, lifetime, err := s.fetch(ctx)
	cancel()
	s.mu.Lock()
	s.inflight = nil
	f.err = err
	now := s.clock.Now()
	if err == nil {
		s.token = tok
		s.expiry = now.Add(lifetime)
		s.renewAt = now.Add(lifetime - min(lifetime/4, 5*time.Minute))
		s.failures, s.retryAt, s.lastErr = 0, time.Time{}, nil
	} else {
		s.failures++
		s.retryAt = now.Add(min(retryFirst<<min(s.failures-1, 10), retryMax))
		s.lastErr = err
	}
	s.mu.Unlock()
	close(f.done)
}

// Invalidate implements Tokens.
func (s *TokenSource) Invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == tok {
		s.token = ""
	}
}

// fetch makes one client-credentials request. golang.org/x/oauth2's
// clientcredentials does the form POST and the answer's parsing (both
// expires_in spellings); the caching is ours, because it must run on the
// injected clock and a certificate needs a fresh assertion per request.
func (s *TokenSource) fetch(ctx context.Context) (string, time.Duration, error) {
	cfg := clientcredentials.Config{
		ClientID:     s.cred.ClientID,
		ClientSecret: s.cred.ClientSecret,
		TokenURL:     s.cred.TokenURL(),
		Scopes:       []string{s.cred.Scope},
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	if cfg.Scopes[0] == "" {
		cfg.Scopes[0] = graphwire.DefaultScope
	}
	if s.cred.ClientSecret == "" {
		assertion, err := clientAssertion(s.cred, s.clock.Now())
		if err != nil {
			return "", 0, &graph.TokenError{Err: err}
		}
		cfg.EndpointParams = map[string][]string{
			"client_assertion_type": {graphwire.AssertionTypeJWTBearer},
			"client_assertion":      {assertion},
		}
	}
	tok, err := cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, s.http))
	if err != nil {
		return "", 0, tokenError(err)
	}
	return tok.AccessToken, lifetimeOf(tok), nil
}

// lifetimeOf reads expires_in as sent (a number or a string); a token
// without one is renewed after 5 minutes rather than trusted forever.
func lifetimeOf(tok *oauth2.Token) time.Duration {
	var secs int64
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		secs = int64(v)
	case string:
		secs, _ = strconv.ParseInt(v, 10, 64)
	}
	if secs <= 0 {
		return 5 * time.Minute
	}
	return time.Duration(secs) * time.Second
}

// tokenError turns the token endpoint's failure into a *graph.TokenError
// with the OAuth error and AADSTS codes, and nothing of the request.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return &graph.TokenError{Err: err}
	}
	te := &graph.TokenError{Code: re.ErrorCode, Description: re.ErrorDescription}
	if re.Response != nil {
		te.StatusCode = re.Response.StatusCode
	}
	var body graphwire.TokenErrorBody
	if graphwire.Unmarshal(re.Body, &body) == nil {
		te.AADSTS = body.ErrorCodes
	}
	if te.Code == "" && te.Description == "" {
		te.Err = errors.New("token endpoint answered without an OAuth error")
	}
	return te
}
