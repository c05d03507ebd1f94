// `calsync setup-script`: the Exchange Management Shell script for the
// prerequisites (internal/setupscript writes it).

package cli

import (
	"context"
	"fmt"
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
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	for _, u := range strings.Split(users, ",") {
		if u = strings.TrimSpace(u); u != "" {
			p.Users = append(p.Users, u)
		}
	}
	if err := setupscript.Generate(env.Stdout, p); err != nil {
		fmt.Fprintln(env.Stderr, "calsync setup-script:", err)
		return 2
	}
	return 0
}
