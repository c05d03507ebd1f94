package config

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"unicode/utf16"

	"go.yaml.in/yaml/v3"
)

var (
	utf8BOM    = []byte{0xEF, 0xBB, 0xBF}
	utf16LEBOM = []byte{0xFF, 0xFE}
	utf16BEBOM = []byte{0xFE, 0xFF}
)

// vendorPath is where the vendor file keeps the notification mode:
// configuration/calendar_sync/exchange/events/advise/@Object.
var vendorPath = []string{"configuration", "calendar_sync", "exchange", "events", "advise"}

// Vendor spellings of the notification modes (compared case-insensitively).
const (
	VendorStream = "EwsStream"
	VendorPull   = "EwsPull"
)

// VendorConfig is what calsync reads from the vendor's
// CalendarSyncExchange.config.xml: the notification mode.
type VendorConfig struct {
	File string
	// Mode is streaming for EwsStream, pull for EwsPull.
	Mode NotificationMode
	// Object is the attribute value as written.
	Object string
	// Line is the line of the <advise> element.
	Line int
}

// xmlEdit replaces data[start:end] with text in the corrected file.
type xmlEdit struct {
	start, end int
	text       string
}

// openTag is an element on the checker's stack.
type openTag struct {
	name       string
	line, col  int
	start, end int
}

// vendorChecker checks the tag structure and the advise element of a
// vendor file, collecting every problem and the edits that repair it.
type vendorChecker struct {
	file       string
	data       []byte
	lineStarts []int
	problems   []Problem
	edits      []xmlEdit
	fatal      bool
}

// LoadVendorXML reads CalendarSyncExchange.config.xml. The Object attribute
// of configuration/calendar_sync/exchange/events/advise selects the mode:
// EwsStream (streaming) or EwsPull (pull), in any letter case. Malformed
// XML is reported with the line, the closing tag found and the one
// expected; the returned *Error then carries the corrected file.
func LoadVendorXML(data []byte, name string) (*VendorConfig, error) {
	c := &vendorChecker{file: name}
	v := c.check(data)
	if len(c.problems) > 0 {
		sortProblems(c.problems)
		e := &Error{Problems: c.problems}
		if !c.fatal && len(c.edits) > 0 {
			e.CorrectedVendorXML = c.corrected()
		}
		return nil, e
	}
	return v, nil
}

