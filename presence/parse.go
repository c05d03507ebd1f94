package presence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/calsync/calsync/calendar"
)

// ParseRulesJSON compiles a rule set sent as JSON (the dry-run endpoint's
// proposed rules): either an array of rules, compiled with default options,
// or a rule-set object with options and "rules". Unknown keys are errors.
// Every error wraps ErrInvalidRule.
func ParseRulesJSON(raw []byte) (*CompiledRules, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: empty rule set", ErrInvalidRule)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	var rs RuleSet
	if trimmed[0] == '[' {
		if err := dec.Decode(&rs.Rules); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidRule, err)
		}
	} else if err := dec.Decode(&rs); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRule, err)
	}
	return CompileRuleSet(rs)
}

func calendarWindow(from, to time.Time) calendar.Window {
	return calendar.Window{Start: from, End: to}
}
