package ewswire

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// fastScanner is a pull tokenizer over a whole response held in memory,
// made for the CalendarView hot path (fastcalendar.go): it resolves
// namespace prefixes to the four namespaces EWS uses, and it hands out
// names and raw text as slices of the input, so reading an element costs
// no allocation. It accepts a subset of what encoding/xml accepts: every
// input it is unsure about (DOCTYPE, processing instructions after the
// prolog, non-ASCII names, odd entities) ends in errNotFast, and the
// caller decodes the response with encoding/xml instead, which gives the
// authoritative answer or error.
type fastScanner struct {
	data     []byte
	pos      int
	maxDepth int
	open     []fastOpen
	ns       []fastNS
	attrs    []fastAttr
	// selfClosed: the last start element was <x/>; the next token is its end.
	selfClosed bool

	// The current token: a start element's namespace and local name, or
	// the raw bytes of character data (cdata when from a CDATA section).
	space int
	local []byte
	raw   []byte
	cdata bool

	// First backing arrays of open, ns and attrs: an EWS answer rarely
	// needs more, so they do not grow (and allocate) while it is read.
	openArr [16]fastOpen
	nsArr   [8]fastNS
	attrArr [8]fastAttr
}

// init points the stacks at the scanner's own arrays.
func (s *fastScanner) init() {
	s.open, s.ns, s.attrs = s.openArr[:0], s.nsArr[:0], s.attrArr[:0]
}

type fastOpen struct {
	qname  []byte
	nsMark int
}

type fastNS struct {
	prefix []byte
	space  int
}

type fastAttr struct {
	prefix []byte
	local  []byte
	value  []byte
}

const (
	tokStart = iota + 1
	tokEnd
	tokText
)

// Namespaces the fast path tells apart; every other URI is nsOther.
const (
	nsOther = iota
	nsSOAP11
	nsSOAP12
	nsMessages
	nsTypes
	// SOAP Autodiscover's own namespaces (autodiscover.go).
	nsAutodiscover
	nsAddressing
	nsXSI
)

// nsURIs names the namespaces above (nsOther has no one name).
var nsURIs = [...]string{nsSOAP11: NSSOAP11, nsSOAP12: NSSOAP12, nsMessages: NSMessages, nsTypes: NSTypes,
	nsAutodiscover: NSAutodiscover, nsAddressing: NSAddressing, nsXSI: NSXSI}

// errNotFast: the input is outside what the fast decoder handles; decode
// it with encoding/xml.
var errNotFast = errors.New("ewswire: response shape left to encoding/xml")

// errFastTruncated: the input ends inside the envelope.
var errFastTruncated = errors.New("ewswire: truncated envelope")

func nsIDOf(uri []byte) int {
	switch string(uri) {
	case NSSOAP11:
		return nsSOAP11
	case NSSOAP12:
		return nsSOAP12
	case NSMessages:
		return nsMessages
	case NSTypes:
		return nsTypes
	case NSAutodiscover:
		return nsAutodiscover
	case NSAddressing:
		return nsAddressing
	case NSXSI:
		return nsXSI
	}
	return nsOther
}

func isXMLSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// xmlDeclRE is the XML declarations the fast path accepts (encoding/xml
// accepts version 1.0 and UTF-8 in any case, as calsync configures it).
var xmlDeclRE = regexp.MustCompile(`^<\?xml\s+version=("1\.0"|'1\.0')(\s+encoding=("(?i:utf-8)"|'(?i:utf-8)'))?(\s+standalone=("yes"|"no"|'yes'|'no'))?\s*\?>`)

// commonXMLDecl is the declaration nearly every answer starts with; it
// matches xmlDeclRE.
var commonXMLDecl = []byte(`<?xml version="1.0" encoding="utf-8"?>`)

// prolog skips the XML declaration, comments and white space before the
// root element.
func (s *fastScanner) prolog() error {
	// The declaration Exchange and calsync write is taken as it is; the
	// expression (which allocates) reads the others.
	if bytes.HasPrefix(s.data, commonXMLDecl) {
		s.pos = len(commonXMLDecl)
	} else if m := xmlDeclRE.FindIndex(s.data); m != nil {
		s.pos = m[1]
	}
	for {
		for s.pos < len(s.data) && isXMLSpace(s.data[s.pos]) {
			s.pos++
		}
		rest := s.data[s.pos:]
		if bytes.HasPrefix(rest, []byte("<!--")) {
			if err := s.comment(); err != nil {
				return err
			}
			continue
		}
		if len(rest) == 0 {
			return errFastTruncated
		}
		if rest[0] != '<' || len(rest) < 2 || rest[1] == '?' || rest[1] == '!' || rest[1] == '/' {
			return errNotFast
		}
		return nil
	}
}

