// `calsync setup-script`: the Exchange Management Shell script for the
// prerequisites (internal/setupscript writes it).

package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/calsync/calsync/internal/setupscript"
)

func runSetupScript(_ context.Context, env Env, args []string) int {
	fs := newFlagSet("setup-script", "setup-script --account DOMAIN\\svc-calsync (--group NAME | --users a@x,b@x) [flags]", env.Stderr)
	var p setupscript.Params
	var users string
	fs.StringVar(&p.Account, "account", "", "the calsync service account (DOMAIN\\user, UPN or alias); required")
	fs.StringVar(&p.GroupName, "group", "", "limit impersonation to the members of this group")
	fs.StringVar(&users, "users", "", "limit impersonation to these comma-separated SMTP addresses (when no --group)")
	fs.StringVar(&p.ScopeName, "scope-name", "", "name of the management scope (default "+setupscript.DefaultScopeName+")")
	fs.StringVar(&p.AssignmentName, "assignment-name", "", "name of the role assignment (default "+setupscript.DefaultAssignmentName+")")
	fs.BoolVar(&p.WithThrottlingPolicy, "throttling-policy", false, "also create a moderate throttling policy for the service account (not needed with Exchange's defaults)")
	fs.StringVar(&p.PolicyName, "policy-name", "", "name of that throttling policy (default "+setupscript.DefaultPolicyName+")")
	if code := fs.parse(args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return fs.fail("unexpected argument %q", fs.Arg(0))
	}
	for _, u := range strings.Split(users, ",") {
		if u = strings.TrimSpace(u); u != "" {
			p.Users = append(p.Users, u)
		}
	}
	// What only the command line can get wrong is said in its words;
	// the library checks the values.
	switch {
	case strings.TrimSpace(p.Account) == "":
		return fs.fail("--account is required (the service account calsync signs in as, DOMAIN\\user or user@domain)")
	case p.GroupName != "" && users != "":
		return fs.fail("--group and --users exclude each other")
	case p.GroupName == "" && len(p.Users) == 0:
		return fs.fail("--group or --users is required; calsync never asks to impersonate the whole organisation")
	}
	err := setupscript.Generate(env.Stdout, p)
	if err == nil {
		return 0
	}
	var msgs []string
	for _, e := range unjoin(err) {
		var pe *setupscript.ParamError
		if errors.As(e, &pe) {
			msgs = append(msgs, setupFlags[pe.Field]+": "+pe.Problem)
		} else {
			msgs = append(msgs, e.Error())
		}
	}
	return fs.fail("%s", strings.Join(msgs, "\n  "))
}

// setupFlags names the flag of each setupscript.Params field.
var setupFlags = map[string]string{"Account": "--account", "ScopeName": "--scope-name", "AssignmentName": "--assignment-name",
	"PolicyName": "--policy-name", "GroupName": "--group", "Users": "--users"}

// unjoin returns the errors joined in err (err itself if it joins none).
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
