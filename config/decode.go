package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// decoder walks a YAML node tree and collects every problem it finds.
type decoder struct {
	file     string
	dir      string
	lookup   func(string) (string, bool)
	readFile func(string) ([]byte, error)
	stat     func(string) (os.FileInfo, error)
	problems []Problem
	// misspelt holds paths of keys that an unknown key was taken for, so
	// that the unknown key is not also reported as a missing key.
	misspelt map[string]bool
	// idType and idTypeNode remember exchange.impersonation.id_type for
	// the cross-check with the users section.
	idType     ImpersonationIDType
	idTypeNode *yaml.Node
	// corrected is a repaired vendor XML file, if one was referenced and
	// malformed.
	corrected []byte
}

func (d *decoder) add(n *yaml.Node, path string, warning bool, format string, args ...any) {
	p := Problem{File: d.file, Path: path, Message: clipQuoted(fmt.Sprintf(format, args...)), Warning: warning}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	d.problems = append(d.problems, p)
}

// maxQuoted bounds a value quoted back in a problem: a megabyte pasted
// into the wrong key must not become a megabyte of error message.
const maxQuoted = 120

// clipQuoted shortens every Go-quoted value in msg longer than maxQuoted
// ("…" and how long it was): values from the file are quoted with %q,
// wherever the message was put together; paths and hints are not quoted
// and stay whole.
func clipQuoted(msg string) string {
	if len(msg) <= maxQuoted {
		return msg
	}
	var b strings.Builder
	for i := 0; i < len(msg); {
		if msg[i] == '"' {
			if q, err := strconv.QuotedPrefix(msg[i:]); err == nil {
				if v, err := strconv.Unquote(q); err == nil && len(v) > maxQuoted {
					fmt.Fprintf(&b, "%q (%d bytes)", clip(v), len(v))
				} else {
					b.WriteString(q)
				}
				i += len(q)
				continue
			}
		}
		b.WriteByte(msg[i])
		i++
	}
	return b.String()
}

// clip shortens s to maxQuoted bytes, on a character boundary, with "…".
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.add(n, path, false, format, args...)
}

func (d *decoder) warnf(n *yaml.Node, path, format string, args ...any) {
	d.add(n, path, true, format, args...)
}

// resolvePath makes a relative path relative to the config file's folder.
func (d *decoder) resolvePath(p string) string {
	if p == "" || filepath.IsAbs(p) || d.dir == "" {
		return p
	}
	return filepath.Join(d.dir, p)
}

// required reports a missing key of m, unless an unknown key was already
// reported as its misspelling.
func (d *decoder) required(m *mapNode, name, format string, args ...any) {
	if d.misspelt[m.sub(name)] {
		return
	}
	d.errorf(m.at, m.sub(name), format, args...)
}

