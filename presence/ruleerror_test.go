package presence

import (
	"errors"
	"strings"
	"testing"
)

func TestCompileRuleSetReportsTypedErrors(t *testing.T) {
	_, err := CompileRuleSet(RuleSet{
		Options: Options{MergeGapMinutes: -1},
		Rules: []Rule{
			{Name: "focus", Profile: "Busy", Match: Match{FreeBusy: []string{"bussy"}}},
			{Profile: "Busy", LeadMinutes: 5000},
		},
	})
	if !errors.Is(err, ErrInvalidRule) {
		t.Fatalf("err = %v, want ErrInvalidRule", err)
	}
	got := RuleErrors(err)
	want := []RuleError{
		{Field: "merge_gap_minutes"},
		{Rule: 1, Name: "focus", Field: "match.free_busy"},
		{Rule: 2, Name: "rule 2", Field: "lead_minutes"},
	}
	if len(got) != len(want) {
		t.Fatalf("RuleErrors = %v, want %d", got, len(want))
	}
	for i, w := range want {
		if got[i].Rule != w.Rule || got[i].Name != w.Name || got[i].Field != w.Field || got[i].Message == "" {
			t.Errorf("error %d = %+v, want %+v with a message", i, *got[i], w)
		}
	}
}

// A value of the wrong type in one rule (JSON of a dry run) does not hide
// the other rules' problems, and no Go type name reaches the message.
func TestParseRulesJSONReportsEveryRule(t *testing.T) {
	_, err := ParseRulesJSON([]byte(`[
		{"name": "a", "profile": "Busy", "lead_minutes": "ten"},
		{"name": "b", "profile": "Busy", "match": {"free_busy": ["bussy"]}},
		{"name": "c", "profile": {"x": 1}}
	]`))
	got := RuleErrors(err)
	var where []string
	for _, e := range got {
		where = append(where, e.Name+" "+e.Field)
		for _, goName := range []string{"Go ", "presence.", "int", "struct"} {
			if strings.Contains(e.Message, goName) {
				t.Errorf("message %q names a Go type (%q)", e.Message, goName)
			}
		}
	}
	if strings.Join(where, ", ") != "a lead_minutes, b match.free_busy, c profile" {
		t.Errorf("problems at %q, want one each for rules a, b and c: %v", where, err)
	}
	if got[0].Message != "expected a whole number, found a string" {
		t.Errorf("type problem = %q", got[0].Message)
	}
}
