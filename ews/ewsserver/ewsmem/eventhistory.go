package ewsmem

import (
	"encoding/base64"
	"encoding/binary"

	"github.com/calsync/calsync/ews"
)

// Exchange keeps a table of recent mailbox events (about 30 days) with
// database-wide positions; a watermark names a position in it, and a pull
// or push Subscribe given a watermark replays the events after it
// (ews-facts: a watermark no longer in the table → ErrorInvalidWatermark).
// The simulator keeps the last Options.EventHistory events of the whole
// organisation, each with its position, and writes positions into
// watermarks.

// historyEntry is one published event and its position.
type historyEntry struct {
	pos uint64
	mb  *mailbox
	ev  ews.Event
}

// recordLocked appends a change burst of mb to the history and returns the
// position of each event. Caller holds t.mu.
func (t *subscriptions) recordLocked(mb *mailbox, events []ews.Event) []uint64 {
	pos := make([]uint64, len(events))
	for i, e := range events {
		t.pos++
		pos[i] = t.pos
		t.history = append(t.history, historyEntry{pos: t.pos, mb: mb, ev: e})
	}
	// Trimmed in halves so that appending stays amortised O(1).
	if limit := t.x.opts.EventHistory; len(t.history) > 2*limit {
		t.history = append([]historyEntry(nil), t.history[len(t.history)-limit:]...)
	}
	return pos
}

// replayLocked queues the events of s's mailbox after position from that
// s wants, as a Subscribe with a watermark does. It reports false when the
// history no longer reaches back to from (or from lies ahead of it).
// Caller holds t.mu.
func (t *subscriptions) replayLocked(s *subscription, from uint64) bool {
	if from > t.pos {
		return false
	}
	if len(t.history) > 0 && from+1 < t.history[0].pos {
		return false
	}
	for _, h := range t.history {
		if h.pos <= from || h.mb != s.mb || !s.wants(h.ev) {
			continue
		}
		e := h.ev
		e.Watermark = s.nextWatermarkLocked(h.pos)
		s.queue = append(s.queue, e)
	}
	return true
}

// nextWatermarkLocked returns a new watermark of s at history position
// pos: unique per subscription (GetEvents must send the last one back) and
// naming the position a later Subscribe replays from.
func (s *subscription) nextWatermarkLocked(pos uint64) string {
	s.wmSeq++
	b := make([]byte, 0, 40)
	b = append(b, "AQAAA"...)
	b = binary.BigEndian.AppendUint32(b, s.mb.x.epoch)
	b = binary.BigEndian.AppendUint64(b, pos)
	b = binary.BigEndian.AppendUint64(b, s.wmSeq)
	b = append(b, s.id[:min(8, len(s.id))]...)
	return base64.StdEncoding.EncodeToString(b)
}

// watermarkPosition decodes a watermark of this server's epoch.
func (x *Exchange) watermarkPosition(wm string) (uint64, bool) {
	b, err := base64.StdEncoding.DecodeString(wm)
	if err != nil || len(b) < 25 || string(b[:5]) != "AQAAA" || binary.BigEndian.Uint32(b[5:9]) != x.epoch {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[9:17]), true
}
