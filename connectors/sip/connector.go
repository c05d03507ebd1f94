// Package sip is calsync's SIP presence connector: it PUBLISHes each
// user's presence as a PIDF document with RPID activities (RFC 3903, 3863,
// 4480) to a SIP presence server (Kamailio, OpenSIPS, a UC system that
// takes SIP SIMPLE) as one trusted publisher account with digest
// authentication. One publication per user is kept alive across changes,
// refreshes, server restarts and calsync restarts (entity tags in the
// store); the protocol-neutral part (queue, concurrency, back-off, status)
// is connectors.Runner.
package sip

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/calsync/calsync/connectors"
	"github.com/calsync/calsync/internal/clock"
	"github.com/calsync/calsync/store"
)

// Options configure a Connector. Server, Domain, Username and Password are
// required.
type Options struct {
	// Name names the connector (status, metrics, store documents); default sip.
	Name string
	// Server is the SIP server's URI: sip:host[:port][;transport=udp|tcp|tls]
	// or sips:host[:port].
	Server string
	// Domain is the SIP domain: the publisher's From and {domain} of the
	// presentity template.
	Domain string
	// Username and Password are the trusted publisher's digest credentials.
	Username, Password string
	// Presentity is the template of a user's presentity URI (default
	// DefaultPresentity). Presentities, when set, overrides it per user
	// (a SIP address from the users source).
	Presentity   string
	Presentities func(user string) (uri string, ok bool)
	// Expires is the publication lifetime asked for (default 1 h); the
	// server's answer rules.
	Expires time.Duration
	// Mapping maps availabilities and profiles to PIDF (default DefaultMapping).
	Mapping Mapping
	// TLS configures the sips:/transport=tls connection (nil: system roots).
	TLS *tls.Config
	// Timeout bounds one PUBLISH with its digest answer (default 10 s).
	Timeout time.Duration
	// Documents keeps the publications across restarts (nil: in memory only).
	Documents store.DocumentStore
	// Runner options: initial state, concurrency, back-off, observer.
	Initial            func(ctx context.Context) (map[string]connectors.State, error)
	Concurrency        int
	RetryMin, RetryMax time.Duration
	Observe            func(result string, took time.Duration)
	Clock              clock.Clock
	Logger             *slog.Logger
	// Owns, when set, makes the connector one instance of a cluster: it
	// publishes only the users handed to it with Adopt, and Owns says
	// whether this instance still owns a user's mailbox right before each
	// PUBLISH (see cluster.go). Initial is not used then.
	Owns func(user string) bool
}

// quietSIPGo silences sipgo's process-wide default logger once.
var quietSIPGo sync.Once

// Connector publishes presence to one SIP server.
type Connector struct {
	opts       Options
	runner     *connectors.Runner
	client     *client
	presentity presentityTemplate
	pubs       *publications
	// expires is the lifetime asked for, raised by a 423's Min-Expires.
	expires atomic.Int64
}

