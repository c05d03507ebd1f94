package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one finding in a configuration file. Line and Column are
// 1-based; 0 means unknown.
type Problem struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	// Path is the dotted key path ("exchange.notifications.mode"), empty
	// for problems of the whole file.
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	// Warning marks a problem that does not stop calsync.
	Warning bool `json:"warning,omitempty"`
}

// String formats the problem as file:line:column: [warning: ]path: message.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	b.WriteString(": ")
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error is returned when a configuration has at least one error. It lists
// every problem, errors and warnings, in file order.
type Error struct {
	Problems []Problem
	// CorrectedVendorXML is a corrected CalendarSyncExchange.config.xml
	// when the vendor file was malformed and could be repaired.
	CorrectedVendorXML []byte
}

// Error prints one problem per line, then the corrected vendor file if any.
func (e *Error) Error() string {
	var b strings.Builder
	n := 0
	for _, p := range e.Problems {
		if !p.Warning {
			n++
		}
	}
	fmt.Fprintf(&b, "config: %d problem", n)
	if n != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("\n")
		b.WriteString(p.String())
	}
	if len(e.CorrectedVendorXML) > 0 {
		b.WriteString("\nthe corrected file would be:\n")
		b.Write(e.CorrectedVendorXML)
		if e.CorrectedVendorXML[len(e.CorrectedVendorXML)-1] != '\n' {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// Report formats problems for people, one per line, followed by a summary
// ("2 errors, 1 warning" or "ok").
func Report(problems []Problem) string {
	var b strings.Builder
	errs, warns := 0, 0
	for _, p := range problems {
		b.WriteString(p.String())
		b.WriteString("\n")
		if p.Warning {
			warns++
		} else {
			errs++
		}
	}
	switch {
	case errs == 0 && warns == 0:
		b.WriteString("ok: no problems found\n")
	default:
		fmt.Fprintf(&b, "%s, %s\n", plural(errs, "error"), plural(warns, "warning"))
	}
	return b.String()
}

// HasErrors reports whether any problem is not a warning.
func HasErrors(problems []Problem) bool {
	for _, p := range problems {
		if !p.Warning {
			return true
		}
	}
	return false
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// sortProblems orders problems by file, line and column, keeping the
// discovery order of equal positions.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// suggest returns the candidate closest to word (case-insensitive edit
// distance at most 2, or a third of its length), or "".
func suggest(word string, candidates []string) string {
	w := strings.ToLower(word)
	best, bestDist := "", 1<<30
	limit := max(2, len(w)/3)
	for _, c := range candidates {
		d := editDistance(w, strings.ToLower(c))
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist > limit {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (in runes).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// quoteList renders values as "a", "b" or "c".
func quoteList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	switch len(q) {
	case 0:
		return ""
	case 1:
		return q[0]
	case 2:
		return q[0] + " or " + q[1]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
