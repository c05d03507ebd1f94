package presence

import (
	"errors"
	"fmt"
)

// RuleError is one problem of a rule set: where it is (Rule and Field) and
// what is wrong (Message). CompileRuleSet and ParseRulesJSON return every
// problem they find as a *RuleError (joined); RuleErrors lists them. The
// config loader turns them into positioned problems, the API into 400s,
// without reading the text.
type RuleError struct {
	// Rule is the 1-based position of the rule; 0 for the rule-set options.
	Rule int
	// Name is the rule's name ("rule N" when unnamed); empty for options.
	Name string
	// Field is the key path inside the rule or the options, e.g.
	// "match.free_busy", "merge_gap_minutes", "free.status_text". Empty
	// when the problem is about the rule set as a whole.
	Field string
	// Message says what is wrong and what is expected.
	Message string
}

func (e *RuleError) Error() string { return ErrInvalidRule.Error() + ": " + e.Describe() }

// Describe is the problem without the package's prefix: where, then what
// (`rule 2 ("focus"): match.free_busy: "bussy" is not valid; …`).
func (e *RuleError) Describe() string {
	where := e.Field
	if e.Rule > 0 {
		where = fmt.Sprintf("rule %d (%q)", e.Rule, e.Name)
		if e.Field != "" {
			where += ": " + e.Field
		}
	}
	if where == "" {
		return e.Message
	}
	return where + ": " + e.Message
}

// Unwrap makes every RuleError match ErrInvalidRule.
func (e *RuleError) Unwrap() error { return ErrInvalidRule }

// RuleErrors returns the rule errors in err (joined or wrapped), in order.
func RuleErrors(err error) []*RuleError {
	var out []*RuleError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *RuleError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		default:
			walk(errors.Unwrap(err))
		}
	}
	walk(err)
	return out
}

// optionError is a problem of the rule-set options.
func optionError(field, format string, args ...any) *RuleError {
	return &RuleError{Field: field, Message: fmt.Sprintf(format, args...)}
}
