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
//
// On a store shared by a cluster (entryMerger: PostgreSQL) a flush writes
// only the entries of the users that changed, so the instances keep their
// users' publications side by side in the same documents, and a new owner
// of a user reads the entry its previous owner wrote (loadUsers).
type publications struct {
	docs   store.DocumentStore
	merger entryMerger // nil: a flush rewrites the changed shards whole
	prefix string

	// flushMu orders flushes: a later one carries newer entries.
	flushMu sync.Mutex
	mu      sync.Mutex
	// pubs are the publications by shard, then user: a flush encodes a
	// changed shard without looking at the others (at the top of the
	// hour every shard changes, five times a second).
	pubs [shards]map[string]publication
	// dirty are the changed users by shard.
	dirty map[int]map[string]bool
	kick  chan struct{}
}

// entryMerger is a store whose documents several writers share entry by
// entry (pgstore.Store.MergeDocumentEntries).
type entryMerger interface {
	MergeDocumentEntries(ctx context.Context, name string, set map[string]json.RawMessage, remove []string) error
}

func newPublications(docs store.DocumentStore, name string) *publications {
	ps := &publications{docs: docs, prefix: "connectors/sip/" + name + "/", dirty: map[int]map[string]bool{}, kick: make(chan struct{}, 1)}
	ps.merger, _ = docs.(entryMerger)
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
		m, err := ps.readShard(ctx, i)
		if err != nil {
			return err
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

// readShard returns the stored publications of shard i (none stored: nil).
func (ps *publications) readShard(ctx context.Context, i int) (map[string]publication, error) {
	doc, err := ps.docs.LoadDocument(ctx, ps.shardName(i))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading SIP publications: %w", err)
	}
	var m map[string]publication
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, fmt.Errorf("reading stored SIP publications %s: %w", ps.shardName(i), err)
	}
	return m, nil
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
	ps.markLocked(i, user)
	ps.mu.Unlock()
}

func (ps *publications) drop(user string) {
	i := shardOf(user)
	ps.mu.Lock()
	if _, ok := ps.pubs[i][user]; ok {
		delete(ps.pubs[i], user)
		ps.markLocked(i, user)
	}
	ps.mu.Unlock()
}

func (ps *publications) markLocked(shard int, user string) {
	if ps.dirty[shard] == nil {
		ps.dirty[shard] = map[string]bool{}
	}
	ps.dirty[shard][user] = true
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

// flush writes the changed shards (the changed entries on a shared
// store). What fails stays dirty.
func (ps *publications) flush(ctx context.Context) error {
	if ps.docs == nil {
		return nil
	}
	ps.flushMu.Lock()
	defer ps.flushMu.Unlock()
	// Copy under the lock, encode outside it: PUBLISHes answered meanwhile
	// do not wait for the encoding.
	ps.mu.Lock()
	dirty := ps.dirty
	copies := map[int]map[string]publication{}
	for i, users := range dirty {
		if ps.merger == nil {
			copies[i] = maps.Clone(ps.pubs[i])
			continue
		}
		copies[i] = map[string]publication{}
		for u := range users {
			if p, ok := ps.pubs[i][u]; ok {
				copies[i][u] = p
			}
		}
	}
	ps.dirty = map[int]map[string]bool{}
	ps.mu.Unlock()
	var errs []error
	for i, m := range copies {
		if err := ps.write(ctx, i, m, dirty[i]); err != nil {
			errs = append(errs, err)
			ps.mu.Lock()
			for u := range dirty[i] {
				ps.markLocked(i, u)
			}
			ps.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// write stores shard i: m is the whole shard, or on a shared store the
// entries of the changed users (a changed user missing from m is removed).
func (ps *publications) write(ctx context.Context, i int, m map[string]publication, changed map[string]bool) error {
	if ps.merger == nil {
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return ps.docs.SaveDocument(ctx, ps.shardName(i), b)
	}
	set := make(map[string]json.RawMessage, len(m))
	for u, p := range m {
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		set[u] = b
	}
	var remove []string
	for u := range changed {
		if _, ok := m[u]; !ok {
			remove = append(remove, u)
		}
	}
	return ps.merger.MergeDocumentEntries(ctx, ps.shardName(i), set, remove)
}

// loadUsers reads the stored publications of users (a cluster instance
// taking them over: their previous owner wrote them), replacing what is
// in memory for them.
func (ps *publications) loadUsers(ctx context.Context, users []string) error {
	if ps.docs == nil || len(users) == 0 {
		return nil
	}
	byShard := map[int][]string{}
	for _, u := range users {
		byShard[shardOf(u)] = append(byShard[shardOf(u)], u)
	}
	for i, us := range byShard {
		m, err := ps.readShard(ctx, i)
		if err != nil {
			return err
		}
		ps.mu.Lock()
		for _, u := range us {
			if p, ok := m[u]; ok {
				ps.pubs[i][u] = p
			}
		}
		ps.mu.Unlock()
	}
	return nil
}

// forget drops users from memory but not from the store: another instance
// continues their publications from what is stored. Call it after a
// flush, or their last changes are lost.
func (ps *publications) forget(users []string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, u := range users {
		i := shardOf(u)
		delete(ps.pubs[i], u)
		delete(ps.dirty[i], u)
	}
}
