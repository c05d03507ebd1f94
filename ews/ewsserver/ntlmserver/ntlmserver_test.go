package ntlmserver_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/Azure/go-ntlmssp"

	"github.com/calsync/calsync/ews/ewsserver/ntlmserver"
)

func newServer(t *testing.T) *ntlmserver.Server {
	t.Helper()
	s, err := ntlmserver.New(ntlmserver.Options{Lookup: func(user, domain string) (string, string, bool) {
		if strings.EqualFold(user, "svc") || strings.EqualFold(user, "svc@example.com") {
			return "svc@example.com", "S3cret!", true
		}
		return "", "", false
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNTLMv2Handshake(t *testing.T) {
	tests := []struct {
		name, user, password string
		want                 error
	}{
		{"domain user", `EXAMPLE\svc`, "S3cret!", nil},
		{"upn", "svc@example.com", "S3cret!", nil},
		{"wrong password", `EXAMPLE\svc`, "nope", ntlmserver.ErrDenied},
		{"unknown user", `EXAMPLE\mallory`, "S3cret!", ntlmserver.ErrDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			neg, err := ntlmssp.NewNegotiateMessage("", "")
			if err != nil {
				t.Fatal(err)
			}
			h, challenge, err := s.Challenge(neg)
			if err != nil {
				t.Fatalf("Challenge() = %v", err)
			}
			auth, err := ntlmssp.NewAuthenticateMessage(challenge, tt.user, tt.password, nil)
			if err != nil {
				t.Fatalf("ProcessChallenge() = %v", err)
			}
			account, err := s.Authenticate(h, auth)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Authenticate() = %q, %v; want error %v", account, err, tt.want)
			}
			if tt.want == nil && account != "svc@example.com" {
				t.Errorf("Authenticate() account = %q", account)
			}
		})
	}
}

func TestMalformedMessages(t *testing.T) {
	s := newServer(t)
	for _, msg := range [][]byte{nil, []byte("NTLMSSP\x00"), []byte("garbage-garbage-garbage"), append([]byte("NTLMSSP\x00\x03\x00\x00\x00"), make([]byte, 60)...)} {
		if _, _, err := s.Challenge(msg); !errors.Is(err, ntlmserver.ErrMalformed) {
			t.Errorf("Challenge(%q) = %v, want ErrMalformed", msg, err)
		}
	}
	neg, _ := ntlmssp.NewNegotiateMessage("", "")
	h, _, _ := s.Challenge(neg)
	bad := append([]byte("NTLMSSP\x00\x03\x00\x00\x00"), make([]byte, 60)...)
	bad[20] = 0xff // NT response length beyond the message
	bad[24] = 0x10
	if _, err := s.Authenticate(h, bad); err == nil {
		t.Errorf("Authenticate(out-of-range buffer) succeeded")
	}
}
