package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// redacted is what a Secret prints instead of its value.
const redacted = "[redacted]"

// Secret is a credential read from the environment, a file or (warned)
// inline. It never reveals its value through fmt, encoding/json or
// log/slog; call Value to use it.
type Secret struct {
	value string
	// source describes where the value came from without revealing it
	// ("environment variable CALSYNC_EWS_PASSWORD", "file /etc/...").
	source string
}

// NewSecret wraps a value; source says where it came from (for messages).
func NewSecret(value, source string) Secret { return Secret{value: value, source: source} }

// Value returns the secret's value.
func (s Secret) Value() string { return s.value }

// SecretValues returns the plain values of secrets (API tokens handed to
// the authenticator).
func SecretValues(secrets []Secret) []string {
	out := make([]string, 0, len(secrets))
	for _, s := range secrets {
		out = append(out, s.value)
	}
	return out
}

// IsSet reports whether the secret holds a non-empty value.
func (s Secret) IsSet() bool { return s.value != "" }

// Source says where the secret came from, never its value.
func (s Secret) Source() string { return s.source }

// String returns "[redacted]" (or "" for an unset secret).
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// Format prints the redacted form for every verb (%s, %v, %+v, %q, %x…).
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.String())
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
		fmt.Fprint(f, s.String())
	default:
		fmt.Fprint(f, s.String())
	}
}

// LogValue makes log/slog print the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText encodes the redacted form (YAML, XML, map keys).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
