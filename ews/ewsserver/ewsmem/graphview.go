package ewsmem

import "fmt"

// What the Graph face of the simulator (graph/graphserver) reads beyond the
// EWS operations: a mailbox's change counter, so change notifications look
// only at mailboxes that changed, and the series master of an occurrence
// id (Graph's seriesMasterId).

// ChangeSeq returns a mailbox's change counter: it grows with every
// calendar change (create, update, delete, occurrence edits).
func (x *Exchange) ChangeSeq(smtp string) (uint64, error) {
	mb, ok := x.mailbox(smtp)
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrNoMailbox, smtp)
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.seq, nil
}

// SeriesMasterID returns the id of the recurring master an occurrence or
// exception id belongs to.
func (x *Exchange) SeriesMasterID(occurrenceID string) (string, bool) {
	d, ok := decodeID(occurrenceID)
	if !ok || d.kind != "O" {
		return "", false
	}
	return itemIDFor(d.mailbox, d.item), true
}
