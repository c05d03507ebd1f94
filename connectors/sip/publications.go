package sip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"sort"
	"sync"
	"time"

	"github.com/calsync/calsync/store"
)

// publication is the server's state of one user's presence as calsync
// last saw it: the entity tag to continue the publication with, what was
// published and until when the server keeps it.
type publication struct {
	Entity  string    `json:"entity"`          // presentity URI
	ETag    string    `json:"etag"`            // SIP-ETag of the last 2xx
	Hash    string    `json:"hash"`            // SHA-256 of the published PIDF
	Expires time.Time `json:"expires"`         // the server drops it then
	Granted int       `json:"granted_seconds"` // Expires the server granted
	// Sent is when the server answered the last PUBLISH; Confirm, when
	// set, is when to publish the same document once more (see
	// confirmAfter). Neither is stored: a restart republishes anyway.
	Sent    time.Time `json:"-"`
	Confirm time.Time `json:"-"`
}

// confirmAfter: a change published less than this after the user's
// previous PUBLISH is published once more, unchanged, this long after.
// Kamailio builds a NOTIFY's document in the worker that took the PUBLISH,
// after answering it; when two PUBLISHes of a user follow each other
// closely, the earlier worker's NOTIFY can leave later, with the higher
// CSeq and the older document (seen in TestQuickChangesLastWins), so a
// watcher would keep showing the older state. The confirmation's NOTIFY
// comes when the earlier ones are long gone, and carries the latest.
const confirmAfter = time.Second

// nextAt is when the connector next needs to publish the unchanged
// document: the confirmation, else the refresh.
func (p publication) nextAt() time.Time {
	if !p.Confirm.IsZero() && p.Confirm.Before(p.refreshAt()) {
		return p.Confirm
	}
	return p.refreshAt()
}

// refreshAt is when to refresh: a minute before expiry, or at 80 % of a
// grant shorter than five minutes.
func (p publication) refreshAt() time.Time {
	lead := time.Minute
	if g := time.Duration(p.Granted) * time.Second; g < 5*time.Minute {
		lead = g / 5
	}
	return p.Expires.Add(-lead)
}

// shards splits the publications over this many store documents, so a
// change rewrites a few hundred entries, not all of them.
const shards = 64

// publications keeps every user's publication in memory and in the
// store's named documents "connectors/sip/<name>/NN". Writes are
// collected and flushed by Flush (the connector calls it shortly after
// changes and at shutdown). Safe for concurrent use.
type publications struct {
	docs   store.DocumentStore
	prefix string

	mu sync.Mutex
	// pubs are the publications by shard, then user: a flush encodes a
	// changed shard without looking at the others (at the top of the
	// hour every shard changes, five times a second).
	pubs  [shards]map[string]publication
	dirty map[int]bool
	kick  chan struct{}
}

func newPublications(docs store.DocumentStore, name string) *publications {
	ps := &publications{docs: docs, prefix: "connectors/sip/" + name + "/", dirty: map[int]bool{}, kick: make(chan struct{}, 1)}
	for i := range ps.pubs {
		ps.pubs[i] = map[string]publication{}
	}
	return ps
}

func shardOf(user string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(user))
	return int(h.Sum32() % shards)
}

// load reads the stored publications.
func (ps *publications) load(ctx context.Context) error {
	if ps.docs == nil {
		return nil
	}
	for i := range shards {
		doc, err := ps.docs.LoadDocument(ctx, ps.shardName(i))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("loading SIP publications: %w", err)
		}
		var m map[string]publication
		if err := json.Unmarshal(doc, &m); err != nil {
			return fmt.Errorf("reading stored SIP publications %s: %w", ps.shardName(i), err)
		}
		ps.mu.Lock()
		for u, p := range m {
			// By the user's shard (the shard count may have changed).
			ps.pubs[shardOf(u)][u] = p
		}
		ps.mu.Unlock()
	}
	return nil
}

func (ps *publications) shardName(i int) string { return fmt.Sprintf("%s%02d", ps.prefix, i) }

func (ps *publications) get(user string) (publication, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.pubs[shardOf(user)][user]
	return p, ok
}

func (ps *publications) set(user string, p publication) {
	i := shardOf(user)
	ps.mu.Lock()
	ps.pubs[i][user] = p
	ps.markLocked(i)
	ps.mu.Unlock()
}

func (ps *publications) drop(user string) {
	i := shardOf(user)
	ps.mu.Lock()
	if _, ok := ps.pubs[i][user]; ok {
		delete(ps.pubs[i], user)
		ps.markLocked(i)
	}
	ps.mu.Unlock()
}

func (ps *publications) markLocked(shard int) {
	ps.dirty[shard] = true
	select {
	case ps.kick <- struct{}{}:
	default:
	}
}

// users returns the users with a publication, sorted.
func (ps *publications) users() []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var out []string
	for _, m := range ps.pubs {
		for u := range m {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out
}

// live counts the publications the server still keeps at now.
func (ps *publications) live(now time.Time) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	n := 0
	for _, m := range ps.pubs {
		for _, p := range m {
			if p.Expires.After(now) {
				n++
			}
		}
	}
	return n
}

// flush writes the changed shards. A failed shard stays dirty.
func (ps *publications) flush(ctx context.Context) error {
	if ps.docs == nil {
		return nil
	}
	// Copy under the lock, encode outside it: PUBLISHes answered meanwhile
	// do not wait for the encoding.
	ps.mu.Lock()
	copies := map[int]map[string]publication{}
	for i := range ps.dirty {
		copies[i] = maps.Clone(ps.pubs[i])
	}
	ps.dirty = map[int]bool{}
	ps.mu.Unlock()
	docs := map[int][]byte{}
	for i, m := range copies {
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		docs[i] = b
	}
	var errs []error
	for i, b := range docs {
		if err := ps.docs.SaveDocument(ctx, ps.shardName(i), b); err != nil {
			errs = append(errs, err)
			ps.mu.Lock()
			ps.dirty[i] = true
			ps.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}
