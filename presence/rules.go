package presence

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"time"

	"github.com/calsync/calsync/calendar"
)

// ErrInvalidRule is wrapped by every error CompileRules and CompileRuleSet
// return, so that callers (config loader, dry-run endpoint) can tell a bad
// rule set from other failures.
var ErrInvalidRule = errors.New("presence: invalid rule")

// Rule maps matching occurrences to a presence. Rules are evaluated in
// order for each occurrence; the first rule whose every set condition
// matches decides. An empty Match matches every occurrence.
type Rule struct {
	// Name identifies the rule in explanations (Reason.Rule) and errors.
	// Defaults to "rule N" (1-based position) when empty.
	Name string `yaml:"name" json:"name"`
	// Match lists the conditions; all set conditions must hold.
	Match Match `yaml:"match" json:"match"`

	// Ignore drops matching occurrences: they do not affect presence.
	Ignore bool `yaml:"ignore,omitempty" json:"ignore,omitempty"`
	// Availability, when set, replaces the availability derived from the
	// occurrence's free/busy status (e.g. map a "Focus" category to busy).
	Availability Availability `yaml:"availability,omitempty" json:"availability,omitempty"`
	// Profile is the presence profile name handed to the UC system.
	// Required unless Ignore is set.
	Profile string `yaml:"profile,omitempty" json:"profile,omitempty"`
	// StatusText is the status text template (see docs/presence.md):
	// {{until}}, {{since}}, {{subject}}, {{location}}, {{organizer}} or Go
	// text/template syntax on the fields .Until, .Since, .Subject,
	// .Location, .Organizer, .Profile, .Availability.
	StatusText string `yaml:"status_text,omitempty" json:"status_text,omitempty"`
	// StatusTexts holds the template per language ("en", "de"); a user's
	// language picks its entry, falling back to StatusText, then to "en".
	StatusTexts map[string]string `yaml:"status_texts,omitempty" json:"status_texts,omitempty"`
	// ForwardTo is an optional call-forwarding target (number or SIP URI).
	ForwardTo string `yaml:"forward_to,omitempty" json:"forward_to,omitempty"`
	// LeadMinutes starts the presence this many minutes before the occurrence.
	LeadMinutes int `yaml:"lead_minutes,omitempty" json:"lead_minutes,omitempty"`
	// LagMinutes ends the presence this many minutes after the occurrence.
	LagMinutes int `yaml:"lag_minutes,omitempty" json:"lag_minutes,omitempty"`
	// RevealPrivate lets the subject, location and organizer of private and
	// confidential occurrences appear in status texts and explanations.
	// Without it they never leave calsync.
	RevealPrivate bool `yaml:"reveal_private,omitempty" json:"reveal_private,omitempty"`
}

// Match holds the conditions of a Rule. Unset conditions match everything;
// list conditions match when the occurrence has any of the listed values.
type Match struct {
	// FreeBusy: free, tentative, busy, out_of_office (or oof), working_elsewhere.
	FreeBusy []string `yaml:"free_busy,omitempty" json:"free_busy,omitempty"`
	// Availability matches the availability derived from free/busy after
	// the unanswered-request handling: available, tentative, busy,
	// out_of_office, working_elsewhere.
	Availability []string `yaml:"availability,omitempty" json:"availability,omitempty"`
	// AllDay, when set, matches all-day (true) or timed (false) occurrences.
	AllDay *bool `yaml:"all_day,omitempty" json:"all_day,omitempty"`
	// Sensitivity: normal, personal, private, confidential.
	Sensitivity []string `yaml:"sensitivity,omitempty" json:"sensitivity,omitempty"`
	// Categories matches when the occurrence carries any of these
	// categories (case-insensitive).
	Categories []string `yaml:"categories,omitempty" json:"categories,omitempty"`
	// Subject, Location and Organizer are regular expressions (RE2 syntax,
	// case-insensitive, unanchored) on the occurrence's fields.
	Subject   string `yaml:"subject,omitempty" json:"subject,omitempty"`
	Location  string `yaml:"location,omitempty" json:"location,omitempty"`
	Organizer string `yaml:"organizer,omitempty" json:"organizer,omitempty"`
	// Response: organizer, accepted, tentative, no_response, unknown.
	// (Declined meetings never reach the rules.)
	Response []string `yaml:"response,omitempty" json:"response,omitempty"`
	// Meeting, when set, matches meetings (true) or appointments (false).
	Meeting *bool `yaml:"meeting,omitempty" json:"meeting,omitempty"`
}

