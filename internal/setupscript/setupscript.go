// Package setupscript prints the Exchange Management Shell script that
// prepares Exchange Server for calsync: it checks the service account,
// creates a management scope limited to the users to sync, assigns the
// ApplicationImpersonation role within that scope, optionally creates a
// moderate throttling policy, explains which steps of the vendor guide
// calsync does not need, and ends with verification commands.
//
// The script is idempotent: running it again updates the scope and
// leaves an existing assignment in place.
package setupscript

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Default names used when Params leaves them empty.
const (
	DefaultScopeName      = "calsync impersonation scope"
	DefaultAssignmentName = "calsync impersonation"
	DefaultPolicyName     = "calsync throttling policy"
)

// ErrInvalidParams is wrapped by every parameter error of Generate.
var ErrInvalidParams = errors.New("setupscript: invalid parameters")

// ParamError is one problem with Params. Field names the Params field at
// fault (Account, ScopeName, AssignmentName, PolicyName, GroupName, Users)
// so that a command line can name its own flag; Problem says what is
// wrong in words that stand alone.
type ParamError struct {
	Field   string
	Problem string
}

func (e *ParamError) Error() string { return ErrInvalidParams.Error() + ": " + e.Problem }

// Unwrap lets errors.Is(err, ErrInvalidParams) hold.
func (e *ParamError) Unwrap() error { return ErrInvalidParams }

// Params describes the script to generate.
type Params struct {
	// Account is the service account calsync authenticates as
	// (DOMAIN\user, UPN or alias). Required.
	Account string
	// ScopeName names the management scope (default DefaultScopeName).
	ScopeName string
	// AssignmentName names the role assignment (default DefaultAssignmentName).
	AssignmentName string
	// GroupName limits impersonation to the direct members of this group
	// (name, alias or distinguished name).
	GroupName string
	// Users limits impersonation to these SMTP addresses when GroupName is
	// empty. One of GroupName or Users is required: impersonation of the
	// whole organisation is never generated.
	Users []string
	// WithThrottlingPolicy adds a moderate throttling policy for the
	// service account.
	WithThrottlingPolicy bool
	// PolicyName names that policy (default DefaultPolicyName).
	PolicyName string
}

// maxListedUsers is the most users put in one recipient filter; above it
// a group is required (long OPATH filters become unmanageable).
const maxListedUsers = 500

func (p *Params) normalize() error {
	if p.ScopeName == "" {
		p.ScopeName = DefaultScopeName
	}
	if p.AssignmentName == "" {
		p.AssignmentName = DefaultAssignmentName
	}
	if p.PolicyName == "" {
		p.PolicyName = DefaultPolicyName
	}
	var errs []error
	fail := func(field, format string, a ...any) {
		errs = append(errs, &ParamError{Field: field, Problem: fmt.Sprintf(format, a...)})
	}
	check := func(field, name, v string) {
		if strings.TrimSpace(v) == "" {
			fail(field, "%s is empty", name)
			return
		}
		for _, r := range v {
			if unicode.IsControl(r) {
				fail(field, "%s %q contains a control character", name, v)
				return
			}
		}
	}
	check("Account", "account", p.Account)
	check("ScopeName", "scope name", p.ScopeName)
	check("AssignmentName", "assignment name", p.AssignmentName)
	check("PolicyName", "throttling policy name", p.PolicyName)
	switch {
	case p.GroupName != "":
		check("GroupName", "group name", p.GroupName)
		if len(p.Users) > 0 {
			fail("Users", "give a group or a list of users, not both")
		}
	case len(p.Users) == 0:
		fail("GroupName", "a group or a list of users is required; calsync never asks to impersonate the whole organisation")
	case len(p.Users) > maxListedUsers:
		fail("Users", "%d users is too many for one recipient filter (at most %d); put them in a group and pass the group", len(p.Users), maxListedUsers)
	default:
		for i, u := range p.Users {
			check("Users", fmt.Sprintf("user %d", i+1), u)
			if !strings.Contains(u, "@") {
				fail("Users", "user %d %q is not an SMTP address", i+1, u)
			}
		}
	}
	return errors.Join(errs...)
}

// PSQuote returns s as a PowerShell single-quoted string literal. Inside
// such a literal PowerShell treats the typographic quotes ‘ ’ ‚ ‛ like the
// apostrophe, so each of them is doubled as well.
func PSQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'', '\u2018', '\u2019', '\u201A', '\u201B':
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// Generate writes the script for p to w.
func Generate(w io.Writer, p Params) error {
	if err := p.normalize(); err != nil {
		return err
	}
	s := &script{}
	s.header(p)
	s.account()
	s.scope(p)
	s.assignment()
	if p.WithThrottlingPolicy {
		s.throttling()
	}
	s.notNeeded(p)
	s.verify(p)
	if _, err := io.WriteString(w, s.b.String()); err != nil {
		return fmt.Errorf("setupscript: write: %w", err)
	}
	return nil
}

type script struct{ b strings.Builder }

func (s *script) line(format string, args ...any) {
	fmt.Fprintf(&s.b, format, args...)
	s.b.WriteByte('\n')
}

func (s *script) section(title string) {
	s.line("")
	s.line("# %s", strings.Repeat("-", 74))
	s.line("# %s", title)
	s.line("# %s", strings.Repeat("-", 74))
}
