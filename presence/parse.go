package presence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/calsync/calsync/calendar"
)

// ParseRulesJSON compiles a rule set sent as JSON (the dry-run endpoint's
// proposed rules): either an array of rules, compiled with default options,
// or a rule-set object with options and "rules". Unknown keys are errors.
// Each rule is decoded on its own, so a wrong value in one rule does not
// hide the problems of the others; every problem is a *RuleError.
func ParseRulesJSON(raw []byte) (*CompiledRules, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, &RuleError{Message: "empty rule set"}
	}
	var rs RuleSet
	var rawRules []json.RawMessage
	if trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &rawRules); err != nil {
			return nil, &RuleError{Message: jsonProblem(err)}
		}
	} else {
		var top map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &top); err != nil {
			return nil, &RuleError{Message: jsonProblem(err)}
		}
		if r, ok := top["rules"]; ok {
			if err := json.Unmarshal(r, &rawRules); err != nil {
				return nil, &RuleError{Field: "rules", Message: jsonProblem(err)}
			}
			delete(top, "rules")
		}
		options, _ := json.Marshal(top)
		if err := strictJSON(options, &rs.Options); err != nil {
			return nil, &RuleError{Field: jsonField(err), Message: jsonProblem(err)}
		}
	}
	var errs []*RuleError
	bad := map[int]string{} // rule index -> field with a decoding problem
	rs.Rules = make([]Rule, len(rawRules))
	for i, r := range rawRules {
		if err := strictJSON(r, &rs.Rules[i]); err != nil {
			name := rs.Rules[i].Name
			if strings.TrimSpace(name) == "" {
				name = fmt.Sprintf("rule %d", i+1)
			}
			bad[i+1] = jsonField(err)
			errs = append(errs, &RuleError{Rule: i + 1, Name: name, Field: bad[i+1], Message: jsonProblem(err)})
		}
	}
	compiled, err := CompileRuleSet(rs)
	if len(errs) == 0 {
		return compiled, err
	}
	// The rules' other problems, without those caused by the value that
	// could not be decoded (it was left empty).
	for _, re := range RuleErrors(err) {
		if f, ok := bad[re.Rule]; !ok || (f != "" && re.Field != f) {
			errs = append(errs, re)
		}
	}
	slices.SortStableFunc(errs, func(a, b *RuleError) int { return a.Rule - b.Rule })
	joined := make([]error, len(errs))
	for i, e := range errs {
		joined[i] = e
	}
	return nil, errors.Join(joined...)
}

// strictJSON decodes one value, refusing unknown keys.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// jsonField is the key path of a decoding problem, when known.
func jsonField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	return ""
}

// jsonProblem describes a decoding problem in the rule set's own terms,
// without Go type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("expected %s, found %s", ExpectedKind(te.Type, "an object"), foundJSON(te.Value))
	case errors.As(err, &se):
		return fmt.Sprintf("not valid JSON at byte %d: %v", se.Offset, se)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// ExpectedKind names what a value of Go type t looks like in a rule set
// written by people, without Go type names: "a whole number", "true or
// false", "a string", "a list of strings"; object is the word for a
// mapping in the format at hand ("an object" in JSON, "a mapping" in YAML).
func ExpectedKind(t reflect.Type, object string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.String {
			return "a list of strings"
		}
		return "a list"
	case reflect.Map, reflect.Struct:
		return object
	}
	return "a value of another kind"
}

// foundJSON names the JSON kind encoding/json reports ("string", "number
// -1", "array", "object", "bool").
func foundJSON(v string) string {
	kind, _, _ := strings.Cut(v, " ")
	switch kind {
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "bool":
		return "true or false"
	case "number":
		return "a number"
	case "string":
		return "a string"
	}
	return v
}

func calendarWindow(from, to time.Time) calendar.Window {
	return calendar.Window{Start: from, End: to}
}
