// Package memstore is an in-memory store.Store for tests and the demo.
//
// It is a complete implementation, checked by the same conformance suite as
// the persistent stores. Data is deep-copied on the way in and on the way
// out, so callers can never change what is stored by mutating a slice they
// passed in or got back. All methods are safe for concurrent use.
package memstore

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/store"
)

// Store is an in-memory store.Store. Create it with New.
type Store struct {
	mu        sync.RWMutex
	closed    bool
	mailboxes map[string]*mailbox
	leases    map[string]lease
	presence  map[string][]byte
	documents map[string][]byte
	outbox    map[string]*store.OutboxMessage // live and dead messages by id
	seq       uint64
}

type mailbox struct {
	record      store.MailboxRecord
	occurrences []calendar.Occurrence // sorted by start, then item id
}

type lease struct {
	owner   string
	expires time.Time
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		mailboxes: make(map[string]*mailbox),
		leases:    make(map[string]lease),
		presence:  make(map[string][]byte),
		outbox:    make(map[string]*store.OutboxMessage),
	}
}

// check returns the error every method reports before doing anything: a
// cancelled context or a closed store. Callers hold s.mu.
func (s *Store) checkLocked(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	if s.closed {
		return fmt.Errorf("memstore: %w", store.ErrClosed)
	}
	return nil
}

func (s *Store) mailboxLocked(smtp string) *mailbox {
	mb := s.mailboxes[smtp]
	if mb == nil {
		mb = &mailbox{}
		mb.record.Status.SMTP = smtp
		s.mailboxes[smtp] = mb
	}
	return mb
}

// CommitWindow atomically replaces a mailbox's occurrences and checkpoint.
func (s *Store) CommitWindow(ctx context.Context, smtp string, c store.WindowCommit) error {
	occs, err := store.PrepareCommit(smtp, c)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(ctx); err != nil {
		return err
	}
	mb := s.mailboxLocked(smtp)
	mb.occurrences = occs
	mb.record.Checkpoint = normalizeCheckpoint(c.Checkpoint)
	if c.Status != nil {
		mb.record.Status = store.NormalizeStatus(*c.Status)
	}
	if c.OOF != nil {
		n := normalizeOOF(*c.OOF)
		mb.record.OOF = &n
	}
	return nil
}