func (c *vendorChecker) errorf(line, col int, format string, args ...any) {
	c.problems = append(c.problems, Problem{File: c.file, Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
}

// pos converts a byte offset to a 1-based line and column.
func (c *vendorChecker) pos(off int) (int, int) {
	i := sort.Search(len(c.lineStarts), func(i int) bool { return c.lineStarts[i] > off }) - 1
	if i < 0 {
		return 1, off + 1
	}
	return i + 1, off - c.lineStarts[i] + 1
}

// toUTF8 strips a UTF-8 byte-order mark and converts UTF-16 (as written by
// Notepad on Windows) to UTF-8. UTF-16 without a byte-order mark is told,
// as YAML 1.2 (5.2) and XML (appendix F) do, by the NUL byte of its first,
// ASCII, character: a text file never starts with NUL otherwise.
func toUTF8(data []byte) ([]byte, bool) {
	var le bool
	var body []byte
	switch {
	case bytes.HasPrefix(data, utf8BOM):
		return data[len(utf8BOM):], false
	case bytes.HasPrefix(data, utf16LEBOM), bytes.HasPrefix(data, utf16BEBOM):
		le, body = data[0] == 0xFF, data[2:]
	case len(data) >= 2 && data[0] != 0 && data[1] == 0:
		le, body = true, data
	case len(data) >= 2 && data[0] == 0 && data[1] != 0:
		le, body = false, data
	default:
		return data, false
	}
	u := make([]uint16, 0, len(body)/2)
	for i := 0; i+1 < len(body); i += 2 {
		if le {
			u = append(u, uint16(body[i])|uint16(body[i+1])<<8)
		} else {
			u = append(u, uint16(body[i])<<8|uint16(body[i+1]))
		}
	}
	return []byte(string(utf16.Decode(u))), true
}

func (c *vendorChecker) check(raw []byte) *VendorConfig {
	data, _ := toUTF8(raw)
	c.data = data
	c.lineStarts = []int{0}
	for i, b := range data {
		if b == '\n' {
			c.lineStarts = append(c.lineStarts, i+1)
		}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		c.fatal = true
		c.errorf(0, 0, "the file is empty; expected <configuration><calendar_sync><exchange><events><advise Object=%q/>…", VendorStream)
		return nil
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	// The content is UTF-8 now whatever the declaration says.
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var (
		stack      []openTag
		lastClosed *openTag
		adviseSeen *openTag
		result     *VendorConfig
		rootSeen   bool
	)
	for {
		start := int(dec.InputOffset())
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.fatal = true
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				c.errorf(se.Line, 0, "not well-formed XML: %s", se.Msg)
			} else {
				c.errorf(0, 0, "not well-formed XML: %v", err)
			}
			return nil
		}
		end := int(dec.InputOffset())
		line, col := c.pos(start)
		switch t := tok.(type) {
		case xml.StartElement:
			name := qualifiedName(t.Name)
			if len(stack) == 0 {
				if rootSeen {
					c.errorf(line, col, "a second top-level element <%s>; the file must have exactly one <configuration> element", name)
					c.fatal = true
					return nil
				}
				rootSeen = true
				if name != vendorPath[0] {
					c.errorf(line, col, "the top-level element is <%s>; expected <%s>", name, vendorPath[0])
				}
			}
			tag := openTag{name: name, line: line, col: col, start: start, end: end}
			c.duplicateAttrs(t, tag)
			stack = append(stack, tag)
			if pathIs(stack, vendorPath) {
				if adviseSeen != nil {
					c.errorf(line, col, "a second <advise> element (the first is on line %d); keep only one", adviseSeen.line)
					continue
				}
				adviseSeen = &tag
				result = c.advise(t, tag)
			}
		case xml.EndElement:
			name := qualifiedName(t.Name)
			lastClosed, stack = c.closeTag(name, start, end, line, col, stack, lastClosed)
		}
	}
	if len(stack) > 0 {
		var missing []string
		for i := len(stack) - 1; i >= 0; i-- {
			missing = append(missing, "</"+stack[i].name+">")
		}
		top := stack[len(stack)-1]
		last := len(c.lineStarts)
		c.errorf(last, 0, "the file ends before </%s> (<%s> opened on line %d); add %s", top.name, top.name, top.line, strings.Join(missing, ""))
		text := strings.Join(missing, "\n") + "\n"
		if !bytes.HasSuffix(data, []byte("\n")) {
			text = "\n" + text
		}
		c.edits = append(c.edits, xmlEdit{start: len(data), end: len(data), text: text})
	}
	if !rootSeen {
		c.fatal = true
		c.errorf(1, 0, "no XML element found; expected <configuration><calendar_sync><exchange><events><advise Object=%q/>…", VendorStream)
		return nil
	}
	if adviseSeen == nil {
		c.errorf(1, 0, "no <advise> element at %s; expected <advise Object=%q/> (streaming) or <advise Object=%q/> (pull) there", strings.Join(vendorPath, "/"), VendorStream, VendorPull)
	}
	if result != nil {
		result.File = c.file
	}
	return result
}

// duplicateAttrs reports an attribute given twice in one start tag, which
// XML forbids (encoding/xml's tokenizer lets it pass): a reader could take
// either value. Attribute names are compared as written; the vendor's
// Object attribute also without regard to letter case, as calsync reads it.
func (c *vendorChecker) duplicateAttrs(t xml.StartElement, tag openTag) {
	seen := map[string]bool{}
	for _, a := range t.Attr {
		name := qualifiedName(a.Name)
		key := name
		if strings.EqualFold(name, "Object") {
			key = "object"
		}
		if !seen[key] {
			seen[key] = true
			continue
		}
		line, col := c.attrPos(tag, name)
		c.fatal = true
		c.errorf(line, col, "not well-formed XML: the attribute %s is given twice in <%s>; keep one", name, tag.name)
	}
}

// attrPos is the line and column of the last attribute called name
// (letter case ignored) in the start tag; the tag's position if not found.
func (c *vendorChecker) attrPos(tag openTag, name string) (int, int) {
	raw := strings.ToLower(string(c.data[tag.start:tag.end]))
	want := strings.ToLower(name)
	best := -1
	for i := 0; ; {
		j := strings.Index(raw[i:], want)
		if j < 0 {
			break
		}
		at := i + j
		before, after := raw[at-1], strings.TrimLeft(raw[at+len(want):], " \t\r\n")
		if (before == ' ' || before == '\t' || before == '\n' || before == '\r') && strings.HasPrefix(after, "=") {
			best = at
		}
		i = at + len(want)
	}
	if best < 0 {
		return tag.line, tag.col
	}
	return c.pos(tag.start + best)
}

func qualifiedName(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

func pathIs(stack []openTag, path []string) bool {
	if len(stack) != len(path) {
		return false
	}
	for i := range path {
		if stack[i].name != path[i] {
			return false
		}
	}
	return true
}

// closeTag matches a closing tag against the stack. It reports a mismatch
// with the tag found and the tag expected, records the repair, and returns
// the new stack.
func (c *vendorChecker) closeTag(name string, start, end, line, col int, stack []openTag, lastClosed *openTag) (*openTag, []openTag) {
	if len(stack) > 0 && stack[len(stack)-1].name == name {
		closed := stack[len(stack)-1]
		closed.line = line
		return &closed, stack[:len(stack)-1]
	}
	if len(stack) == 0 {
		c.errorf(line, col, "found </%s> after the end of the document; no element is open, so remove it", name)
		c.deleteTag(start, end)
		return lastClosed, stack
	}
	top := stack[len(stack)-1]
	// A closing tag for an element further down the stack: the closing
	// tags of the elements above it are missing.
	for k := len(stack) - 2; k >= 0; k-- {
		if stack[k].name != name {
			continue
		}
		var missing []string
		for i := len(stack) - 1; i > k; i-- {
			missing = append(missing, "</"+stack[i].name+">")
		}
		c.errorf(line, col, "found </%s>, expected </%s> (<%s> opened on line %d); add %s before it", name, top.name, top.name, top.line, strings.Join(missing, ""))
		c.edits = append(c.edits, xmlEdit{start: start, end: start, text: strings.Join(missing, "\n"+c.indentAt(start)) + "\n" + c.indentAt(start)})
		closed := stack[k]
		closed.line = line
		return &closed, stack[:k]
	}
	if lastClosed != nil && lastClosed.name == name {
		c.errorf(line, col, "found </%s>, expected </%s> (<%s> opened on line %d); <%s> was already closed on line %d, so remove this extra </%s>", name, top.name, top.name, top.line, name, lastClosed.line, name)
		c.deleteTag(start, end)
		return lastClosed, stack
	}
	hint := ""
	if editDistance(strings.ToLower(name), strings.ToLower(top.name)) <= max(2, len(top.name)/3) {
		hint = fmt.Sprintf(" (</%s> looks like a misspelling of </%s>)", name, top.name)
	}
	c.errorf(line, col, "found </%s>, expected </%s> (<%s> opened on line %d)%s", name, top.name, top.name, top.line, hint)
	c.edits = append(c.edits, xmlEdit{start: start, end: end, text: "</" + top.name + ">"})
	closed := top
	closed.line = line
	return &closed, stack[:len(stack)-1]
}

// indentAt returns the whitespace before offset on its line.
func (c *vendorChecker) indentAt(off int) string {
	line, _ := c.pos(off)
	ls := c.lineStarts[line-1]
	prefix := c.data[ls:off]
	if len(bytes.TrimSpace(prefix)) != 0 {
		return ""
	}
	return string(prefix)
}

// deleteTag removes data[start:end], with its whole line when nothing
// else is on it.
func (c *vendorChecker) deleteTag(start, end int) {
	line, _ := c.pos(start)
	ls := c.lineStarts[line-1]
	le := len(c.data)
	if line < len(c.lineStarts) {
		le = c.lineStarts[line]
	}
	if len(bytes.TrimSpace(c.data[ls:start])) == 0 && len(bytes.TrimSpace(c.data[end:le])) == 0 {
		start, end = ls, le
	}
	c.edits = append(c.edits, xmlEdit{start: start, end: end})
}

var objectAttr = regexp.MustCompile(`(?i)\bObject\s*=\s*(?:"([^"]*)"|'([^']*)')`)

// advise reads the Object attribute of the advise element.
func (c *vendorChecker) advise(t xml.StartElement, tag openTag) *VendorConfig {
	var value string
	found := false
	for _, a := range t.Attr {
		if strings.EqualFold(a.Name.Local, "Object") {
			value, found = a.Value, true
			break
		}
	}
	if !found {
		c.errorf(tag.line, tag.col, "<advise> has no Object attribute; expected Object=%q (streaming) or Object=%q (pull)", VendorStream, VendorPull)
		return nil
	}
	switch v := strings.TrimSpace(value); {
	case strings.EqualFold(v, VendorStream):
		return &VendorConfig{Mode: Streaming, Object: value, Line: tag.line}
	case strings.EqualFold(v, VendorPull):
		return &VendorConfig{Mode: Pull, Object: value, Line: tag.line}
	}
	msg := fmt.Sprintf("Object=%q is not valid; expected %q (streaming) or %q (pull), in any letter case", value, VendorStream, VendorPull)
	if s := suggest(strings.TrimSpace(value), []string{VendorStream, VendorPull}); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
		if loc := objectAttr.FindSubmatchIndex(c.data[tag.start:tag.end]); loc != nil {
			vs, ve := loc[2], loc[3]
			if vs < 0 {
				vs, ve = loc[4], loc[5]
			}
			c.edits = append(c.edits, xmlEdit{start: tag.start + vs, end: tag.start + ve, text: s})
		}
	}
	c.errorf(tag.line, tag.col, "%s", msg)
	return nil
}

// corrected applies the repairs to the file.
func (c *vendorChecker) corrected() []byte {
	edits := append([]xmlEdit(nil), c.edits...)
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var out bytes.Buffer
	pos := 0
	for _, e := range edits {
		if e.start < pos {
			continue
		}
		out.Write(c.data[pos:e.start])
		out.WriteString(e.text)
		pos = e.end
	}
	out.Write(c.data[pos:])
	return out.Bytes()
}

// vendorConfig loads exchange.vendor_config and takes its mode, unless
// exchange.notifications.mode says otherwise.
func (d *decoder) vendorConfig(x *Exchange, m *mapNode, v *yaml.Node) {
	path := m.sub("vendor_config")
	p, ok := d.existingFile(path, v)
	if !ok {
		return
	}
	data, err := d.readFile(p)
	if err != nil {
		d.errorf(v, path, "cannot read %s: %v", p, unwrapPathError(err))
		return
	}
	vc, err := LoadVendorXML(data, p)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			d.errorf(v, path, "%s is not valid (%s)", p, plural(len(ce.Problems), "problem"))
			d.problems = append(d.problems, ce.Problems...)
			d.corrected = ce.CorrectedVendorXML
		}
		return
	}
	x.VendorConfig = p
	if modeNode := explicitMode(m.get("notifications")); modeNode != nil {
		// An invalid mode is reported where it is written; only a valid
		// one can contradict the vendor file.
		if mode := NotificationMode(strings.ToLower(modeNode.Value)); (mode == Streaming || mode == Pull) && mode != vc.Mode {
			d.errorf(modeNode, m.sub("notifications.mode"), "%q contradicts %s, which selects %s (Object=%q on line %d); remove one of them", modeNode.Value, p, vc.Mode, vc.Object, vc.Line)
		}
		return
	}
	x.Notifications.Mode = vc.Mode
	if vc.Mode == Pull && x.Notifications.PullInterval >= x.Notifications.PullTimeout {
		d.errorf(v, path, "pull mode needs pull_interval shorter than pull_timeout")
	}
}

// explicitMode returns the notifications.mode value node, if set.
func explicitMode(n *yaml.Node) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "mode" {
			if v := deref(n.Content[i+1]); v != nil && v.Kind == yaml.ScalarNode && !isNull(v) {
				return v
			}
		}
	}
	return nil
}
