package presence

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// MaxForwardTargetLength bounds a call-forwarding target.
const MaxForwardTargetLength = 256

// CheckForwardTarget accepts the call-forwarding targets a PBX can dial: a
// phone number ("+49 30 1234-0", "tel:+4930…", an extension of two or more
// digits), a SIP URI ("sip:alice@pbx.example.com;transport=tls") or an
// address ("alice@example.com"). Anything else — in particular a URI of
// another scheme such as javascript: — is refused, because targets are
// shown in the dashboard and passed on to webhook receivers.
func CheckForwardTarget(s string) error {
	switch {
	case s == "":
		return nil
	case len(s) > MaxForwardTargetLength:
		return fmt.Errorf("at most %d characters, got %d", MaxForwardTargetLength, len(s))
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "sip:"), strings.HasPrefix(lower, "sips:"):
		if !validSIP(s[strings.IndexByte(s, ':')+1:]) {
			return fmt.Errorf("%q is not a SIP URI; expected e.g. sip:alice@pbx.example.com", s)
		}
		return nil
	case strings.HasPrefix(lower, "tel:"):
		return checkPhone(s[len("tel:"):])
	case strings.Contains(s, "@"):
		if a, err := mail.ParseAddress(s); err != nil || a.Address != s || a.Name != "" {
			return fmt.Errorf("%q is not an address; expected e.g. alice@example.com", s)
		}
		return nil
	}
	if err := checkPhone(s); err != nil {
		return fmt.Errorf("%w; expected a phone number (+49 30 1234-0), a SIP URI (sip:alice@pbx.example.com) or an address", err)
	}
	return nil
}

// checkPhone accepts digits with an optional leading + and the usual
// separators (space, - . / and parentheses).
func checkPhone(s string) error {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case strings.ContainsRune(" -./()", r):
		default:
			return fmt.Errorf("%q is not a phone number", s)
		}
	}
	if digits < 2 || digits > 20 {
		return errors.New("a phone number has 2 to 20 digits")
	}
	return nil
}

// validSIP checks the part after "sip:": [user@]host[:port][;params], with
// the characters RFC 3261 allows there minus quotes and angle brackets.
func validSIP(rest string) bool {
	addr, params, _ := strings.Cut(rest, ";")
	user, host, hasUser := strings.Cut(addr, "@")
	if !hasUser {
		user, host = "", addr
	}
	if hasUser && (user == "" || !onlyChars(user, "-_.!~*()&=+$,?/%")) {
		return false
	}
	if h, port, ok := strings.Cut(host, ":"); ok {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return false
		}
		host = h
	}
	if host == "" || !onlyChars(host, "-.") {
		return false
	}
	return params == "" || onlyChars(params, "-_.=;")
}

// onlyChars reports whether s consists of ASCII letters, digits and extra.
func onlyChars(s, extra string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(extra, r)) {
			return false
		}
	}
	return true
}
