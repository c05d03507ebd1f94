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
	var online bool
	var op setupscript.OnlineParams
	fs.BoolVar(&online, "exchange-online", false, "print the Exchange Online script instead (RBAC for Applications for calsync's Entra app; needs --app-id and --object-id)")
	fs.StringVar(&op.AppID, "app-id", "", "Exchange Online: the app registration's application (client) id")
	fs.StringVar(&op.ObjectID, "object-id", "", "Exchange Online: the object id of the app's service principal (Enterprise applications)")
	fs.StringVar(&op.DisplayName, "display-name", "", "Exchange Online: the service principal's name in Exchange (default "+setupscript.DefaultOnlineDisplayName+")")
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
	if online {
		return setupOnline(env, fs, op, p)
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
	return setupFailure(fs, setupscript.Generate(env.Stdout, p))
}

// setupOnline prints the Exchange Online script (--exchange-online).
func setupOnline(env Env, fs *flagSet, op setupscript.OnlineParams, p setupscript.Params) int {
	switch {
	case p.Account != "" || p.WithThrottlingPolicy:
		return fs.fail("--account and --throttling-policy are for Exchange Server; Exchange Online uses the app (--app-id, --object-id)")
	case op.AppID == "" || op.ObjectID == "":
		return fs.fail("--exchange-online needs --app-id (the app registration's client id) and --object-id (its service principal's object id)")
	case p.GroupName != "" && len(p.Users) > 0:
		return fs.fail("--group and --users exclude each other")
	}
	op.GroupName, op.Users = p.GroupName, p.Users
	if p.ScopeName != "" {
		op.ScopeName = p.ScopeName
	}
	return setupFailure(fs, setupscript.GenerateOnline(env.Stdout, op))
}

// setupFailure reports the library's parameter errors by flag.
func setupFailure(fs *flagSet, err error) int {
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
	"PolicyName": "--policy-name", "GroupName": "--group", "Users": "--users",
	"AppID": "--app-id", "ObjectID": "--object-id", "DisplayName": "--display-name"}

// unjoin returns the errors joined in err (err itself if it joins none).
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
