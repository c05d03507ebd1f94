package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/calsync/calsync/presence"
)

// Presence is the presence section: the rule set as written and its
// compiled form (validated with presence.CompileRuleSet at load time).
type Presence struct {
	RuleSet  presence.RuleSet
	Compiled *presence.CompiledRules
}

// defaultPresence compiles the built-in rules.
func defaultPresence() Presence {
	c, err := presence.CompileRuleSet(presence.RuleSet{})
	if err != nil {
		// The built-in rules are covered by the presence package's tests.
		panic(fmt.Sprintf("config: built-in presence rules do not compile: %v", err))
	}
	return Presence{Compiled: c}
}

// yaml.v3 reports type errors only as text ("line 20: cannot unmarshal
// !!str `ten` into int"); these read it. The presence package's own
// errors are typed (presence.RuleError).
var (
	yamlTypeLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)
	unmarshalRE    = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.*)$")
)

// presence decodes the section into presence.RuleSet, reporting unknown
// keys with positions, then compiles it and maps each rule error back to
// the line of the offending key.
func (d *decoder) presence(p *Presence, m *mapNode) {
	if m == nil {
		return
	}
	node := m.node
	// An unknown key does not stop the check either: the rules are
	// compiled anyway, so that a typo in one rule does not hide the
	// problems of the others. The errors of a rule with an unknown key are
	// left out, since they likely follow from the typo.
	unknown := d.checkKeys(m.path, node, reflect.TypeOf(presence.RuleSet{}))
	var rs presence.RuleSet
	// yaml.v3 decodes what it can and lists every value of the wrong
	// type; the rules are compiled anyway, so that a type error in one rule
	// does not hide the problems of the others.
	var typed []string // paths with a type error or an unknown key
	for _, u := range unknown {
		typed = append(typed, enclosingRule(m.path, u))
	}
	if err := node.Decode(&rs); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			d.errorf(node, m.path, "%v", err)
			return
		}
		for _, e := range te.Errors {
			typed = append(typed, d.typeError(m.path, node, e))
		}
	}
	compiled, err := presence.CompileRuleSet(rs)
	if err != nil {
		d.ruleErrors(m, node, err, typed)
		return
	}
	if len(typed) == 0 {
		p.RuleSet, p.Compiled = rs, compiled
	}
}

// enclosingRule returns the path of the rule that path lies in
// ("presence.rules[2]" for "presence.rules[2].match.categries"), else path.
func enclosingRule(section, path string) string {
	prefix := section + ".rules["
	if !strings.HasPrefix(path, prefix) {
		return path
	}
	if i := strings.IndexByte(path[len(prefix):], ']'); i >= 0 {
		return path[:len(prefix)+i+1]
	}
	return path
}

// ruleErrors turns CompileRuleSet's errors into positioned problems,
// leaving out those about a value that already has a type error (it was
// decoded as empty).
func (d *decoder) ruleErrors(m *mapNode, node *yaml.Node, err error, typed []string) {
	problems := presence.RuleErrors(err)
	if len(problems) == 0 {
		d.errorf(m.at, m.path, "%v", err)
		return
	}
	rules := findKey(node, "rules")
	for _, re := range problems {
		var path string
		var at *yaml.Node
		var fields []string
		if re.Field != "" {
			fields = strings.Split(re.Field, ".")
		}
		if re.Rule > 0 {
			path = fmt.Sprintf("%s.rules[%d]", m.path, re.Rule-1)
			at = rules
			if rules != nil && rules.Kind == yaml.SequenceNode && re.Rule-1 < len(rules.Content) {
				at = deref(rules.Content[re.Rule-1])
				if v := findPath(at, fields); v != nil {
					at = v
				}
			}
		} else {
			path = m.path
			if at = findPath(node, fields); at == nil {
				at = m.at
			}
		}
		if re.Field != "" {
			path = joinPath(path, re.Field)
		}
		if overlaps(path, typed) {
			continue
		}
		d.errorf(at, path, "%s", re.Message)
	}
}

// overlaps reports whether path is one of paths, inside one or contains one.
func overlaps(path string, paths []string) bool {
	within := func(a, b string) bool {
		return a == b || strings.HasPrefix(a, b+".") || strings.HasPrefix(a, b+"[")
	}
	for _, p := range paths {
		if p != "" && (within(path, p) || within(p, path)) {
			return true
		}
	}
	return false
}

// findKey returns the value of key in mapping n, or nil.
func findKey(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return deref(n.Content[i+1])
		}
	}
	return nil
}

// findPath follows keys through nested mappings.
func findPath(n *yaml.Node, keys []string) *yaml.Node {
	for _, k := range keys {
		if n = findKey(n, k); n == nil {
			return nil
		}
	}
	return n
}