// next reads the next start element, end element or character data.
func (s *fastScanner) next() (int, error) {
	if s.selfClosed {
		s.selfClosed = false
		s.pop()
		return tokEnd, nil
	}
	for {
		if s.pos >= len(s.data) {
			return 0, errFastTruncated
		}
		rest := s.data[s.pos:]
		if rest[0] != '<' {
			end := bytes.IndexByte(rest, '<')
			if end < 0 {
				return 0, errFastTruncated
			}
			s.raw, s.cdata = rest[:end], false
			s.pos += end
			return tokText, nil
		}
		switch {
		case bytes.HasPrefix(rest, []byte("</")):
			return tokEnd, s.endElement()
		case bytes.HasPrefix(rest, []byte("<!--")):
			if err := s.comment(); err != nil {
				return 0, err
			}
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			body := rest[len("<![CDATA["):]
			end := bytes.Index(body, []byte("]]>"))
			if end < 0 {
				return 0, errFastTruncated
			}
			s.raw, s.cdata = body[:end], true
			s.pos += len("<![CDATA[") + end + 3
			return tokText, nil
		case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?'):
			return 0, errNotFast
		default:
			return tokStart, s.startElement()
		}
	}
}

func (s *fastScanner) comment() error {
	body := s.data[s.pos+4:]
	end := bytes.Index(body, []byte("--"))
	if end < 0 {
		return errFastTruncated
	}
	if end+2 >= len(body) || body[end+2] != '>' {
		return errNotFast // "--" inside a comment
	}
	if err := checkChars(body[:end]); err != nil {
		return err
	}
	s.pos += 4 + end + 3
	return nil
}

// name reads an XML name of ASCII name characters at s.pos.
func (s *fastScanner) name() ([]byte, error) {
	start := s.pos
	for s.pos < len(s.data) {
		b := s.data[s.pos]
		ok := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || b == ':' ||
			s.pos > start && (b >= '0' && b <= '9' || b == '-' || b == '.')
		if !ok {
			break
		}
		s.pos++
	}
	if s.pos == len(s.data) {
		return nil, errFastTruncated
	}
	if s.pos == start || s.data[s.pos] >= utf8.RuneSelf {
		return nil, errNotFast
	}
	return s.data[start:s.pos], nil
}

// splitQName splits prefix:local; names with a leading, trailing or second
// colon are left to encoding/xml.
func splitQName(q []byte) (prefix, local []byte, err error) {
	i := bytes.IndexByte(q, ':')
	if i < 0 {
		return nil, q, nil
	}
	if i == 0 || i == len(q)-1 || bytes.IndexByte(q[i+1:], ':') >= 0 {
		return nil, nil, errNotFast
	}
	return q[:i], q[i+1:], nil
}

func (s *fastScanner) skipSpace() bool {
	at := s.pos
	for s.pos < len(s.data) && isXMLSpace(s.data[s.pos]) {
		s.pos++
	}
	return s.pos > at
}

func (s *fastScanner) startElement() error {
	s.pos++ // '<'
	qname, err := s.name()
	if err != nil {
		return err
	}
	s.attrs = s.attrs[:0]
	mark := len(s.ns)
	for {
		spaced := s.skipSpace()
		if s.pos >= len(s.data) {
			return errFastTruncated
		}
		switch s.data[s.pos] {
		case '>':
			s.pos++
		case '/':
			if s.pos+1 >= len(s.data) {
				return errFastTruncated
			}
			if s.data[s.pos+1] != '>' {
				return errNotFast
			}
			s.pos += 2
			s.selfClosed = true
		default:
			if !spaced {
				return errNotFast
			}
			if err := s.attribute(); err != nil {
				return err
			}
			continue
		}
		break
	}
	prefix, local, err := splitQName(qname)
	if err != nil {
		return err
	}
	// The element's own namespace declarations (bound by attribute) apply
	// to its name.
	s.space = s.resolve(prefix)
	s.local = local
	if len(s.open)+1 > s.maxDepth {
		return fmt.Errorf("%w (more than %d levels)", ErrTooDeep, s.maxDepth)
	}
	s.open = append(s.open, fastOpen{qname: qname, nsMark: mark})
	return nil
}

