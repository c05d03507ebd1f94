package sip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calsync/calsync/connectors"
)

// CheckUser is the user whose presentity `calsync check` publishes for
// (sip:calsync-check@<domain> with the default template): not a real
// user, so no watcher sees the test.
const CheckUser = "calsync-check"

// CheckResult is what a test publication showed.
type CheckResult struct {
	Presentity string
	// Granted is the Expires the server granted the test publication.
	Granted int
	// Took is the time of publishing and removing.
	Took time.Duration
}

// Check publishes a test presence for CheckUser at the configured server
// and removes it again: the digest account, the publisher's permission to
// publish for others and PIDF support are verified the way the connector
// uses them. The error says which step failed.
func Check(ctx context.Context, opts Options) (CheckResult, error) {
	c, err := New(opts)
	if err != nil {
		return CheckResult{}, err
	}
	defer c.client.close()
	start := time.Now()
	entity, err := c.presentity.uri(CheckUser + "@" + opts.Domain)
	if err != nil {
		return CheckResult{}, err
	}
	res := CheckResult{Presentity: entity}
	doc, _ := c.opts.Mapping.document(entity, connectors.State{Availability: "available", StatusText: "calsync check"})
	body := doc.Marshal()
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	a, err := c.client.send(ctx, publish{entity: entity, expires: 60, body: body})
	if err != nil {
		return res, c.explain(err)
	}
	if a.code < 200 || a.code >= 300 {
		return res, answerError(entity, a)
	}
	if a.etag == "" {
		return res, fmt.Errorf("PUBLISH for %s: the server answered %d without a SIP-ETag (not an RFC 3903 presence server?)", entity, a.code)
	}
	res.Granted = a.expires
	r, err := c.client.send(ctx, publish{entity: entity, ifMatch: a.etag, expires: 0})
	if err != nil {
		return res, fmt.Errorf("removing the test publication: %w", err)
	}
	if r.code < 200 || r.code >= 300 {
		return res, fmt.Errorf("removing the test publication: %w", answerError(entity, r))
	}
	res.Took = time.Since(start)
	return res, nil
}

// IsCredentials reports whether err is the server rejecting the
// publisher's credentials.
func IsCredentials(err error) bool { return errors.Is(err, ErrCredentials) }
