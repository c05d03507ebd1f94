package ewswire

import (
	"encoding/binary"
	"hash/maphash"
)

// AnswerMemo lets a caller that asks the same question again and again
// skip decoding an answer identical to one it already decoded: the
// engine's automatic-replies poll sends each batch of mailboxes the same
// GetMailTips once a minute, and while nobody changes their automatic
// replies every answer is byte-for-byte the previous one. Decoding them
// (and the garbage that leaves) was most of an idle engine's CPU.
//
// The digest covers the caller's key for the question (what it asked,
// so that an answer to another request never matches) and every byte of
// the answer. Equal digests mean the same answer to the same question up
// to a 64-bit hash collision; the seed is random per process, so no
// answer can be made to collide on purpose.
type AnswerMemo struct {
	// Key identifies the request (the caller's digest of what it asked).
	Key uint64
	// Since is the Digest of an earlier answer to the same request
	// (0 = none).
	Since uint64
	// Digest is set by decoding: this answer's digest (never 0).
	Digest uint64
	// Same is set when Digest equals Since: the answer was not decoded.
	Same bool
}

var memoSeed = maphash.MakeSeed()

// RequestKey digests the strings that make a request for AnswerMemo.Key:
// first, then rest in order.
func RequestKey(first string, rest []string) uint64 {
	var h maphash.Hash
	h.SetSeed(memoSeed)
	h.WriteString(first)
	for _, p := range rest {
		h.WriteByte(0)
		h.WriteString(p)
	}
	return h.Sum64()
}

// seen records data's digest and reports whether it is the answer Since
// names. A nil memo has seen nothing.
func (m *AnswerMemo) seen(data []byte) bool {
	if m == nil {
		return false
	}
	var h maphash.Hash
	h.SetSeed(memoSeed)
	var k [8]byte
	binary.LittleEndian.PutUint64(k[:], m.Key)
	h.Write(k[:])
	h.Write(data)
	m.Digest = max(h.Sum64(), 1)
	m.Same = m.Since != 0 && m.Digest == m.Since
	return m.Same
}