// attribute reads name="value", records it, and binds it when it declares
// a namespace.
func (s *fastScanner) attribute() error {
	qname, err := s.name()
	if err != nil {
		return err
	}
	s.skipSpace()
	if s.pos >= len(s.data) {
		return errFastTruncated
	}
	if s.data[s.pos] != '=' {
		return errNotFast
	}
	s.pos++
	s.skipSpace()
	if s.pos >= len(s.data) {
		return errFastTruncated
	}
	q := s.data[s.pos]
	if q != '"' && q != '\'' {
		return errNotFast
	}
	end := bytes.IndexByte(s.data[s.pos+1:], q)
	if end < 0 {
		return errFastTruncated
	}
	raw := s.data[s.pos+1 : s.pos+1+end]
	s.pos += end + 2
	if bytes.IndexByte(raw, '<') >= 0 {
		return errNotFast
	}
	value := raw
	if needsDecoding(raw) {
		if value, err = appendText(nil, raw); err != nil {
			return err
		}
	} else if err := checkChars(raw); err != nil {
		return err
	}
	prefix, local, err := splitQName(qname)
	if err != nil {
		return err
	}
	switch {
	case string(prefix) == "xmlns":
		s.ns = append(s.ns, fastNS{prefix: local, space: nsIDOf(value)})
	case prefix == nil && string(local) == "xmlns":
		s.ns = append(s.ns, fastNS{prefix: nil, space: nsIDOf(value)})
	}
	s.attrs = append(s.attrs, fastAttr{prefix: prefix, local: local, value: value})
	return nil
}

// resolve maps an element prefix to its namespace as encoding/xml does:
// the innermost binding, the default namespace for no prefix, and an
// unbound prefix as a namespace of its own (nsOther).
func (s *fastScanner) resolve(prefix []byte) int {
	if string(prefix) == "xml" || string(prefix) == "xmlns" {
		return nsOther
	}
	for i := len(s.ns) - 1; i >= 0; i-- {
		if bytes.Equal(s.ns[i].prefix, prefix) && (s.ns[i].prefix == nil) == (prefix == nil) {
			return s.ns[i].space
		}
	}
	return nsOther
}

func (s *fastScanner) endElement() error {
	s.pos += 2
	qname, err := s.name()
	if err != nil {
		return err
	}
	s.skipSpace()
	if s.pos >= len(s.data) {
		return errFastTruncated
	}
	if s.data[s.pos] != '>' || len(s.open) == 0 || !bytes.Equal(s.open[len(s.open)-1].qname, qname) {
		return errNotFast
	}
	s.pos++
	s.pop()
	return nil
}

func (s *fastScanner) pop() {
	top := s.open[len(s.open)-1]
	s.ns = s.ns[:top.nsMark]
	s.open = s.open[:len(s.open)-1]
}

// attr returns the last attribute with this local name in any namespace
// (encoding/xml matches un-namespaced attribute fields that way).
func (s *fastScanner) attr(local string) ([]byte, bool) {
	for i := len(s.attrs) - 1; i >= 0; i-- {
		if string(s.attrs[i].local) == local {
			return s.attrs[i].value, true
		}
	}
	return nil, false
}

// attrNS returns the last attribute with this local name in namespace
// space (a prefixed attribute: an unprefixed one is in no namespace), as
// encoding/xml matches namespaced attribute fields. It is asked right
// after the start element, whose own declarations are still in scope.
func (s *fastScanner) attrNS(space int, local string) ([]byte, bool) {
	for i := len(s.attrs) - 1; i >= 0; i-- {
		a := &s.attrs[i]
		if a.prefix != nil && string(a.local) == local && s.resolve(a.prefix) == space {
			return a.value, true
		}
	}
	return nil, false
}