// mapNode is a decoded YAML mapping whose keys were checked.
type mapNode struct {
	path string
	// at is where problems about the mapping as a whole point: its key in
	// the parent, or the document.
	at *yaml.Node
	// node is the mapping itself (nil when the value was null).
	node *yaml.Node
	keys map[string]*yaml.Node
	vals map[string]*yaml.Node
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// sub returns the dotted path of a child key.
func (m *mapNode) sub(name string) string { return joinPath(m.path, name) }

// get returns the value of key name, nil if absent or null.
func (m *mapNode) get(name string) *yaml.Node {
	if m == nil {
		return nil
	}
	v := m.vals[name]
	if v == nil || isNull(v) {
		return nil
	}
	return v
}

// key returns the key node of name (for positions), falling back to the
// mapping's own position.
func (m *mapNode) key(name string) *yaml.Node {
	if k := m.keys[name]; k != nil {
		return k
	}
	return m.at
}

// has reports whether key name is present with a non-null value.
func (m *mapNode) has(name string) bool { return m.get(name) != nil }

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// deref follows aliases (one level at a time, bounded).
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// kindName names a node kind for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// mapping checks that n is a mapping with only the allowed keys, reporting
// unknown keys (with a suggestion) and duplicates. It returns nil when n is
// not a mapping.
func (d *decoder) mapping(path string, at, n *yaml.Node, allowed ...string) *mapNode {
	n = deref(n)
	if n == nil || isNull(n) {
		return &mapNode{path: path, at: at, keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}}
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping of keys (%s), found %s", strings.Join(allowed, ", "), kindName(n))
		return nil
	}
	m := &mapNode{path: path, at: at, node: n, keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		name := k.Value
		if !contains(allowed, name) {
			msg := fmt.Sprintf("unknown key %q", name)
			if s := suggest(name, allowed); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
				if d.misspelt == nil {
					d.misspelt = map[string]bool{}
				}
				d.misspelt[joinPath(path, s)] = true
			} else {
				msg += "; expected one of " + strings.Join(allowed, ", ")
			}
			d.errorf(k, path, "%s", msg)
			continue
		}
		if prev := m.keys[name]; prev != nil {
			d.errorf(k, m.sub(name), "duplicate key (first set on line %d)", prev.Line)
			continue
		}
		m.keys[name], m.vals[name] = k, v
	}
	return m
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// scalar checks that n is a scalar and returns its text.
func (d *decoder) scalar(path string, n *yaml.Node, expected string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "expected %s, found %s", expected, kindName(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(path string, n *yaml.Node) string {
	s, _ := d.scalar(path, n, "a string")
	return s
}

func (d *decoder) boolean(path string, n *yaml.Node) (bool, bool) {
	s, ok := d.scalar(path, n, "true or false")
	if !ok {
		return false, false
	}
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	d.errorf(n, path, "%q is not valid; expected true or false", s)
	return false, false
}

func (d *decoder) integer(path string, n *yaml.Node, lo, hi int) (int, bool) {
	s, ok := d.scalar(path, n, "a whole number")
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		d.errorf(n, path, "%q is not a whole number; expected a number from %d to %d", s, lo, hi)
		return 0, false
	}
	if v < lo || v > hi {
		d.errorf(n, path, "%d is out of range; expected a number from %d to %d", v, lo, hi)
		return 0, false
	}
	return v, true
}

func (d *decoder) float(path string, n *yaml.Node, lo, hi float64) (float64, bool) {
	s, ok := d.scalar(path, n, "a number")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		d.errorf(n, path, "%q is not a number; expected a number from %g to %g", s, lo, hi)
		return 0, false
	}
	if v < lo || v > hi {
		d.errorf(n, path, "%g is out of range; expected a number from %g to %g", v, lo, hi)
		return 0, false
	}
	return v, true
}