// yamlFields lists the yaml keys of a struct type (inline fields
// flattened) and the type behind each key.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// checkKeys reports unknown keys in n against the yaml keys of type t,
// recursing into nested structs, pointers, slices and maps of them, and
// returns their paths.
func (d *decoder) checkKeys(path string, n *yaml.Node, t reflect.Type) (unknown []string) {
	n = deref(n)
	if n == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil // Decode reports the type error
		}
		fields := yamlFields(t)
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		sort.Strings(names)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				msg := fmt.Sprintf("unknown key %q", k.Value)
				if s := suggest(k.Value, names); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				} else {
					msg += "; expected one of " + strings.Join(names, ", ")
				}
				d.errorf(k, path, "%s", msg)
				unknown = append(unknown, joinPath(path, k.Value))
				continue
			}
			unknown = append(unknown, d.checkKeys(joinPath(path, k.Value), n.Content[i+1], ft)...)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, c := range n.Content {
			unknown = append(unknown, d.checkKeys(fmt.Sprintf("%s[%d]", path, i), c, t.Elem())...)
		}
	}
	return unknown
}

// presenceMapping checks that the presence section is a mapping; its keys
// are checked against presence.RuleSet by checkKeys.
func (d *decoder) presenceMapping(at, n *yaml.Node) *mapNode {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "presence", "expected a mapping (rules and the presence options), found %s", kindName(n))
		return nil
	}
	return &mapNode{path: "presence", at: at, node: n, keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}}
}

// typeError turns one of yaml.v3's type errors ("line 20: cannot unmarshal
// !!str `ten` into int") into a positioned problem and returns the path of
// the value ("" when it cannot be found). The expected kind comes from the
// Go type at that path, named in the file's terms.
func (d *decoder) typeError(path string, root *yaml.Node, e string) string {
	line := 0
	msg := e
	if mm := yamlTypeLineRE.FindStringSubmatch(e); mm != nil {
		line, _ = strconv.Atoi(mm[1])
		msg = mm[2]
	}
	mm := unmarshalRE.FindStringSubmatch(msg)
	if mm == nil {
		d.problems = append(d.problems, Problem{File: d.file, Line: line, Path: path, Message: "a value of the wrong kind"})
		return ""
	}
	value := mm[2]
	at, atPath := findValue(root, path, line, value)
	found := fmt.Sprintf("%q", value)
	if mm[1] == "map" || mm[1] == "seq" {
		found = map[string]string{"map": "a mapping", "seq": "a list"}[mm[1]]
	}
	expected := "a value of another kind"
	if t := typeAt(reflect.TypeOf(presence.RuleSet{}), strings.TrimPrefix(atPath, path)); t != nil {
		expected = expectedKind(t)
	}
	if at == nil {
		d.problems = append(d.problems, Problem{File: d.file, Line: line, Path: path, Message: fmt.Sprintf("expected %s, found %s", expected, found)})
		return ""
	}
	d.errorf(at, atPath, "expected %s, found %s", expected, found)
	return atPath
}

// typeAt follows a key path (".rules[0].match.all_day") through the yaml
// fields of t; nil when it leads nowhere.
func typeAt(t reflect.Type, path string) reflect.Type {
	for path != "" {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case strings.HasPrefix(path, "["):
			end := strings.IndexByte(path, ']')
			if end < 0 || (t.Kind() != reflect.Slice && t.Kind() != reflect.Array) {
				return nil
			}
			t, path = t.Elem(), path[end+1:]
		case strings.HasPrefix(path, "."):
			path = path[1:]
			key := path
			if i := strings.IndexAny(path, ".["); i >= 0 {
				key = path[:i]
			}
			path = path[len(key):]
			switch t.Kind() {
			case reflect.Struct:
				ft, ok := yamlFields(t)[key]
				if !ok {
					return nil
				}
				t = ft
			case reflect.Map:
				t = t.Elem()
			default:
				return nil
			}
		default:
			return nil
		}
	}
	return t
}

// expectedKind names what a value of type t looks like in the file; for
// a mapping with fixed keys it lists them.
func expectedKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return presence.ExpectedKind(t, "a mapping")
	}
	keys := make([]string, 0)
	for k := range yamlFields(t) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return "a mapping of keys (" + strings.Join(keys, ", ") + ")"
}

// findValue finds the node on line whose value is value (or, for
// collections, any node on that line) and returns it with its path.
func findValue(n *yaml.Node, path string, line int, value string) (*yaml.Node, string) {
	n = deref(n)
	if n == nil {
		return nil, ""
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			v := deref(n.Content[i+1])
			p := joinPath(path, n.Content[i].Value)
			if found, fp := findValue(v, p, line, value); found != nil {
				return found, fp
			}
			if v != nil && v.Line == line && (v.Value == value || v.Kind != yaml.ScalarNode) {
				return v, p
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			c = deref(c)
			p := fmt.Sprintf("%s[%d]", path, i)
			if c.Line == line && c.Kind == yaml.ScalarNode && c.Value == value {
				return c, p
			}
			if found, fp := findValue(c, p, line, value); found != nil {
				return found, fp
			}
		}
	}
	return nil, ""
}