// New checks the options and prepares the connector; Run starts it.
func New(opts Options) (*Connector, error) {
	if opts.Name == "" {
		opts.Name = "sip"
	}
	if opts.Domain == "" || opts.Username == "" || opts.Password == "" {
		return nil, errors.New("sip connector: Domain, Username and Password are required")
	}
	srv, err := parseServer(opts.Server)
	if err != nil {
		return nil, fmt.Errorf("sip connector: %w", err)
	}
	if opts.Presentity == "" {
		opts.Presentity = DefaultPresentity
	}
	if err := CheckTemplate(opts.Presentity, opts.Domain); err != nil {
		return nil, fmt.Errorf("sip connector: %w", err)
	}
	if opts.Expires <= 0 {
		opts.Expires = time.Hour
	}
	if opts.Mapping == nil {
		opts.Mapping = DefaultMapping()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	// sipgo's own log lines (transport and transaction details) would
	// repeat every failure per request; the connector logs outcomes.
	quiet := slog.New(slog.DiscardHandler)
	quietSIPGo.Do(func() { gosip.SetDefaultLogger(quiet) }) // parts of sipgo log there
	cl, err := newClient(srv, opts.Domain, opts.Username, opts.Password, opts.TLS, quiet)
	if err != nil {
		return nil, fmt.Errorf("sip connector: %w", err)
	}
	c := &Connector{opts: opts, client: cl, presentity: presentityTemplate{template: opts.Presentity, domain: opts.Domain},
		pubs: newPublications(opts.Documents, opts.Name)}
	c.expires.Store(int64(opts.Expires / time.Second))
	c.runner, err = connectors.NewRunner(connectors.Options{Name: opts.Name, Target: c, Initial: opts.Initial,
		Concurrency: opts.Concurrency, RetryMin: opts.RetryMin, RetryMax: opts.RetryMax, Clock: opts.Clock,
		Logger: opts.Logger, Observe: opts.Observe, Scoped: opts.Owns != nil})
	if err != nil {
		_ = cl.close()
		return nil, err
	}
	return c, nil
}

// Runner is the connector's queue: the event log's sink, Set, Remove,
// Retain and Status.
func (c *Connector) Runner() *connectors.Runner { return c.runner }

// Status is the runner's status with the publications the server keeps.
func (c *Connector) Status() connectors.Status {
	st := c.runner.Status()
	st.Live = c.pubs.live(c.opts.Clock.Now())
	return st
}

// Run loads the stored publications and publishes until ctx ends; then it
// saves the publications and closes the SIP transport.
func (c *Connector) Run(ctx context.Context) error {
	defer c.client.close()
	if c.opts.Owns == nil { // in a cluster, Adopt reads them user by user
		if err := c.pubs.load(ctx); err != nil {
			return fmt.Errorf("sip connector: %w", err)
		}
	}
	// The last save comes after the runner returned: its PUBLISHes in
	// flight at the end finish first (Publish), and their tags go with it.
	saving, stopSaving := context.WithCancel(context.WithoutCancel(ctx))
	saved := make(chan struct{})
	go func() {
		defer close(saved)
		c.saveLoop(saving)
	}()
	err := c.runner.Run(ctx)
	stopSaving()
	<-saved
	return err
}

// saveLoop writes changed publications at most every 200 ms, and once
// more when ctx ends. A crash between a 2xx and the write leaves the
// stored tag one step behind: the next refresh gets a 412 and starts a
// new publication, while the unsaved one expires on the server. A write
// encodes every publication of the changed shards (at the top of the
// hour: all of them), so the pause after a write is at least 20 times
// what the write took: writing never takes more than 5 % of a core.
//
// On a store shared by a cluster a write carries only the changed
// entries, and it follows the change at once (what changes meanwhile goes
// with the next write): a crashed instance's successor continues from
// these tags, so the window in which a new tag is not stored yet is kept
// to about one write.
func (c *Connector) saveLoop(ctx context.Context) {
	pause := saveEvery
	for {
		select {
		case <-ctx.Done():
			c.finalSave()
			return
		case <-c.pubs.kick:
		}
		if c.pubs.merger == nil {
			// Collect what else changes in the next moment into the same write.
			t := c.opts.Clock.NewTimer(pause)
			select {
			case <-t.C():
			case <-ctx.Done():
				t.Stop()
				continue
			}
		}
		start := time.Now()
		if err := c.pubs.flush(ctx); err != nil && ctx.Err() == nil {
			// The failed shards stay dirty; the next change writes them.
			c.opts.Logger.Warn("sip connector: saving the publications failed; retrying with the next change", "err", err)
		}
		pause = max(saveEvery, 20*time.Since(start))
	}
}

// saveEvery is the shortest pause between writes of the publications.
const saveEvery = 200 * time.Millisecond

// finalSave writes what changed since the last save, at shutdown.
func (c *Connector) finalSave() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.pubs.flush(ctx); err != nil {
		c.opts.Logger.Error("sip connector: saving the publications failed", "err", err)
	}
}

// Held returns the users with a stored publication (connectors.Holder).
func (c *Connector) Held() []string { return c.pubs.users() }