// skip consumes the rest of the current element, checking its syntax.
func (s *fastScanner) skip() error {
	for depth := 1; depth > 0; {
		tok, err := s.next()
		if err != nil {
			return err
		}
		switch tok {
		case tokStart:
			depth++
		case tokEnd:
			depth--
		case tokText:
			if err := s.checkText(); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkText validates the current character data without keeping it.
func (s *fastScanner) checkText() error {
	if s.cdata || !needsDecoding(s.raw) {
		return checkRaw(s.raw, s.cdata)
	}
	_, err := appendText(nil, s.raw)
	return err
}

// text reads the character data directly inside the current element up to
// its end (nested elements are skipped, as encoding/xml does for a string
// field) into buf, which it returns resliced.
func (s *fastScanner) text(buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		tok, err := s.next()
		if err != nil {
			return buf, err
		}
		switch tok {
		case tokStart:
			if err := s.skip(); err != nil {
				return buf, err
			}
		case tokEnd:
			return buf, nil
		case tokText:
			if s.cdata {
				if err := checkRaw(s.raw, true); err != nil {
					return buf, err
				}
				buf = appendNormalized(buf, s.raw)
				continue
			}
			if buf, err = appendText(buf, s.raw); err != nil {
				return buf, err
			}
		}
	}
}

// textOnly reads an element holding only text, returning a slice of the
// input when nothing needs decoding (the common case: no copy) and buf
// otherwise.
func (s *fastScanner) textOnly(buf []byte) ([]byte, []byte, error) {
	if s.selfClosed {
		s.selfClosed = false
		s.pop()
		return nil, buf, nil
	}
	rest := s.data[s.pos:]
	if end := bytes.IndexByte(rest, '<'); end >= 0 && end+1 < len(rest) && rest[end+1] == '/' && !needsDecoding(rest[:end]) {
		raw := rest[:end]
		if err := checkRaw(raw, false); err != nil {
			return nil, buf, err
		}
		s.pos += end
		if tok, err := s.next(); err != nil || tok != tokEnd {
			if err == nil {
				err = errNotFast
			}
			return nil, buf, err
		}
		return raw, buf, nil
	}
	buf, err := s.text(buf)
	return buf, buf, err
}

func needsDecoding(raw []byte) bool {
	return bytes.IndexByte(raw, '&') >= 0 || bytes.IndexByte(raw, '\r') >= 0
}

// checkRaw validates raw character data that needs no decoding.
func checkRaw(raw []byte, cdata bool) error {
	if !cdata && bytes.Contains(raw, []byte("]]>")) {
		return errNotFast
	}
	return checkChars(raw)
}

// checkChars rejects invalid UTF-8 and characters XML does not allow.
func checkChars(b []byte) error {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return errNotFast
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 || !isXMLChar(r) {
			return errNotFast
		}
		i += size
	}
	return nil
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// appendNormalized appends raw with \r\n and \r turned into \n.
func appendNormalized(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\r' {
			dst = append(dst, '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// appendText decodes character data or an attribute value onto dst: the
// five predefined entities, character references and line-end
// normalisation, then checks the characters of what it decoded (as
// encoding/xml does, so &#0; is refused).
func appendText(dst, raw []byte) ([]byte, error) {
	if bytes.Contains(raw, []byte("]]>")) {
		return dst, errNotFast
	}
	from := len(dst)
	for i := 0; i < len(raw); {
		c := raw[i]
		switch c {
		case '\r':
			dst = append(dst, '\n')
			i++
			if i < len(raw) && raw[i] == '\n' {
				i++
			}
		case '&':
			semi := bytes.IndexByte(raw[i:], ';')
			if semi < 0 {
				return dst, errNotFast
			}
			ref := raw[i+1 : i+semi]
			i += semi + 1
			switch string(ref) {
			case "lt":
				dst = append(dst, '<')
			case "gt":
				dst = append(dst, '>')
			case "amp":
				dst = append(dst, '&')
			case "apos":
				dst = append(dst, '\'')
			case "quot":
				dst = append(dst, '"')
			default:
				r, ok := charRef(ref)
				if !ok {
					return dst, errNotFast
				}
				dst = utf8.AppendRune(dst, r)
			}
		default:
			dst = append(dst, c)
			i++
		}
	}
	return dst, checkChars(dst[from:])
}

// charRef parses the inside of &#…; (decimal) or &#x…; (hex).
func charRef(ref []byte) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	digits, base := ref[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 || len(digits) > 8 {
		return 0, false
	}
	for _, d := range digits {
		if !(d >= '0' && d <= '9' || base == 16 && (d >= 'a' && d <= 'f' || d >= 'A' && d <= 'F')) {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(string(digits), base, 32)
	if err != nil || n > utf8.MaxRune {
		return 0, false
	}
	return rune(n), true
}