// Unanswered says how meeting requests the user has not answered yet are
// treated.
type Unanswered string

// Unanswered handling values.
const (
	// UnansweredTentative treats them as tentative (the default).
	UnansweredTentative Unanswered = "tentative"
	// UnansweredAsShown uses the free/busy status the item carries.
	UnansweredAsShown Unanswered = "as_shown"
	// UnansweredIgnore drops them.
	UnansweredIgnore Unanswered = "ignore"
)

// StateText is the profile, status text and forward target of a built-in
// state (free time, automatic replies, no data).
type StateText struct {
	// Profile is the presence profile name (defaults per state).
	Profile string `yaml:"profile,omitempty" json:"profile,omitempty"`
	// StatusText is the template, as in Rule.StatusText.
	StatusText string `yaml:"status_text,omitempty" json:"status_text,omitempty"`
	// StatusTexts holds the template per language, as in Rule.StatusTexts.
	StatusTexts map[string]string `yaml:"status_texts,omitempty" json:"status_texts,omitempty"`
	// ForwardTo is an optional call-forwarding target.
	ForwardTo string `yaml:"forward_to,omitempty" json:"forward_to,omitempty"`
}

// Options are the rule-set-wide knobs.
type Options struct {
	// MergeGapMinutes: blocks with the same presence separated by a free gap
	// shorter than this merge into one block (the gap keeps the presence).
	// 0 merges only back-to-back blocks.
	MergeGapMinutes int `yaml:"merge_gap_minutes,omitempty" json:"merge_gap_minutes,omitempty"`
	// Unanswered: tentative (default), as_shown or ignore.
	Unanswered Unanswered `yaml:"unanswered,omitempty" json:"unanswered,omitempty"`
	// Language is the default language of status texts: "en" (default) or "de".
	Language string `yaml:"language,omitempty" json:"language,omitempty"`
	// TimeZone is the IANA zone used for users whose mailbox zone is
	// unknown (default UTC).
	TimeZone string `yaml:"time_zone,omitempty" json:"time_zone,omitempty"`
	// DefaultRules appends DefaultRules() after the configured rules
	// (default true). Set false to use only the configured rules; unmatched
	// occurrences then get the built-in fallback.
	DefaultRules *bool `yaml:"default_rules,omitempty" json:"default_rules,omitempty"`
	// AutomaticReplies is the presence while automatic replies are on.
	AutomaticReplies *StateText `yaml:"automatic_replies,omitempty" json:"automatic_replies,omitempty"`
	// Free is the presence when nothing is scheduled.
	Free *StateText `yaml:"free,omitempty" json:"free,omitempty"`
	// NoData is the presence when the calendar data is not trustworthy.
	NoData *StateText `yaml:"no_data,omitempty" json:"no_data,omitempty"`
}

// RuleSet is the presence section of the configuration: options and the
// ordered rules.
type RuleSet struct {
	Options `yaml:",inline"`
	Rules   []Rule `yaml:"rules,omitempty" json:"rules,omitempty"`
}

// CompiledRules is a validated, ready-to-evaluate rule set. It is immutable
// and safe for concurrent use.
type CompiledRules struct {
	rules      []compiledRule
	mergeGap   time.Duration
	unanswered Unanswered
	language   string
	zone       *time.Location
	autoReply  compiledState
	free       compiledState
	noData     compiledState
	// fallback is used for occurrences no rule matched.
	fallback map[Availability]compiledRule
	// source is the rule set it was compiled from.
	source RuleSet
}

type compiledRule struct {
	index         int // 0-based position
	builtin       bool
	name          string
	ignore        bool
	availability  Availability
	profile       string
	texts         textSet
	forwardTo     string
	lead, lag     time.Duration
	revealPrivate bool

	freeBusy     []calendar.FreeBusy
	avail        []Availability
	allDay       *bool
	sensitivity  []calendar.Sensitivity
	categories   []string
	subject      *regexp.Regexp
	location     *regexp.Regexp
	organizer    *regexp.Regexp
	response     []calendar.ResponseType
	meeting      *bool
	usesPrivates bool
}

type compiledState struct {
	profile   string
	texts     textSet
	forwardTo string
}