// SaveCheckpoint updates only the checkpoint of a mailbox.
func (s *Store) SaveCheckpoint(ctx context.Context, smtp string, cp store.Checkpoint) error {
	if smtp == "" {
		return fmt.Errorf("memstore: checkpoint without mailbox address")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(ctx); err != nil {
		return err
	}
	s.mailboxLocked(smtp).record.Checkpoint = normalizeCheckpoint(cp)
	return nil
}

// SaveStatus stores the sync status of a mailbox.
func (s *Store) SaveStatus(ctx context.Context, st store.MailboxStatus) error {
	return s.SaveStatuses(ctx, []store.MailboxStatus{st})
}

// SaveStatuses stores the statuses of many mailboxes at once.
func (s *Store) SaveStatuses(ctx context.Context, sts []store.MailboxStatus) error {
	for _, st := range sts {
		if st.SMTP == "" {
			return fmt.Errorf("memstore: status without mailbox address")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(ctx); err != nil {
		return err
	}
	for _, st := range sts {
		s.mailboxLocked(st.SMTP).record.Status = store.NormalizeStatus(st)
	}
	return nil
}

// SaveOOF stores the automatic-replies settings of a mailbox.
func (s *Store) SaveOOF(ctx context.Context, smtp string, oof calendar.OOFSettings) error {
	if smtp == "" {
		return fmt.Errorf("memstore: automatic replies without mailbox address")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(ctx); err != nil {
		return err
	}
	n := normalizeOOF(oof)
	s.mailboxLocked(smtp).record.OOF = &n
	return nil
}

// Mailbox returns the record of one mailbox, or ErrNotFound.
func (s *Store) Mailbox(ctx context.Context, smtp string) (store.MailboxRecord, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.checkLocked(ctx); err != nil {
		return store.MailboxRecord{}, err
	}
	mb := s.mailboxes[smtp]
	if mb == nil {
		return store.MailboxRecord{}, fmt.Errorf("memstore: mailbox %s: %w", smtp, store.ErrNotFound)
	}
	return copyRecord(mb.record), nil
}

// Mailboxes lists the records of all mailboxes, sorted by SMTP address.
func (s *Store) Mailboxes(ctx context.Context) ([]store.MailboxRecord, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.checkLocked(ctx); err != nil {
		return nil, err
	}
	out := make([]store.MailboxRecord, 0, len(s.mailboxes))
	for _, mb := range s.mailboxes {
		out = append(out, copyRecord(mb.record))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Status.SMTP < out[j].Status.SMTP })
	return out, nil
}

// Occurrences returns the stored occurrences overlapping [start, end).
func (s *Store) Occurrences(ctx context.Context, smtp string, start, end time.Time) ([]calendar.Occurrence, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.checkLocked(ctx); err != nil {
		return nil, err
	}
	mb := s.mailboxes[smtp]
	if mb == nil {
		return nil, fmt.Errorf("memstore: occurrences of %s: %w", smtp, store.ErrNotFound)
	}
	var out []calendar.Occurrence
	if !end.After(start) {
		return out, nil
	}
	for _, o := range mb.occurrences {
		if !o.Start.Before(end) {
			break // sorted by start: nothing later can overlap
		}
		if o.Overlaps(start, end) {
			out = append(out, store.NormalizeOccurrence(o))
		}
	}
	return out, nil
}

// DeleteMailbox removes the record, occurrences, lease and presence of a mailbox.
func (s *Store) DeleteMailbox(ctx context.Context, smtp string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(ctx); err != nil {
		return err
	}
	if s.mailboxes[smtp] == nil {
		return fmt.Errorf("memstore: delete mailbox %s: %w", smtp, store.ErrNotFound)
	}
	delete(s.mailboxes, smtp)
	delete(s.leases, smtp)
	delete(s.presence, smtp)
	return nil
}

// AcquireLease claims or renews a mailbox lease for owner.
func (s *Store) AcquireLease(ctx context.Context, smtp, owner string, now time.Time, ttl time.Duration) error {
	if owner == "" || ttl <= 0 {
		return fmt.Errorf("memstore: lease on %s needs an owner and a positive duration", smtp)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(ctx); err != nil {
		return err
	}
	if l, ok := s.leases[smtp]; ok && l.owner != owner && now.Before(l.expires) {
		return fmt.Errorf("memstore: lease on %s held by %s until %s: %w", smtp, l.owner, l.expires.UTC().Format(time.RFC3339), store.ErrConflict)
	}
	s.leases[smtp] = lease{owner: owner, expires: now.Add(ttl)}
	return nil
}

// ReleaseLease gives up owner's lease on a mailbox.
func (s *Store) ReleaseLease(ctx context.Context, smtp, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(ctx); err != nil {
		return err
	}
	l, ok := s.leases[smtp]
	if !ok {
		return nil
	}
	if l.owner != owner {
		return fmt.Errorf("memstore: release lease on %s: held by %s, not %s: %w", smtp, l.owner, owner, store.ErrConflict)
	}
	delete(s.leases, smtp)
	return nil
}

// SavePresence stores the last published presence document of a user.
func (s *Store) SavePresence(ctx context.Context, smtp string, doc []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(ctx); err != nil {
		return err
	}
	s.presence[smtp] = append([]byte(nil), doc...)
	return nil
}

// SavePresences stores the presence documents of several users at once:
// all of them, or none when an address is empty.
func (s *Store) SavePresences(ctx context.Context, docs map[string][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(ctx); err != nil {
		return err
	}
	for smtp := range docs {
		if smtp == "" {
			return fmt.Errorf("memstore: presence without user address")
		}
	}
	for smtp, doc := range docs {
		s.presence[smtp] = append([]byte(nil), doc...)
	}
	return nil
}

// LoadPresence returns all stored presence documents by SMTP address.
func (s *Store) LoadPresence(ctx context.Context) (map[string][]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.checkLocked(ctx); err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(s.presence))
	for k, v := range s.presence {
		out[k] = append([]byte(nil), v...)
	}
	return out, nil
}

// Close releases the store; further calls return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memstore: %w", store.ErrClosed)
	}
	s.closed = true
	s.mailboxes, s.leases, s.presence, s.outbox = nil, nil, nil, nil
	return nil
}

func normalizeCheckpoint(cp store.Checkpoint) store.Checkpoint {
	cp.Window.Start = utc(cp.Window.Start)
	cp.Window.End = utc(cp.Window.End)
	cp.LoadedAt = utc(cp.LoadedAt)
	return cp
}

func normalizeOOF(o calendar.OOFSettings) calendar.OOFSettings {
	o.Start = utc(o.Start)
	o.End = utc(o.End)
	return o
}

// utc converts t to UTC, keeping the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func copyRecord(r store.MailboxRecord) store.MailboxRecord {
	if r.Status.LastError != nil {
		e := *r.Status.LastError
		r.Status.LastError = &e
	}
	if r.OOF != nil {
		o := *r.OOF
		r.OOF = &o
	}
	return r
}
