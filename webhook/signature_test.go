package webhook

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(`{"id":"d1","type":"presence.changed","data":{"availability":"busy"}}`)
	sig := Sign("s3cret", ts, body)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 {
		t.Fatalf("signature %q is not sha256=<64 hex>", sig)
	}
	other := Sign("old-secret", ts, body)
	tests := []struct {
		name      string
		secret    string
		header    string
		timestamp string
		body      []byte
		now       time.Time
		tolerance time.Duration
		want      error // nil = valid
	}{
		{"valid", "s3cret", sig, ts, body, now, 0, nil},
		{"valid with skew inside tolerance", "s3cret", sig, ts, body, now.Add(4 * time.Minute), 0, nil},
		{"valid among rotated signatures", "s3cret", other + ", " + sig, ts, body, now, 0, nil},
		{"body changed", "s3cret", sig, ts, []byte(strings.Replace(string(body), "busy", "free", 1)), now, 0, ErrSignatureMismatch},
		{"body extended", "s3cret", sig, ts, append(append([]byte(nil), body...), ' '), now, 0, ErrSignatureMismatch},
		{"timestamp changed", "s3cret", sig, strconv.FormatInt(now.Unix()+1, 10), body, now, 0, ErrSignatureMismatch},
		{"wrong secret", "guess", sig, ts, body, now, 0, ErrSignatureMismatch},
		{"signature from another secret only", "s3cret", other, ts, body, now, 0, ErrSignatureMismatch},
		{"replayed later", "s3cret", sig, ts, body, now.Add(6 * time.Minute), 0, ErrStaleTimestamp},
		{"from the future", "s3cret", sig, ts, body, now.Add(-6 * time.Minute), 0, ErrStaleTimestamp},
		{"custom tolerance", "s3cret", sig, ts, body, now.Add(2 * time.Second), time.Second, ErrStaleTimestamp},
		{"wrong scheme", "s3cret", strings.Replace(sig, "sha256=", "sha1=", 1), ts, body, now, 0, ErrMalformedSignature},
		{"not hex", "s3cret", "sha256=" + strings.Repeat("z", 64), ts, body, now, 0, ErrMalformedSignature},
		{"truncated", "s3cret", sig[:len(sig)-2], ts, body, now, 0, ErrMalformedSignature},
		{"empty header", "s3cret", "", ts, body, now, 0, ErrMalformedSignature},
		{"timestamp not a number", "s3cret", sig, "yesterday", body, now, 0, ErrMalformedSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.secret, tc.header, tc.timestamp, tc.body, tc.now, tc.tolerance)
			if tc.want == nil && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error %q reveals the secret", err)
			}
		})
	}
}

// The example of docs/store.md, computed independently with
// printf '%s' '1795424400.{"id":"abc"}' | openssl dgst -sha256 -hmac whsec_example
func TestSignatureKnownVector(t *testing.T) {
	got := Sign("whsec_example", "1795424400", []byte(`{"id":"abc"}`))
	const want = "sha256=90b9a268f8403556bfbcfc2859fdb44a285fe2480cbc4aef0d612b5a40ce3b74"
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}