// duration parses Go durations ("90s", "5m", "1h30m") and whole days ("2d").
func (d *decoder) duration(path string, n *yaml.Node, lo, hi time.Duration) (time.Duration, bool) {
	s, ok := d.scalar(path, n, "a duration")
	if !ok {
		return 0, false
	}
	v, err := parseDuration(s)
	if err != nil {
		d.errorf(n, path, "%q is not a duration; expected a number with a unit, such as \"30s\", \"5m\" or \"1h\"", s)
		return 0, false
	}
	if v < lo || v > hi {
		d.errorf(n, path, "%s is out of range; expected from %s to %s", s, formatDuration(lo), formatDuration(hi))
		return 0, false
	}
	return v, true
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3650 {
			return 0, fmt.Errorf("bad day count %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// formatDuration prints a duration without trailing zero units ("5m", "1h").
func formatDuration(v time.Duration) string {
	s := v.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// enum accepts one of values (case-insensitive) and returns the canonical
// spelling.
func (d *decoder) enum(path string, n *yaml.Node, values ...string) (string, bool) {
	s, ok := d.scalar(path, n, "one of "+quoteList(values))
	if !ok {
		return "", false
	}
	for _, v := range values {
		if strings.EqualFold(s, v) {
			return v, true
		}
	}
	msg := fmt.Sprintf("%q is not valid; expected %s", s, quoteList(values))
	if g := suggest(s, values); g != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", g)
	}
	d.errorf(n, path, "%s", msg)
	return "", false
}

// stringList decodes a list of strings; a single scalar is not accepted,
// so that a forgotten dash is reported.
func (d *decoder) stringList(path string, n *yaml.Node) []string {
	items := d.stringItems(path, n)
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.value
	}
	return out
}

// listItem is a string list entry with its node and index (for messages).
type listItem struct {
	value string
	node  *yaml.Node
	index int
}

// stringItems is stringList keeping each entry's node and index.
func (d *decoder) stringItems(path string, n *yaml.Node) []listItem {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list, found %s", kindName(n))
		return nil
	}
	out := make([]listItem, 0, len(n.Content))
	for i, c := range n.Content {
		c = deref(c)
		if s, ok := d.scalar(fmt.Sprintf("%s[%d]", path, i), c, "a string"); ok {
			out = append(out, listItem{value: s, node: c, index: i})
		}
	}
	return out
}

// parseURL checks an absolute URL with one of the allowed schemes.
func (d *decoder) parseURL(path string, n *yaml.Node, schemes ...string) (*url.URL, bool) {
	s, ok := d.scalar(path, n, "a URL")
	if !ok {
		return nil, false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Scheme == "" {
		d.errorf(n, path, "%q is not an absolute URL; expected %s://host/...", s, schemes[0])
		return nil, false
	}
	if !contains(schemes, strings.ToLower(u.Scheme)) {
		d.errorf(n, path, "scheme %q is not supported; expected %s", u.Scheme, quoteList(schemes))
		return nil, false
	}
	if u.User != nil {
		d.errorf(n, path, "credentials in the URL are not allowed; use the password settings")
		return nil, false
	}
	return u, true
}

// isLoopbackHost reports whether host (without port) is a loopback name or address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// existingFile checks that a referenced file exists and is a regular file;
// it returns the resolved path.
func (d *decoder) existingFile(path string, n *yaml.Node) (string, bool) {
	s, ok := d.scalar(path, n, "a file path")
	if !ok || s == "" {
		if ok {
			d.errorf(n, path, "expected a file path, found an empty string")
		}
		return "", false
	}
	p := d.resolvePath(s)
	fi, err := d.stat(p)
	switch {
	case err != nil && os.IsNotExist(err):
		d.errorf(n, path, "file %s does not exist", p)
		return p, false
	case err != nil:
		d.errorf(n, path, "cannot use file %s: %v", p, unwrapPathError(err))
		return p, false
	case fi.IsDir():
		d.errorf(n, path, "%s is a folder; expected a file", p)
		return p, false
	}
	return p, true
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// secret reads base (inline, warned), base_env or base_file from m. It
// reports a missing secret when required is non-empty (the reason).
func (d *decoder) secret(m *mapNode, base, required string) Secret {
	inline, envKey, fileKey := base, base+"_env", base+"_file"
	var set []string
	for _, k := range []string{inline, envKey, fileKey} {
		if m.has(k) {
			set = append(set, k)
		}
	}
	if len(set) > 1 {
		d.errorf(m.key(set[1]), m.sub(set[1]), "set only one of %s", quoteList(set))
		return Secret{}
	}
	if len(set) == 0 {
		if required != "" && !d.misspelt[m.sub(envKey)] && !d.misspelt[m.sub(fileKey)] {
			d.required(m, base, "missing (needed %s); set %s (an environment variable) or %s (a file)", required, envKey, fileKey)
		}
		return Secret{}
	}
	switch set[0] {
	case inline:
		n := m.get(inline)
		v := d.str(m.sub(inline), n)
		d.warnf(n, m.sub(inline), "a secret written in the config file; prefer %s or %s", envKey, fileKey)
		return Secret{value: v, source: "the config file"}
	case envKey:
		n := m.get(envKey)
		name := d.str(m.sub(envKey), n)
		if name == "" {
			return Secret{}
		}
		v, ok := d.lookup(name)
		if !ok {
			d.errorf(n, m.sub(envKey), "environment variable %s is not set", name)
			return Secret{}
		}
		if strings.TrimSpace(v) == "" {
			d.errorf(n, m.sub(envKey), "environment variable %s is empty", name)
			return Secret{}
		}
		return Secret{value: v, source: "environment variable " + name}
	default:
		n := m.get(fileKey)
		v, src, ok := d.secretFile(m.sub(fileKey), n)
		if !ok {
			return Secret{}
		}
		return Secret{value: strings.TrimRight(string(v), "\r\n"), source: src}
	}
}

// secretFile reads a file holding a secret and warns when others may read it.
func (d *decoder) secretFile(path string, n *yaml.Node) ([]byte, string, bool) {
	p, ok := d.existingFile(path, n)
	if !ok {
		return nil, "", false
	}
	if fi, err := d.stat(p); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o004 != 0 {
		d.warnf(n, path, "%s is readable by every user; restrict it (chmod 600)", p)
	}
	data, err := d.readFile(p)
	if err != nil {
		d.errorf(n, path, "cannot read %s: %v", p, unwrapPathError(err))
		return nil, "", false
	}
	if strings.TrimSpace(string(data)) == "" {
		d.errorf(n, path, "file %s is empty", p)
		return nil, "", false
	}
	return data, "file " + p, true
}
