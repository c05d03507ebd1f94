package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// SchemaVersion identifies the JSON report format (docs/check.md). It
// changes only when a field changes meaning or disappears; new fields may
// be added within a version.
const SchemaVersion = "calsync.check/v1"

// Status is the outcome of one check.
type Status string

// Check outcomes. Skip means the check did not run because an earlier one
// failed (or it does not apply); it never changes the exit code.
const (
	StatusOK   Status = "ok"
	StatusWarn Status = "warn"
	StatusFail Status = "fail"
	StatusSkip Status = "skip"
)

// severity orders statuses for "worst of".
func (s Status) severity() int {
	switch s {
	case StatusFail:
		return 3
	case StatusWarn:
		return 2
	case StatusOK:
		return 1
	}
	return 0
}

// worst returns the more severe of a and b.
func worst(a, b Status) Status {
	if b.severity() > a.severity() {
		return b
	}
	return a
}

// Check identifiers, in the order the checks run.
const (
	IDConfig         = "config"
	IDConnectivity   = "connectivity"
	IDTLS            = "tls"
	IDAuthentication = "authentication"
	IDVersion        = "version"
	IDAutodiscover   = "autodiscover"
	IDImpersonation  = "impersonation"
	IDStreaming      = "streaming"
	IDPull           = "pull"
	IDThrottling     = "throttling"
)

// Result is the outcome of one check.
type Result struct {
	// ID is the stable identifier (IDConfig, …).
	ID string `json:"id"`
	// Title is the human-readable name.
	Title  string `json:"title"`
	Status Status `json:"status"`
	// Summary is one line saying what was found.
	Summary string `json:"summary"`
	// Details are further facts, one per line.
	Details []string `json:"details,omitempty"`
	// Facts are machine-readable values (server_version, groups, …).
	Facts map[string]string `json:"facts,omitempty"`
	// Failures group the affected users by cause.
	Failures []Failure `json:"failures,omitempty"`
	// Fix lists what to do (PowerShell commands or config settings) when
	// the check is not ok and no Failure carries its own fix.
	Fix []string `json:"fix,omitempty"`
	// DurationMS is how long the check took.
	DurationMS int64 `json:"duration_ms"`
}

// Failure is one cause of a warning or failure and the users it affects.
type Failure struct {
	Status Status `json:"status"`
	// Code is the EWS response code, HTTP status or calsync cause
	// (ErrorImpersonateUserDenied, HTTP 502, network, …).
	Code string `json:"code"`
	// Message explains the cause.
	Message string `json:"message"`
	// Users are all affected users, sorted; Count is len(Users) (or the
	// number of occurrences for failures without users).
	Users []string `json:"users,omitempty"`
	Count int      `json:"count"`
	// Fix lists the commands or settings that remove this cause.
	Fix []string `json:"fix,omitempty"`
}

// Summary counts results by status.
type Summary struct {
	OK   int `json:"ok"`
	Warn int `json:"warn"`
	Fail int `json:"fail"`
	Skip int `json:"skip"`
}

// Report is the outcome of a check run.
type Report struct {
	Schema string `json:"schema"`
	// Endpoint is the EWS URL checked (without credentials).
	Endpoint string `json:"endpoint"`
	// Account is the service account (never its secret).
	Account string `json:"account,omitempty"`
	// Users is the number of configured users.
	Users int `json:"users"`
	// Status is the worst status of all checks.
	Status  Status   `json:"status"`
	Summary Summary  `json:"summary"`
	Checks  []Result `json:"checks"`
	// StartedAt is when the run began (UTC, RFC 3339).
	StartedAt time.Time `json:"started_at"`
}

// Result returns the result of the check with the given ID.
func (r *Report) Result(id string) (Result, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Result{}, false
}

// add appends a result and updates the summary.
func (r *Report) add(res Result) {
	r.Checks = append(r.Checks, res)
	switch res.Status {
	case StatusOK:
		r.Summary.OK++
	case StatusWarn:
		r.Summary.Warn++
	case StatusFail:
		r.Summary.Fail++
	default:
		r.Summary.Skip++
	}
	r.Status = worst(r.Status, res.Status)
}

// ExitCode returns 0 when nothing failed, 1 when a check failed (or, with
// strict, when one warned).
func (r *Report) ExitCode(strict bool) int {
	switch {
	case r.Summary.Fail > 0:
		return 1
	case strict && r.Summary.Warn > 0:
		return 1
	}
	return 0
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("check: write json: %w", err)
	}
	return nil
}

// maxListedUsers is how many users the text report names per failure.
const maxListedUsers = 10

// marker is the symbol of a status in the text report.
func marker(s Status) string {
	switch s {
	case StatusOK:
		return "✓"
	case StatusWarn:
		return "!"
	case StatusFail:
		return "✗"
	}
	return "-"
}

// WriteText writes the human-readable report.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "calsync check — %s", r.Endpoint)
	if r.Account != "" {
		fmt.Fprintf(&b, " as %s", r.Account)
	}
	fmt.Fprintf(&b, ", %d %s\n\n", r.Users, plural(r.Users, "user", "users"))
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "%s %-15s %s\n", marker(c.Status), c.Title, c.Summary)
		for _, d := range c.Details {
			fmt.Fprintf(&b, "    %s\n", d)
		}
		for _, f := range c.Failures {
			fmt.Fprintf(&b, "    %s %s: %s", marker(f.Status), f.Code, f.Message)
			if len(f.Users) > 0 {
				fmt.Fprintf(&b, " (%d %s)", len(f.Users), plural(len(f.Users), "user", "users"))
			}
			b.WriteByte('\n')
			if len(f.Users) > 0 {
				fmt.Fprintf(&b, "      users: %s\n", listUsers(f.Users))
			}
			writeFix(&b, f.Fix, "      ")
		}
		writeFix(&b, c.Fix, "    ")
	}
	fmt.Fprintf(&b, "\n%d ok, %d %s, %d failed, %d skipped\n", r.Summary.OK, r.Summary.Warn,
		plural(r.Summary.Warn, "warning", "warnings"), r.Summary.Fail, r.Summary.Skip)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("check: write report: %w", err)
	}
	return nil
}

func writeFix(b *strings.Builder, fix []string, indent string) {
	for i, f := range fix {
		label := "fix: "
		if i > 0 {
			label = "     "
		}
		fmt.Fprintf(b, "%s%s%s\n", indent, label, f)
	}
}

// listUsers names the first maxListedUsers users and counts the rest.
func listUsers(users []string) string {
	if len(users) <= maxListedUsers {
		return strings.Join(users, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(users[:maxListedUsers], ", "), len(users)-maxListedUsers)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
