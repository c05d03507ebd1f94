package check

import (
	"fmt"
	"strings"

	"github.com/calsync/calsync/internal/setupscript"
)

// psAccount quotes an account name for PowerShell; an empty name becomes
// a placeholder.
func psAccount(name string) string {
	if name == "" {
		return "<service account>"
	}
	return setupscript.PSQuote(name)
}

// samAccount returns the user part of DOMAIN\user (a UPN is returned as is).
func samAccount(name string) string {
	if i := strings.LastIndex(name, `\`); i >= 0 {
		return name[i+1:]
	}
	return name
}

// adUserPipe selects an AD account by sAMAccountName or UPN, for piping.
func adUserPipe(name string) string {
	if strings.Contains(name, "@") && !strings.Contains(name, `\`) {
		filter := fmt.Sprintf("UserPrincipalName -eq '%s'", strings.ReplaceAll(name, "'", "''"))
		return "Get-ADUser -Filter " + setupscript.PSQuote(filter)
	}
	return "Get-ADUser -Identity " + psAccount(samAccount(name))
}

// adUserCheck is the Get-ADUser command showing why an account cannot log on.
func adUserCheck(name string) string {
	return adUserPipe(name) + " -Properties Enabled, LockedOut, PasswordExpired, AccountExpirationDate | Format-List Enabled, LockedOut, PasswordExpired, AccountExpirationDate"
}

// psUserList quotes users as a PowerShell array, at most maxListedUsers
// of them (the report says how many more).
func psUserList(users []string) string {
	list := users
	if len(list) > maxListedUsers {
		list = list[:maxListedUsers]
	}
	q := make([]string, len(list))
	for i, u := range list {
		q[i] = setupscript.PSQuote(u)
	}
	return strings.Join(q, ",")
}

// scopeFixes returns the commands that bring users into the service
// account's ApplicationImpersonation scope. all is true when every user
// was denied (the role is probably not assigned at all).
func (r *runner) scopeFixes(users []string, all bool) []string {
	acct := psAccount(r.opts.Exchange.Auth.Username)
	scope := setupscript.PSQuote(r.opts.ScopeName)
	var fix []string
	if all {
		fix = append(fix,
			"New-ManagementRoleAssignment -Name 'calsync impersonation' -Role ApplicationImpersonation -User "+acct+" -CustomRecipientWriteScope "+scope,
			"(create the scope first if it does not exist: `calsync setup-script` prints the whole script)")
	}
	group := "<scope group>"
	if r.opts.ScopeGroup != "" {
		group = setupscript.PSQuote(r.opts.ScopeGroup)
	}
	more := ""
	if len(users) > maxListedUsers {
		more = fmt.Sprintf("   # and the %d more users of the JSON report", len(users)-maxListedUsers)
	}
	fix = append(fix,
		fmt.Sprintf("%s | ForEach-Object { Add-DistributionGroupMember -Identity %s -Member $_ }%s", psUserList(users), group, more),
		"or widen the scope's filter: Get-ManagementScope "+scope+" | Format-List RecipientFilter; Set-ManagementScope "+scope+" -RecipientRestrictionFilter <filter>",
		"verify: Get-ManagementRoleAssignment -Role ApplicationImpersonation -RoleAssignee "+acct+" | Format-List Name, CustomRecipientWriteScope, RecipientWriteScope")
	return fix
}

// Moderate throttling values (about 1.5× Exchange's defaults), the same
// `calsync setup-script --throttling-policy` proposes; never Unlimited.
const (
	policyMaxConcurrency = 40
	policyMaxBurst       = 450000
	policyRechargeRate   = 1350000
	policyCutoffBalance  = 4500000
	policyMaxSubs        = 5000
)

// throttlingPolicyFix is the optional moderate policy for the service account.
func (r *runner) throttlingPolicyFix() []string {
	acct := psAccount(r.opts.Exchange.Auth.Username)
	return []string{
		fmt.Sprintf("New-ThrottlingPolicy -Name 'calsync throttling policy' -ThrottlingPolicyScope Regular -EwsMaxConcurrency %d -EwsMaxBurst %d -EwsRechargeRate %d -EwsCutoffBalance %d -EwsMaxSubscriptions %d",
			policyMaxConcurrency, policyMaxBurst, policyRechargeRate, policyCutoffBalance, policyMaxSubs),
		"Set-ThrottlingPolicyAssociation -Identity " + acct + " -ThrottlingPolicy 'calsync throttling policy'",
		"(calsync does not need Unlimited values, and no Information Store restart)",
	}
}
