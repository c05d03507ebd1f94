package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of a delivery.
const (
	// HeaderSignature carries "sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">".
	HeaderSignature = "X-Calsync-Signature"
	// HeaderTimestamp is the signing time in Unix seconds.
	HeaderTimestamp = "X-Calsync-Timestamp"
	// HeaderEvent is the event type, e.g. presence.changed.
	HeaderEvent = "X-Calsync-Event"
	// HeaderDelivery is the idempotency id: the same for every attempt to
	// deliver one event to one endpoint.
	HeaderDelivery = "X-Calsync-Delivery"
	// HeaderAttempt counts attempts, 1 for the first.
	HeaderAttempt = "X-Calsync-Attempt"
)

// DefaultTolerance is the clock skew Verify accepts when given 0.
const DefaultTolerance = 5 * time.Minute

const signaturePrefix = "sha256="

// Verification errors; test with errors.Is.
var (
	// ErrMalformedSignature: the header or timestamp cannot be parsed.
	ErrMalformedSignature = errors.New("webhook: malformed signature header")
	// ErrSignatureMismatch: no signature in the header matches the body.
	ErrSignatureMismatch = errors.New("webhook: signature does not match")
	// ErrStaleTimestamp: the timestamp is further from now than the tolerance.
	ErrStaleTimestamp = errors.New("webhook: timestamp outside tolerance")
)

// Sign returns the X-Calsync-Signature value for a body signed at timestamp
// (Unix seconds as a decimal string).
func Sign(secret, timestamp string, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a delivery as a receiver must: the signature header (one
// or more comma-separated "sha256=<hex>" values, so that a sender may sign
// with an old and a new secret during rotation) must hold the HMAC-SHA256
// of "<timestamp>.<body>" under secret, and timestamp must lie within
// tolerance of now (0 means DefaultTolerance) to stop replays.
func Verify(secret, header, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrMalformedSignature, timestamp)
	}
	if skew := now.Sub(time.Unix(ts, 0)); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: signed at %s, now %s, tolerance %s", ErrStaleTimestamp,
			time.Unix(ts, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), tolerance)
	}
	want := mac(secret, strings.TrimSpace(timestamp), body)
	parsed := 0
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		hexSig, ok := strings.CutPrefix(part, signaturePrefix)
		if !ok {
			continue
		}
		got, err := hex.DecodeString(hexSig)
		if err != nil || len(got) != sha256.Size {
			continue
		}
		parsed++
		if hmac.Equal(got, want) {
			return nil
		}
	}
	if parsed == 0 {
		return fmt.Errorf("%w: want %s<64 hex digits>", ErrMalformedSignature, signaturePrefix)
	}
	return ErrSignatureMismatch
}