// Publish makes the server show u (connectors.Target).
func (c *Connector) Publish(ctx context.Context, u connectors.Update) (time.Time, error) {
	if u.State != nil && c.opts.Owns != nil && !c.opts.Owns(u.User) {
		return time.Time{}, errNotOwner
	}
	// A PUBLISH is finished even when calsync stops meanwhile (Timeout
	// bounds it): abandoned, the server may still apply it, and its new
	// tag would be lost — the next run's or the next owner's PUBLISH would
	// meet 412 and add a second publication beside it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.Timeout)
	defer cancel()
	pub, has := c.pubs.get(u.User)
	entity := ""
	if u.State != nil {
		var err error
		if entity, err = c.entity(u.User); err != nil {
			return time.Time{}, err
		}
	}
	var body []byte
	if u.State != nil {
		if doc, ok := c.opts.Mapping.document(entity, *u.State); ok {
			body = doc.Marshal()
		}
	}
	if has && (body == nil || pub.Entity != entity) {
		// Withdrawn, or the presentity changed: remove the old publication.
		if err := c.remove(ctx, u.User, pub); err != nil {
			return time.Time{}, err
		}
		has = false
	}
	if body == nil {
		return time.Time{}, nil
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	now := c.opts.Clock.Now()
	if has && pub.Hash == hash && !u.Resend && now.Before(pub.nextAt()) {
		return pub.nextAt(), nil // the server shows it and keeps it a while
	}
	if has {
		// A refresh carries the document too (a modify with the same
		// body, RFC 3903 §4.4): Kamailio 5.6 keeping publications in
		// memory (publ_cache=2) NOTIFYs watchers an empty body after a
		// body-less refresh, and every server takes a modify.
		p := publish{entity: entity, ifMatch: pub.ETag, expires: c.wantExpires(), body: body}
		a, err := c.send(ctx, p)
		if err != nil {
			return time.Time{}, err
		}
		switch {
		case a.code >= 200 && a.code < 300:
			return c.published(u.User, entity, hash, a, now, pub)
		case a.code == 412, a.code >= 500 && a.code < 600:
			// 412: the server no longer knows the tag (it restarted, or the
			// publication expired). A 5xx to a conditional request: Kamailio
			// answers 500 to a tag it cannot parse. Either way start anew.
			c.pubs.drop(u.User)
		default:
			return time.Time{}, answerError(entity, a)
		}
	}
	a, err := c.send(ctx, publish{entity: entity, expires: c.wantExpires(), body: body})
	if err != nil {
		return time.Time{}, err
	}
	if a.code >= 200 && a.code < 300 {
		return c.published(u.User, entity, hash, a, now, pub)
	}
	if a.code >= 500 {
		return time.Time{}, connectors.Unavailable(answerError(entity, a))
	}
	return time.Time{}, answerError(entity, a)
}

// send sends p, raising Expires once after a 423 Interval Too Brief.
func (c *Connector) send(ctx context.Context, p publish) (answer, error) {
	a, err := c.client.send(ctx, p)
	if err == nil && a.code == 423 && a.minExpires > p.expires {
		c.expires.Store(int64(a.minExpires))
		c.opts.Logger.Info("sip connector: the server asks for longer publications", "min_expires", a.minExpires)
		p.expires = a.minExpires
		a, err = c.client.send(ctx, p)
	}
	if err != nil {
		return answer{}, connectors.Unavailable(fmt.Errorf("PUBLISH for %s: %w", p.entity, c.explain(err)))
	}
	return a, nil
}

// explain says what to do about a TLS certificate calsync does not trust;
// sipgo's error names neither the server nor the setting.
func (c *Connector) explain(err error) error {
	var cv *tls.CertificateVerificationError
	if !errors.As(err, &cv) {
		return err
	}
	return fmt.Errorf("the TLS certificate of the SIP server %s is not trusted (set connectors.sip.tls_ca_file to the authority that signed it, or give the server a certificate for its name): %w",
		c.client.srv.dest, cv.Err)
}

func (c *Connector) wantExpires() int { return int(c.expires.Load()) }

// published records a 2xx: the new tag and the lifetime the server
// granted. prev is the user's publication before (zero if none); when it
// was answered less than confirmAfter ago, a confirmation is due.
func (c *Connector) published(user, entity, hash string, a answer, now time.Time, prev publication) (time.Time, error) {
	if a.etag == "" {
		return time.Time{}, fmt.Errorf("PUBLISH for %s: the server answered %d without a SIP-ETag", entity, a.code)
	}
	granted := a.expires
	if granted < 0 {
		granted = c.wantExpires()
	}
	pub := publication{Entity: entity, ETag: a.etag, Hash: hash, Granted: granted,
		Expires: now.Add(time.Duration(granted) * time.Second), Sent: now}
	if !prev.Sent.IsZero() && now.Sub(prev.Sent) < confirmAfter {
		pub.Confirm = now.Add(confirmAfter)
	}
	c.pubs.set(user, pub)
	return pub.nextAt(), nil
}

// remove ends a publication (Expires: 0). A 412 means it is gone already.
func (c *Connector) remove(ctx context.Context, user string, pub publication) error {
	a, err := c.send(ctx, publish{entity: pub.Entity, ifMatch: pub.ETag, expires: 0})
	if err != nil {
		return err
	}
	if (a.code >= 200 && a.code < 300) || a.code == 412 || (a.code >= 500 && a.code < 600) {
		c.pubs.drop(user)
		return nil
	}
	return answerError(pub.Entity, a)
}

func (c *Connector) entity(user string) (string, error) {
	if c.opts.Presentities != nil {
		if uri, ok := c.opts.Presentities(user); ok {
			return uri, CheckURI(uri)
		}
	}
	return c.presentity.uri(user)
}

// answerError says what an unexpected answer means.
func answerError(entity string, a answer) error {
	hint := ""
	switch a.code {
	case 403:
		hint = " (the server does not let the publisher publish for this presentity: allow the publisher account, see docs/operations.md)"
	case 404:
		hint = " (the server does not know this presentity: check connectors.sip.presentity and domain)"
	case 415:
		hint = " (the server does not take PIDF: load presence_xml or its equivalent)"
	case 489:
		hint = " (the server does not take the presence event package)"
	}
	return fmt.Errorf("PUBLISH for %s: the server answered %d %s%s", entity, a.code, a.reason, hint)
}
