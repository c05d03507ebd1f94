package presence

import (
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// languages are the supported status-text languages.
var languages = []string{"en", "de"}

// normalizeLanguage reduces a language tag to its lower-case primary
// subtag: "DE", "de-AT" and "de_DE" are all "de".
func normalizeLanguage(l string) string {
	l = strings.ToLower(strings.TrimSpace(l))
	if i := strings.IndexAny(l, "-_"); i > 0 {
		l = l[:i]
	}
	return l
}

func knownLanguage(l string) bool {
	for _, x := range languages {
		if x == l {
			return true
		}
	}
	return false
}

// textData is what a status text template sees.
type textData struct {
	// Until and Since are rendered in the user's zone and language; Until
	// is empty when the block is open-ended.
	Until, Since                 string
	Subject, Location, Organizer string
	Profile, Availability        string
}

// textSet holds the templates of one rule by language; "" is the
// language-neutral StatusText.
type textSet map[string]*template.Template

// placeholder rewrites the simple {{until}} syntax into template fields.
var placeholder = regexp.MustCompile(`\{\{-?\s*(until|since|subject|location|organizer|profile|availability)\s*-?\}\}`)

var placeholderFields = map[string]string{
	"until": ".Until", "since": ".Since", "subject": ".Subject", "location": ".Location",
	"organizer": ".Organizer", "profile": ".Profile", "availability": ".Availability",
}

func compileTexts(text string, byLang map[string]string) (textSet, error) {
	ts := textSet{}
	add := func(lang, src string) error {
		if src == "" {
			return nil
		}
		src = placeholder.ReplaceAllStringFunc(src, func(m string) string {
			name := placeholder.FindStringSubmatch(m)[1]
			return "{{" + placeholderFields[name] + "}}"
		})
		t, err := template.New(lang).Option("missingkey=error").Parse(src)
		if err != nil {
			return fmt.Errorf("template %q: %w", src, err)
		}
		if err := checkTemplate(t); err != nil {
			return fmt.Errorf("template %q: %w", src, err)
		}
		// Execute once with sample data so that unknown fields fail now,
		// not at the first transition.
		var b strings.Builder
		if err := t.Execute(&b, textData{Until: "15:00", Since: "14:00"}); err != nil {
			return fmt.Errorf("template %q: %w", src, err)
		}
		ts[lang] = t
		return nil
	}
	if err := add("", text); err != nil {
		return nil, err
	}
	for lang, src := range byLang {
		lang = normalizeLanguage(lang)
		if !knownLanguage(lang) {
			return nil, fmt.Errorf("status_texts: language %q is not supported; expected one of %s", lang, strings.Join(languages, ", "))
		}
		if err := add(lang, src); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// allowedFuncs are the template functions a status text may call; the
// others (printf, range, template, ...) could build huge strings or loop,
// and a status text does not need them.
var allowedFuncs = map[string]bool{"eq": true, "ne": true, "not": true, "and": true, "or": true}

// checkTemplate rejects everything beyond fields, if/else/with and a few
// comparison functions, so that a template from a dry-run request cannot
// exhaust memory or time.
func checkTemplate(t *template.Template) error {
	if len(t.Templates()) > 1 {
		return fmt.Errorf("define/block is not allowed in a status text")
	}
	var walk func(n parse.Node) error
	walk = func(n parse.Node) error {
		switch n := n.(type) {
		case nil:
			return nil
		case *parse.ListNode:
			if n == nil {
				return nil
			}
			for _, c := range n.Nodes {
				if err := walk(c); err != nil {
					return err
				}
			}
		case *parse.ActionNode:
			return walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return nil
			}
			if len(n.Decl) > 0 {
				return fmt.Errorf("variables are not allowed in a status text")
			}
			for _, c := range n.Cmds {
				if err := walk(c); err != nil {
					return err
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				if err := walk(a); err != nil {
					return err
				}
			}
		case *parse.IdentifierNode:
			if !allowedFuncs[n.Ident] {
				return fmt.Errorf("function %q is not allowed in a status text (allowed: fields, if, with, eq, ne, not, and, or)", n.Ident)
			}
		case *parse.IfNode:
			return walkBranch(walk, &n.BranchNode)
		case *parse.WithNode:
			return walkBranch(walk, &n.BranchNode)
		case *parse.RangeNode:
			return fmt.Errorf("range is not allowed in a status text")
		case *parse.TemplateNode:
			return fmt.Errorf("template calls are not allowed in a status text")
		case *parse.TextNode, *parse.FieldNode, *parse.DotNode, *parse.StringNode, *parse.BoolNode, *parse.NumberNode, *parse.NilNode, *parse.CommentNode:
		case *parse.ChainNode:
			return walk(n.Node)
		default:
			return fmt.Errorf("%s is not allowed in a status text", n)
		}
		return nil
	}
	return walk(t.Tree.Root)
}

func walkBranch(walk func(parse.Node) error, b *parse.BranchNode) error {
	for _, n := range []parse.Node{b.Pipe, b.List, b.ElseList} {
		if l, ok := n.(*parse.ListNode); ok && l == nil {
			continue
		}
		if err := walk(n); err != nil {
			return err
		}
	}
	return nil
}

func (ts textSet) empty() bool { return len(ts) == 0 }

// usesPrivateFields reports whether any template mentions subject,
// location or organizer.
func (ts textSet) usesPrivateFields() bool {
	for _, t := range ts {
		if t.Tree == nil || t.Tree.Root == nil {
			continue
		}
		s := t.Tree.Root.String()
		if strings.Contains(s, ".Subject") || strings.Contains(s, ".Location") || strings.Contains(s, ".Organizer") {
			return true
		}
	}
	return false
}

// pick returns the template for lang: the language's own, else the
// neutral StatusText, else English.
func (ts textSet) pick(lang string) *template.Template {
	if t := ts[lang]; t != nil {
		return t
	}
	if t := ts[""]; t != nil {
		return t
	}
	return ts["en"]
}

func (ts textSet) render(lang string, d textData) string {
	t := ts.pick(lang)
	if t == nil {
		return ""
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		// Templates were executed once at compile time; a failure here
		// leaves the text empty rather than showing a broken one.
		return ""
	}
	// Collapse the runs of spaces that empty (masked) fields leave.
	return strings.Join(strings.Fields(b.String()), " ")
}

var (
	weekdaysEN = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	weekdaysDE = [7]string{"So.", "Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa."}
	monthsEN   = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

// FormatInstant renders t for a status text in zone loc and language lang,
// relative to ref (the start of the block the text describes):
//   - same local day as ref: "15:00";
//   - a local midnight ending a block of 20 hours or more (all-day items):
//     the last day, inclusive: "Fri 28 Nov" / "Fr. 28.11.";
//   - otherwise: "Fri 28 Nov 15:00" / "Fr. 28.11. 15:00".
func FormatInstant(t, ref time.Time, loc *time.Location, lang string) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	lr := ref.In(loc)
	clock := lt.Format("15:04")
	if lt.Hour() == 0 && lt.Minute() == 0 && t.Sub(ref) >= 20*time.Hour {
		return formatDay(lt.AddDate(0, 0, -1), lang)
	}
	if lt.Year() == lr.Year() && lt.YearDay() == lr.YearDay() {
		return clock
	}
	return formatDay(lt, lang) + " " + clock
}

func formatDay(t time.Time, lang string) string {
	if lang == "de" {
		return fmt.Sprintf("%s %d.%d.", weekdaysDE[t.Weekday()], t.Day(), int(t.Month()))
	}
	return fmt.Sprintf("%s %d %s", weekdaysEN[t.Weekday()], t.Day(), monthsEN[t.Month()-1])
}
