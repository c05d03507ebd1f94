// Package ntlmserver verifies NTLMv2 authentication on the server side
// ([MS-NLMP]): it reads NEGOTIATE messages, issues CHALLENGE messages with
// target information, and checks the NTProofStr of AUTHENTICATE messages
// against the account's password. NTLMv1 and anonymous logons are refused,
// as a hardened Exchange/IIS does.
//
// NTLM authenticates a connection, not a request: the HTTP layer keeps one
// handshake per TCP connection (see ewsserver's authentication).
package ntlmserver

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4" //nolint:staticcheck // NTLMv2 is defined on MD4; this is protocol compatibility, not security
)

// Message flags ([MS-NLMP] 2.2.2.5) the server uses.
const (
	flagUnicode             = 0x00000001
	flagRequestTarget       = 0x00000004
	flagNTLM                = 0x00000200
	flagAlwaysSign          = 0x00008000
	flagTargetTypeDomain    = 0x00010000
	flagExtendedSessionSec  = 0x00080000
	flagTargetInfo          = 0x00800000
	flagVersion             = 0x02000000
	flag128                 = 0x20000000
	flagKeyExchange         = 0x40000000
	flag56                  = 0x80000000
	flagsClientMayNegotiate = flagKeyExchange | flag128 | flag56 | flagExtendedSessionSec | flagAlwaysSign | flagVersion
	signature               = "NTLMSSP\x00"
	maxMessage              = 64 << 10
)

// ErrMalformed reports a message that is not valid NTLM.
var ErrMalformed = errors.New("ntlmserver: malformed message")

// ErrDenied reports failed authentication (unknown user, wrong password,
// NTLMv1 or anonymous).
var ErrDenied = errors.New("ntlmserver: authentication failed")

// Lookup returns the canonical account name and password for a user name
// and domain as sent by the client; ok=false for unknown users.
type Lookup func(user, domain string) (account, password string, ok bool)

// Server issues challenges and verifies responses. Create with New.
type Server struct {
	lookup   Lookup
	now      func() time.Time
	domain   string
	computer string
	dnsName  string
}

// Options configures a Server.
type Options struct {
	// Lookup finds passwords (required).
	Lookup Lookup
	// Now is the time source for the challenge timestamp (default time.Now;
	// pass a clock's Now in the simulator).
	Now func() time.Time
	// Domain is the NetBIOS domain announced (default "EXAMPLE").
	Domain string
	// DNSDomain is the DNS domain announced (default "example.com").
	DNSDomain string
	// Computer is the server's NetBIOS name (default "EXCH01").
	Computer string
}