// RuleSet returns a copy of the rule set the rules were compiled from
// (with defaults applied).
func (c *CompiledRules) RuleSet() RuleSet { return c.source }

// Len reports the number of rules, including appended default rules.
func (c *CompiledRules) Len() int { return len(c.rules) }

// CompileRules validates and compiles rules with default options (default
// rules appended).
func CompileRules(rules []Rule) (*CompiledRules, error) {
	return CompileRuleSet(RuleSet{Rules: rules})
}

// CompileRuleSet validates and compiles a rule set. It reports every
// problem it finds, each a *RuleError (see RuleErrors) naming the rule
// (1-based index and name) and field; all match ErrInvalidRule.
func CompileRuleSet(rs RuleSet) (*CompiledRules, error) {
	c := &CompiledRules{unanswered: UnansweredTentative, language: "en", zone: time.UTC}
	var errs []error
	o := rs.Options
	if o.MergeGapMinutes < 0 || o.MergeGapMinutes > 24*60 {
		errs = append(errs, optionError("merge_gap_minutes", "%d is out of range 0..1440", o.MergeGapMinutes))
	}
	c.mergeGap = time.Duration(o.MergeGapMinutes) * time.Minute
	switch o.Unanswered {
	case "":
	case UnansweredTentative, UnansweredAsShown, UnansweredIgnore:
		c.unanswered = o.Unanswered
	default:
		errs = append(errs, optionError("unanswered", "%q is not valid; expected tentative, as_shown or ignore", o.Unanswered))
	}
	if o.Language != "" {
		if lang := normalizeLanguage(o.Language); !knownLanguage(lang) {
			errs = append(errs, optionError("language", "%q is not supported; expected one of %s", o.Language, strings.Join(languages, ", ")))
		} else {
			c.language = lang
		}
	}
	if o.TimeZone != "" {
		loc, err := calendar.LoadZone(o.TimeZone)
		if err != nil {
			errs = append(errs, optionError("time_zone", "%v", err))
		} else {
			c.zone = loc
		}
	}
	var err error
	if c.autoReply, err = compileState("automatic_replies", o.AutomaticReplies, defaultAutoReply); err != nil {
		errs = append(errs, err)
	}
	if c.free, err = compileState("free", o.Free, defaultFree); err != nil {
		errs = append(errs, err)
	}
	if c.noData, err = compileState("no_data", o.NoData, defaultNoData); err != nil {
		errs = append(errs, err)
	}

	all := slices.Clone(rs.Rules)
	names := map[string]int{}
	for i, r := range rs.Rules {
		cr, err := compileRule(i, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := names[cr.name]; dup {
			errs = append(errs, &RuleError{Rule: i + 1, Name: cr.name, Field: "name", Message: fmt.Sprintf("duplicate of rule %d", prev+1)})
			continue
		}
		names[cr.name] = i
		c.rules = append(c.rules, cr)
	}
	if o.DefaultRules == nil || *o.DefaultRules {
		for _, r := range DefaultRules() {
			if _, dup := names[r.Name]; dup {
				// A configured rule of the same name replaces the default.
				continue
			}
			cr, err := compileRule(len(c.rules), r)
			if err != nil {
				return nil, fmt.Errorf("presence: default rule %q: %w", r.Name, err)
			}
			c.rules = append(c.rules, cr)
			all = append(all, r)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if c.fallback, err = builtinFallback(); err != nil {
		return nil, err
	}
	c.source = RuleSet{Options: o, Rules: all}
	return c, nil
}

func compileRule(i int, r Rule) (compiledRule, error) {
	name := r.Name
	if strings.TrimSpace(name) == "" {
		name = fmt.Sprintf("rule %d", i+1)
	}
	cr := compiledRule{index: i, name: name, ignore: r.Ignore, profile: r.Profile, forwardTo: r.ForwardTo, revealPrivate: r.RevealPrivate, allDay: r.Match.AllDay, meeting: r.Match.Meeting}
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, &RuleError{Rule: i + 1, Name: name, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	m := r.Match
	for _, v := range m.FreeBusy {
		fb, ok := parseFreeBusy(v)
		if !ok {
			fail("match.free_busy", "%q is not valid; expected free, tentative, busy, out_of_office or working_elsewhere", v)
		}
		cr.freeBusy = append(cr.freeBusy, fb)
	}
	for _, v := range m.Availability {
		a, ok := parseAvailability(v)
		if !ok || a == Unknown {
			fail("match.availability", "%q is not valid; expected available, tentative, busy, out_of_office or working_elsewhere", v)
		}
		cr.avail = append(cr.avail, a)
	}
	for _, v := range m.Sensitivity {
		s, ok := parseSensitivity(v)
		if !ok {
			fail("match.sensitivity", "%q is not valid; expected normal, personal, private or confidential", v)
		}
		cr.sensitivity = append(cr.sensitivity, s)
	}
	for _, v := range m.Response {
		rt, ok := parseResponse(v)
		if !ok {
			fail("match.response", "%q is not valid; expected organizer, accepted, tentative, no_response or unknown", v)
		}
		cr.response = append(cr.response, rt)
	}
	for _, v := range m.Categories {
		if strings.TrimSpace(v) == "" {
			fail("match.categories", "empty category")
		}
		cr.categories = append(cr.categories, strings.ToLower(strings.TrimSpace(v)))
	}
	compileRE := func(field, expr string) *regexp.Regexp {
		if expr == "" {
			return nil
		}
		re, err := regexp.Compile("(?i)" + expr)
		if err != nil {
			fail(field, "invalid regular expression %q: %s", expr, regexpProblem(err, "(?i)"+expr))
			return nil
		}
		return re
	}
	cr.subject = compileRE("match.subject", m.Subject)
	cr.location = compileRE("match.location", m.Location)
	cr.organizer = compileRE("match.organizer", m.Organizer)

	if r.Availability != "" {
		a, ok := parseAvailability(string(r.Availability))
		if !ok || a == Unknown {
			fail("availability", "%q is not valid; expected available, tentative, busy, out_of_office or working_elsewhere", r.Availability)
		}
		cr.availability = a
	}
	if r.LeadMinutes < 0 || r.LeadMinutes > 24*60 {
		fail("lead_minutes", "%d is out of range 0..1440", r.LeadMinutes)
	}
	if r.LagMinutes < 0 || r.LagMinutes > 24*60 {
		fail("lag_minutes", "%d is out of range 0..1440", r.LagMinutes)
	}
	if err := CheckForwardTarget(r.ForwardTo); err != nil {
		fail("forward_to", "%v", err)
	}
	cr.lead = time.Duration(r.LeadMinutes) * time.Minute
	cr.lag = time.Duration(r.LagMinutes) * time.Minute
	if r.Ignore {
		if r.Profile != "" || r.StatusText != "" || len(r.StatusTexts) > 0 || r.ForwardTo != "" || r.Availability != "" {
			fail("ignore", "an ignoring rule cannot also set profile, status_text, forward_to or availability")
		}
	} else {
		if strings.TrimSpace(r.Profile) == "" {
			fail("profile", "empty profile; set a presence profile name or ignore: true")
		}
		texts, err := compileTexts(r.StatusText, r.StatusTexts)
		if err != nil {
			fail("status_text", "%v", err)
		}
		cr.texts = texts
		cr.usesPrivates = texts.usesPrivateFields()
	}
	if len(errs) > 0 {
		return compiledRule{}, errors.Join(errs...)
	}
	return cr, nil
}

func compileState(field string, st *StateText, def StateText) (compiledState, error) {
	if st == nil {
		st = &def
	}
	texts, err := compileTexts(st.StatusText, st.StatusTexts)
	if err != nil {
		return compiledState{}, optionError(field+".status_text", "%v", err)
	}
	if err := CheckForwardTarget(st.ForwardTo); err != nil {
		return compiledState{}, optionError(field+".forward_to", "%v", err)
	}
	profile := st.Profile
	if profile == "" {
		profile = def.Profile
	}
	if texts.empty() && st != &def {
		texts, _ = compileTexts(def.StatusText, def.StatusTexts)
	}
	return compiledState{profile: profile, texts: texts, forwardTo: st.ForwardTo}, nil
}

// matches reports whether the rule's conditions hold for an occurrence
// whose derived availability is avail.
func (r *compiledRule) matches(o *calendar.Occurrence, avail Availability) bool {
	if len(r.freeBusy) > 0 && !slices.Contains(r.freeBusy, o.FreeBusy) {
		return false
	}
	if len(r.avail) > 0 && !slices.Contains(r.avail, avail) {
		return false
	}
	if r.allDay != nil && *r.allDay != o.AllDay {
		return false
	}
	if len(r.sensitivity) > 0 {
		s := o.Sensitivity
		if s == "" {
			s = calendar.Normal
		}
		if !slices.Contains(r.sensitivity, s) {
			return false
		}
	}
	if r.meeting != nil && *r.meeting != o.IsMeeting {
		return false
	}
	if len(r.response) > 0 {
		rt := o.Response
		if rt == "" {
			rt = calendar.ResponseUnknown
		}
		if !slices.Contains(r.response, rt) {
			return false
		}
	}
	if len(r.categories) > 0 && !slices.ContainsFunc(o.Categories, func(c string) bool {
		return slices.Contains(r.categories, strings.ToLower(strings.TrimSpace(c)))
	}) {
		return false
	}
	if r.subject != nil && !r.subject.MatchString(o.Subject) {
		return false
	}
	if r.location != nil && !r.location.MatchString(o.Location) {
		return false
	}
	if r.organizer != nil && !r.organizer.MatchString(o.Organizer) {
		return false
	}
	return true
}

func norm(v string) string {
	return strings.ReplaceAll(strings.ReplaceAll(strings.ToLower(strings.TrimSpace(v)), "-", "_"), " ", "_")
}

func parseFreeBusy(v string) (calendar.FreeBusy, bool) {
	switch norm(v) {
	case "free":
		return calendar.Free, true
	case "tentative":
		return calendar.Tentative, true
	case "busy":
		return calendar.Busy, true
	case "oof", "out_of_office", "outofoffice", "away":
		return calendar.OutOfOffice, true
	case "working_elsewhere", "workingelsewhere":
		return calendar.WorkingElsewhere, true
	}
	return "", false
}

func parseAvailability(v string) (Availability, bool) {
	switch norm(v) {
	case "available", "free":
		return Available, true
	case "tentative":
		return Tentative, true
	case "busy":
		return Busy, true
	case "out_of_office", "oof", "outofoffice":
		return OutOfOffice, true
	case "working_elsewhere", "workingelsewhere":
		return WorkingElsewhere, true
	case "unknown":
		return Unknown, true
	}
	return "", false
}

func parseSensitivity(v string) (calendar.Sensitivity, bool) {
	switch norm(v) {
	case "normal":
		return calendar.Normal, true
	case "personal":
		return calendar.Personal, true
	case "private":
		return calendar.Private, true
	case "confidential":
		return calendar.Confidential, true
	}
	return "", false
}

func parseResponse(v string) (calendar.ResponseType, bool) {
	switch norm(v) {
	case "organizer":
		return calendar.ResponseOrganizer, true
	case "accept", "accepted":
		return calendar.ResponseAccept, true
	case "tentative":
		return calendar.ResponseTentative, true
	case "no_response", "noresponsereceived", "no_response_received", "not_answered":
		return calendar.ResponseNoResponse, true
	case "unknown":
		return calendar.ResponseUnknown, true
	case "decline", "declined":
		return calendar.ResponseDecline, true
	}
	return "", false
}

// ParseAvailability parses an availability value as accepted in rules and
// overrides ("busy", "out_of_office", "oof", ...).
func ParseAvailability(v string) (Availability, error) {
	a, ok := parseAvailability(v)
	if !ok {
		return "", fmt.Errorf("presence: unknown availability %q", v)
	}
	return a, nil
}

func boolPtr(b bool) *bool { return &b }

// DefaultRules returns the rules UC administrators expect, in order:
// out-of-office items, private items (masked), free items ignored, working
// elsewhere, tentative, meetings, other busy appointments. They are
// appended after configured rules unless Options.DefaultRules is false; a
// configured rule with the same name replaces a default rule.
func DefaultRules() []Rule {
	return []Rule{
		{
			Name:       "out-of-office",
			Match:      Match{FreeBusy: []string{"out_of_office"}},
			Profile:    "out_of_office",
			StatusText: "Out of office{{if .Until}} until {{.Until}}{{end}}",
			StatusTexts: map[string]string{
				"de": "Abwesend{{if .Until}} bis {{.Until}}{{end}}",
			},
		},
		{
			Name:       "private",
			Match:      Match{Sensitivity: []string{"private", "confidential"}, FreeBusy: []string{"busy", "tentative", "working_elsewhere"}},
			Profile:    "busy",
			StatusText: "Busy{{if .Until}} until {{.Until}}{{end}}",
			StatusTexts: map[string]string{
				"de": "Beschäftigt{{if .Until}} bis {{.Until}}{{end}}",
			},
		},
		{
			Name:   "free-time",
			Match:  Match{FreeBusy: []string{"free"}},
			Ignore: true,
		},
		{
			Name:       "working-elsewhere",
			Match:      Match{FreeBusy: []string{"working_elsewhere"}},
			Profile:    "working_elsewhere",
			StatusText: "Working elsewhere{{if .Until}} until {{.Until}}{{end}}",
			StatusTexts: map[string]string{
				"de": "Arbeitet an einem anderen Ort{{if .Until}} bis {{.Until}}{{end}}",
			},
		},
		{
			Name:       "tentative",
			Match:      Match{Availability: []string{"tentative"}},
			Profile:    "tentative",
			StatusText: "Tentatively busy{{if .Until}} until {{.Until}}{{end}}",
			StatusTexts: map[string]string{
				"de": "Vorläufig beschäftigt{{if .Until}} bis {{.Until}}{{end}}",
			},
		},
		{
			Name:       "meeting",
			Match:      Match{Meeting: boolPtr(true), Availability: []string{"busy"}},
			Profile:    "in_a_meeting",
			StatusText: "In a meeting{{if .Until}} until {{.Until}}{{end}}",
			StatusTexts: map[string]string{
				"de": "In einer Besprechung{{if .Until}} bis {{.Until}}{{end}}",
			},
		},
		{
			Name:       "busy",
			Match:      Match{Availability: []string{"busy"}},
			Profile:    "busy",
			StatusText: "Busy{{if .Until}} until {{.Until}}{{end}}",
			StatusTexts: map[string]string{
				"de": "Beschäftigt{{if .Until}} bis {{.Until}}{{end}}",
			},
		},
	}
}

var (
	defaultAutoReply = StateText{Profile: "out_of_office",
		StatusText:  "Out of office{{if .Until}} until {{.Until}}{{end}}",
		StatusTexts: map[string]string{"de": "Abwesend{{if .Until}} bis {{.Until}}{{end}}"}}
	defaultFree   = StateText{Profile: "available"}
	defaultNoData = StateText{Profile: "unknown"}
)

// builtinFallback is used for occurrences no rule matched: the availability
// comes from free/busy, the profile is the availability's name.
func builtinFallback() (map[Availability]compiledRule, error) {
	texts := map[Availability][2]string{
		Available:        {"Available", "Verfügbar"},
		Tentative:        {"Tentatively busy{{if .Until}} until {{.Until}}{{end}}", "Vorläufig beschäftigt{{if .Until}} bis {{.Until}}{{end}}"},
		Busy:             {"Busy{{if .Until}} until {{.Until}}{{end}}", "Beschäftigt{{if .Until}} bis {{.Until}}{{end}}"},
		OutOfOffice:      {"Out of office{{if .Until}} until {{.Until}}{{end}}", "Abwesend{{if .Until}} bis {{.Until}}{{end}}"},
		WorkingElsewhere: {"Working elsewhere{{if .Until}} until {{.Until}}{{end}}", "Arbeitet an einem anderen Ort{{if .Until}} bis {{.Until}}{{end}}"},
	}
	out := make(map[Availability]compiledRule, len(texts))
	for a, t := range texts {
		ts, err := compileTexts(t[0], map[string]string{"de": t[1]})
		if err != nil {
			return nil, fmt.Errorf("presence: built-in text for %s: %w", a, err)
		}
		// The largest index: configured rules win ties against it.
		out[a] = compiledRule{index: math.MaxInt32, builtin: true, availability: a, profile: string(a), texts: ts}
	}
	return out, nil
}

// regexpProblem says what is wrong with a regular expression in the
// rule's terms: the problem and the part at fault, without Go's "error
// parsing regexp" prefix or the case-insensitivity flag calsync adds.
func regexpProblem(err error, compiled string) string {
	var se *syntax.Error
	if !errors.As(err, &se) {
		return err.Error()
	}
	if se.Expr == "" || se.Expr == compiled {
		return se.Code.String()
	}
	return fmt.Sprintf("%s: %s", se.Code, strings.TrimPrefix(se.Expr, "(?i)"))
}
