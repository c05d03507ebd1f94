package presence

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/calsync/calsync/calendar"
)

func TestDefaultRulesCompile(t *testing.T) {
	c, err := CompileRules(nil)
	if err != nil {
		t.Fatalf("CompileRules(nil) = %v", err)
	}
	if c.Len() != len(DefaultRules()) {
		t.Errorf("Len = %d, want %d default rules", c.Len(), len(DefaultRules()))
	}
	off := false
	c, err = CompileRuleSet(RuleSet{Options: Options{DefaultRules: &off}})
	if err != nil || c.Len() != 0 {
		t.Fatalf("without defaults: len %d err %v", c.Len(), err)
	}
}

func TestCompileRulesErrors(t *testing.T) {
	tests := []struct {
		name string
		rs   RuleSet
		want []string // substrings of the error
	}{
		{"bad regex", RuleSet{Rules: []Rule{{Name: "x", Profile: "p", Match: Match{Subject: "("}}}}, []string{`rule 1 ("x")`, "match.subject", "invalid regular expression"}},
		// The problem in the rule's terms: not Go's "error parsing regexp"
		// and the (?i) calsync adds, the part at fault when it is not all.
		{"bad regex said plainly", RuleSet{Rules: []Rule{{Name: "x", Profile: "p", Match: Match{Subject: "(lunch"}}}}, []string{`match.subject: invalid regular expression "(lunch": missing closing )`}},
		{"bad regex part", RuleSet{Rules: []Rule{{Name: "x", Profile: "p", Match: Match{Location: `room \q`}}}}, []string{`match.location: invalid regular expression "room \\q": invalid escape sequence: \q`}},
		{"unknown free_busy", RuleSet{Rules: []Rule{{Profile: "p", Match: Match{FreeBusy: []string{"bussy"}}}}}, []string{`rule 1 ("rule 1")`, "match.free_busy", `"bussy"`}},
		{"unknown availability action", RuleSet{Rules: []Rule{{Name: "a", Profile: "p"}, {Name: "b", Profile: "p", Availability: "away"}}}, []string{`rule 2 ("b")`, "availability", `"away"`}},
		{"empty profile", RuleSet{Rules: []Rule{{Name: "meet"}}}, []string{`rule 1 ("meet")`, "profile", "empty profile"}},
		{"ignore with profile", RuleSet{Rules: []Rule{{Name: "i", Ignore: true, Profile: "p"}}}, []string{"ignore", "cannot also set"}},
		{"bad template", RuleSet{Rules: []Rule{{Name: "t", Profile: "p", StatusText: "until {{.Untill}}"}}}, []string{`rule 1 ("t")`, "status_text", "Untill"}},
		{"unclosed template", RuleSet{Rules: []Rule{{Name: "t", Profile: "p", StatusText: "until {{until"}}}, []string{"status_text"}},
		{"printf refused", RuleSet{Rules: []Rule{{Name: "t", Profile: "p", StatusText: `{{printf "%0999999999d" 1}}`}}}, []string{"status_text", `"printf" is not allowed`}},
		{"range refused", RuleSet{Rules: []Rule{{Name: "t", Profile: "p", StatusText: `{{range .Subject}}x{{end}}`}}}, []string{"range is not allowed"}},
		{"define refused", RuleSet{Rules: []Rule{{Name: "t", Profile: "p", StatusText: `{{define "x"}}{{template "x"}}{{end}}{{template "x"}}`}}}, []string{"not allowed"}},
		{"variables refused", RuleSet{Rules: []Rule{{Name: "t", Profile: "p", StatusText: `{{$x := .Until}}{{$x}}`}}}, []string{"variables are not allowed"}},
		{"unknown language", RuleSet{Rules: []Rule{{Name: "t", Profile: "p", StatusTexts: map[string]string{"fr": "x"}}}}, []string{"status_texts", `"fr"`}},
		{"negative lead", RuleSet{Rules: []Rule{{Name: "l", Profile: "p", LeadMinutes: -5}}}, []string{"lead_minutes", "-5"}},
		{"duplicate names", RuleSet{Rules: []Rule{{Name: "d", Profile: "p"}, {Name: "d", Profile: "q"}}}, []string{`rule 2 ("d")`, "duplicate of rule 1"}},
		{"bad sensitivity", RuleSet{Rules: []Rule{{Name: "s", Profile: "p", Match: Match{Sensitivity: []string{"secret"}}}}}, []string{"match.sensitivity", `"secret"`}},
		{"bad response", RuleSet{Rules: []Rule{{Name: "r", Profile: "p", Match: Match{Response: []string{"maybe"}}}}}, []string{"match.response", `"maybe"`}},
		{"bad unanswered", RuleSet{Options: Options{Unanswered: "busy"}}, []string{"unanswered", `"busy"`}},
		{"bad language", RuleSet{Options: Options{Language: "fr"}}, []string{"language", `"fr"`}},
		{"bad zone", RuleSet{Options: Options{TimeZone: "Mars/Olympus"}}, []string{"time_zone", "Mars/Olympus"}},
		{"bad merge gap", RuleSet{Options: Options{MergeGapMinutes: -1}}, []string{"merge_gap_minutes"}},
		{"bad auto reply template", RuleSet{Options: Options{AutomaticReplies: &StateText{StatusText: "{{.Nope}}"}}}, []string{"automatic_replies.status_text"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CompileRuleSet(tt.rs)
			if err == nil {
				t.Fatal("CompileRuleSet succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalidRule) {
				t.Errorf("error %v does not wrap ErrInvalidRule", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestRuleSetDecodesFromYAMLAndJSON(t *testing.T) {
	const doc = `
merge_gap_minutes: 5
unanswered: as_shown
language: de
time_zone: W. Europe Standard Time
default_rules: false
automatic_replies:
  profile: away
rules:
  - name: focus
    match:
      categories: [Focus]
      all_day: false
      meeting: false
    availability: busy
    profile: dnd
    status_text: "Focus time until {{until}}"
    forward_to: "+49301234"
    lead_minutes: 2
    lag_minutes: 3
  - name: private-lunch
    match:
      subject: "^lunch"
      sensitivity: [private]
    profile: lunch
    reveal_private: true
`
	var rs RuleSet
	if err := yaml.Unmarshal([]byte(doc), &rs); err != nil {
		t.Fatal(err)
	}
	if rs.MergeGapMinutes != 5 || rs.Unanswered != UnansweredAsShown || rs.Language != "de" || rs.DefaultRules == nil || *rs.DefaultRules {
		t.Errorf("options = %+v", rs.Options)
	}
	if len(rs.Rules) != 2 || rs.Rules[0].ForwardTo != "+49301234" || rs.Rules[0].LagMinutes != 3 || !rs.Rules[1].RevealPrivate || *rs.Rules[0].Match.Meeting {
		t.Errorf("rules = %+v", rs.Rules)
	}
	c, err := CompileRuleSet(rs)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 2 {
		t.Errorf("Len = %d, want 2 (defaults off)", c.Len())
	}
	b, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	var back RuleSet
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Rules[0].StatusText != rs.Rules[0].StatusText || back.MergeGapMinutes != 5 || back.AutomaticReplies.Profile != "away" {
		t.Errorf("JSON round trip = %s", b)
	}
	if !strings.Contains(string(b), `"merge_gap_minutes":5`) || !strings.Contains(string(b), `"lead_minutes":2`) {
		t.Errorf("JSON keys are not snake_case: %s", b)
	}
}

func TestRuleMatches(t *testing.T) {
	base := calendar.Occurrence{ItemID: "x", Subject: "Weekly Sync", Location: "Room 4.01", Organizer: "boss@example.com",
		Categories: []string{"Blue", "Project X"}, FreeBusy: calendar.Busy, Sensitivity: calendar.Normal,
		Response: calendar.ResponseAccept, IsMeeting: true}
	yes, no := true, false
	tests := []struct {
		name  string
		match Match
		want  bool
	}{
		{"empty matches all", Match{}, true},
		{"free_busy hit", Match{FreeBusy: []string{"tentative", "Busy"}}, true},
		{"free_busy miss", Match{FreeBusy: []string{"free"}}, false},
		{"availability hit", Match{Availability: []string{"busy"}}, true},
		{"availability miss", Match{Availability: []string{"tentative"}}, false},
		{"all_day false hit", Match{AllDay: &no}, true},
		{"all_day true miss", Match{AllDay: &yes}, false},
		{"sensitivity hit", Match{Sensitivity: []string{"normal"}}, true},
		{"sensitivity miss", Match{Sensitivity: []string{"private"}}, false},
		{"category case-insensitive", Match{Categories: []string{"project x"}}, true},
		{"category miss", Match{Categories: []string{"Red"}}, false},
		{"subject regex", Match{Subject: `^weekly\s`}, true},
		{"subject miss", Match{Subject: `^daily`}, false},
		{"location regex", Match{Location: `room 4\.`}, true},
		{"location miss", Match{Location: `room 5`}, false},
		{"organizer regex", Match{Organizer: `@example\.com$`}, true},
		{"organizer miss", Match{Organizer: `@other\.com$`}, false},
		{"response hit", Match{Response: []string{"accepted"}}, true},
		{"response miss", Match{Response: []string{"no_response"}}, false},
		{"meeting hit", Match{Meeting: &yes}, true},
		{"appointment miss", Match{Meeting: &no}, false},
		{"all conditions", Match{FreeBusy: []string{"busy"}, Categories: []string{"blue"}, Subject: "sync", Meeting: &yes, Response: []string{"accepted"}}, true},
		{"one condition fails", Match{FreeBusy: []string{"busy"}, Categories: []string{"blue"}, Subject: "standup"}, false},
	}
	for _, tt := range tests {
		c, err := CompileRuleSet(RuleSet{Options: Options{DefaultRules: new(bool)}, Rules: []Rule{{Name: "r", Match: tt.match, Profile: "p"}}})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		o := base
		if got := c.rules[0].matches(&o, Busy); got != tt.want {
			t.Errorf("%s: matches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTemplateAllowsConditions(t *testing.T) {
	ts, err := compileTexts(`{{if eq .Availability "busy"}}Busy{{else if not .Until}}Open{{else}}Other{{end}}{{with .Until}} until {{.}}{{end}}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ts.render("en", textData{Availability: "busy", Until: "15:00"}); got != "Busy until 15:00" {
		t.Errorf("render = %q", got)
	}
	if got := ts.render("en", textData{Availability: "tentative"}); got != "Open" {
		t.Errorf("render = %q", got)
	}
}

func TestRevealsPrivateFollowsTheDecidingRule(t *testing.T) {
	rules, err := CompileRules(append([]Rule{
		{Name: "shared", Match: Match{Categories: []string{"Share"}}, Profile: "busy", RevealPrivate: true},
		{Name: "hidden", Match: Match{Categories: []string{"Hide"}}, Ignore: true, RevealPrivate: true},
	}, DefaultRules()...))
	if err != nil {
		t.Fatal(err)
	}
	private := calendar.Occurrence{ItemID: "p", Subject: "Doctor", FreeBusy: calendar.Busy, Sensitivity: calendar.Private}
	tests := []struct {
		name string
		edit func(*calendar.Occurrence)
		want bool
	}{
		{"no revealing rule matches", func(*calendar.Occurrence) {}, false},
		{"revealing rule decides", func(o *calendar.Occurrence) { o.Categories = []string{"Share"} }, true},
		{"ignored by its rule", func(o *calendar.Occurrence) { o.Categories = []string{"Hide"} }, true},
		{"declined items are decided by no rule", func(o *calendar.Occurrence) {
			o.Categories, o.IsMeeting, o.Response = []string{"Share"}, true, calendar.ResponseDecline
		}, false},
		{"cancelled items are decided by no rule", func(o *calendar.Occurrence) {
			o.Categories, o.Cancelled = []string{"Share"}, true
		}, false},
	}
	for _, tc := range tests {
		o := private
		tc.edit(&o)
		if got := rules.RevealsPrivate(o); got != tc.want {
			t.Errorf("%s: RevealsPrivate = %v, want %v", tc.name, got, tc.want)
		}
	}
	var none *CompiledRules
	if none.RevealsPrivate(private) {
		t.Error("a nil rule set reveals a private item")
	}
}

func TestLanguageTagsAreNormalised(t *testing.T) {
	for _, tag := range []string{"DE", "de-AT", "de_DE", " de "} {
		rules, err := CompileRuleSet(RuleSet{Options: Options{Language: tag}})
		if err != nil {
			t.Errorf("language %q: %v", tag, err)
			continue
		}
		if rules.language != "de" {
			t.Errorf("language %q compiled as %q, want de", tag, rules.language)
		}
	}
	if _, err := CompileRules([]Rule{{Name: "x", Profile: "busy", StatusTexts: map[string]string{"DE-CH": "Beschäftigt"}}}); err != nil {
		t.Errorf("status_texts with DE-CH: %v", err)
	}
}