// New returns a Server.
func New(o Options) (*Server, error) {
	if o.Lookup == nil {
		return nil, errors.New("ntlmserver: Options.Lookup is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Domain == "" {
		o.Domain = "EXAMPLE"
	}
	if o.DNSDomain == "" {
		o.DNSDomain = "example.com"
	}
	if o.Computer == "" {
		o.Computer = "EXCH01"
	}
	return &Server{lookup: o.Lookup, now: o.Now, domain: strings.ToUpper(o.Domain), computer: strings.ToUpper(o.Computer), dnsName: o.DNSDomain}, nil
}

// Handshake is the state of one connection's authentication.
type Handshake struct {
	challenge [8]byte
	flags     uint32
}

// Challenge reads a NEGOTIATE message and returns the CHALLENGE message to
// send, with the state needed to verify the answer.
func (s *Server) Challenge(negotiate []byte) (*Handshake, []byte, error) {
	if len(negotiate) < 16 || len(negotiate) > maxMessage || string(negotiate[:8]) != signature || binary.LittleEndian.Uint32(negotiate[8:]) != 1 {
		return nil, nil, fmt.Errorf("%w: not a NEGOTIATE message", ErrMalformed)
	}
	clientFlags := binary.LittleEndian.Uint32(negotiate[12:])
	h := &Handshake{}
	if _, err := rand.Read(h.challenge[:]); err != nil {
		return nil, nil, fmt.Errorf("ntlmserver: challenge: %w", err)
	}
	h.flags = flagUnicode | flagRequestTarget | flagNTLM | flagTargetTypeDomain | flagTargetInfo | (clientFlags & flagsClientMayNegotiate)

	target := utf16le(s.domain)
	info := s.targetInfo()
	const header = 56
	msg := make([]byte, header, header+len(target)+len(info))
	copy(msg, signature)
	binary.LittleEndian.PutUint32(msg[8:], 2)
	putBuffer(msg[12:], len(target), header)
	binary.LittleEndian.PutUint32(msg[20:], h.flags)
	copy(msg[24:32], h.challenge[:])
	putBuffer(msg[40:], len(info), header+len(target))
	// Version: Windows Server 2016 (10.0.14393), NTLM revision 15.
	copy(msg[48:56], []byte{10, 0, 0x39, 0x38, 0, 0, 0, 15})
	msg = append(msg, target...)
	msg = append(msg, info...)
	return h, msg, nil
}

func (s *Server) targetInfo() []byte {
	var b bytes.Buffer
	pair := func(id uint16, v []byte) {
		_ = binary.Write(&b, binary.LittleEndian, id)
		_ = binary.Write(&b, binary.LittleEndian, uint16(len(v)))
		b.Write(v)
	}
	pair(2, utf16le(s.domain))
	pair(1, utf16le(s.computer))
	pair(4, utf16le(s.dnsName))
	pair(3, utf16le(strings.ToLower(s.computer)+"."+s.dnsName))
	ts := make([]byte, 8)
	binary.LittleEndian.PutUint64(ts, filetime(s.now()))
	pair(7, ts)
	pair(0, nil)
	return b.Bytes()
}

// Authenticate verifies an AUTHENTICATE message against the handshake and
// returns the account name.
func (s *Server) Authenticate(h *Handshake, msg []byte) (string, error) {
	if h == nil {
		return "", fmt.Errorf("%w: no challenge was issued on this connection", ErrMalformed)
	}
	if len(msg) < 64 || len(msg) > maxMessage || string(msg[:8]) != signature || binary.LittleEndian.Uint32(msg[8:]) != 3 {
		return "", fmt.Errorf("%w: not an AUTHENTICATE message", ErrMalformed)
	}
	nt, err := buffer(msg, 20)
	if err != nil {
		return "", err
	}
	domainB, err := buffer(msg, 28)
	if err != nil {
		return "", err
	}
	userB, err := buffer(msg, 36)
	if err != nil {
		return "", err
	}
	flags := binary.LittleEndian.Uint32(msg[60:])
	decode := func(b []byte) string {
		if flags&flagUnicode != 0 {
			return fromUTF16le(b)
		}
		return string(b)
	}
	user, domain := decode(userB), decode(domainB)
	if user == "" {
		return "", fmt.Errorf("%w: anonymous logon", ErrDenied)
	}
	if len(nt) <= 24 {
		return "", fmt.Errorf("%w: NTLMv1 is not accepted", ErrDenied)
	}
	account, password, ok := s.lookup(user, domain)
	if !ok {
		return "", fmt.Errorf("%w: unknown user", ErrDenied)
	}
	proof, blob := nt[:16], nt[16:]
	key := ntowfv2(password, user, domain)
	mac := hmac.New(md5.New, key)
	mac.Write(h.challenge[:])
	mac.Write(blob)
	if !hmac.Equal(mac.Sum(nil), proof) {
		return "", fmt.Errorf("%w: wrong password", ErrDenied)
	}
	return account, nil
}

// ntowfv2 is NTOWFv2 of [MS-NLMP] 3.3.2.
func ntowfv2(password, user, domain string) []byte {
	h := md4.New()
	h.Write(utf16le(password))
	mac := hmac.New(md5.New, h.Sum(nil))
	mac.Write(utf16le(strings.ToUpper(user) + domain))
	return mac.Sum(nil)
}

func putBuffer(b []byte, length, offset int) {
	binary.LittleEndian.PutUint16(b, uint16(length))
	binary.LittleEndian.PutUint16(b[2:], uint16(length))
	binary.LittleEndian.PutUint32(b[4:], uint32(offset))
}

func buffer(msg []byte, at int) ([]byte, error) {
	n := int(binary.LittleEndian.Uint16(msg[at:]))
	off := int(binary.LittleEndian.Uint32(msg[at+4:]))
	if off < 0 || n < 0 || off > len(msg) || off+n > len(msg) {
		return nil, fmt.Errorf("%w: field outside the message", ErrMalformed)
	}
	return msg[off : off+n], nil
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2*i:], r)
	}
	return b
}

func fromUTF16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func filetime(t time.Time) uint64 {
	return uint64(t.UnixNano()/100) + 116444736000000000
}
