package setupscript

func (s *script) header(p Params) {
	s.line("# calsync: Exchange Server prerequisites")
	s.line("#")
	s.line("# Run in the Exchange Management Shell as an Exchange administrator")
	s.line("# (Organization Management). The script can be run again: it updates the")
	s.line("# scope and keeps an existing role assignment.")
	s.line("#")
	s.line("# For Exchange Server (on-premises). Exchange Online no longer offers the")
	s.line("# ApplicationImpersonation role.")
	s.line("")
	s.line("$ErrorActionPreference = 'Stop'")
	s.line("")
	s.line("$ServiceAccount = %s", PSQuote(p.Account))
	s.line("$ScopeName      = %s", PSQuote(p.ScopeName))
	s.line("$AssignmentName = %s", PSQuote(p.AssignmentName))
	if p.WithThrottlingPolicy {
		s.line("$PolicyName     = %s", PSQuote(p.PolicyName))
	}
	if p.GroupName != "" {
		s.line("$GroupName      = %s", PSQuote(p.GroupName))
		return
	}
	s.line("$Users = @(")
	for _, u := range p.Users {
		s.line("    %s", PSQuote(u))
	}
	s.line(")")
}

func (s *script) account() {
	s.section("1. The service account")
	s.line("# calsync needs one ordinary domain account. It must not be a member of")
	s.line("# Domain Admins, Enterprise Admins, Organization Management or Exchange")
	s.line("# Servers, needs no FullAccess on any mailbox and no interactive logon.")
	s.line("# A mailbox of its own is not required.")
	s.line("$Account = Get-User -Identity $ServiceAccount")
	s.line("Write-Host (\"Service account: {0} ({1})\" -f $Account.Name, $Account.UserPrincipalName)")
}

func (s *script) scope(p Params) {
	s.section("2. A management scope limited to the users calsync syncs")
	if p.GroupName != "" {
		s.line("# The scope covers the direct members of the group. MemberOfGroup does not")
		s.line("# expand nested groups: if calsync reads a nested group from Active")
		s.line("# Directory, add the nested members to this group or use a flat group.")
		s.line("$Group = Get-Group -Identity $GroupName")
		s.line("$Filter = \"MemberOfGroup -eq '{0}'\" -f ($Group.DistinguishedName -replace \"'\", \"''\")")
	} else {
		s.line("# The scope covers exactly the listed mailboxes. For more than a few dozen")
		s.line("# users a group is easier to maintain (calsync setup-script --group).")
		s.line("$Filter = ($Users | ForEach-Object { \"PrimarySmtpAddress -eq '{0}'\" -f ($_ -replace \"'\", \"''\") }) -join ' -or '")
	}
	s.line("if (Get-ManagementScope -Identity $ScopeName -ErrorAction SilentlyContinue) {")
	s.line("    Set-ManagementScope -Identity $ScopeName -RecipientRestrictionFilter $Filter")
	s.line("} else {")
	s.line("    New-ManagementScope -Name $ScopeName -RecipientRestrictionFilter $Filter | Out-Null")
	s.line("}")
	s.line("$InScope = @(Get-Recipient -RecipientPreviewFilter $Filter -ResultSize Unlimited)")
	s.line("Write-Host (\"Scope '{0}' covers {1} recipients\" -f $ScopeName, $InScope.Count)")
}

func (s *script) assignment() {
	s.section("3. ApplicationImpersonation for the service account, within the scope")
	s.line("# With impersonation every EWS request runs as the mailbox it reads and is")
	s.line("# charged to that mailbox, so the service account is not the bottleneck.")
	s.line("if (-not (Get-ManagementRoleAssignment -Identity $AssignmentName -ErrorAction SilentlyContinue)) {")
	s.line("    New-ManagementRoleAssignment -Name $AssignmentName -Role ApplicationImpersonation -User $ServiceAccount -CustomRecipientWriteScope $ScopeName | Out-Null")
	s.line("}")
}

// Moderate throttling values: about 1.5 times Exchange's defaults
// (EWSMaxConcurrency 27, EwsMaxBurst 300000, EwsRechargeRate 900000,
// EwsCutoffBalance 3000000), never Unlimited.
const (
	policyMaxConcurrency = 40
	policyMaxBurst       = 450000
	policyRechargeRate   = 1350000
	policyCutoffBalance  = 4500000
	policyMaxSubs        = 5000
)

func (s *script) throttling() {
	s.section("4. Optional: a moderate throttling policy for the service account")
	s.line("# calsync works with the default policy. This policy gives headroom for")
	s.line("# large initial syncs without removing Exchange's protection: every limit")
	s.line("# stays finite, and no Information Store restart is needed.")
	s.line("$Limits = @{")
	s.line("    EwsMaxConcurrency   = %d", policyMaxConcurrency)
	s.line("    EwsMaxBurst         = %d", policyMaxBurst)
	s.line("    EwsRechargeRate     = %d", policyRechargeRate)
	s.line("    EwsCutoffBalance    = %d", policyCutoffBalance)
	s.line("    EwsMaxSubscriptions = %d", policyMaxSubs)
	s.line("}")
	s.line("if (Get-ThrottlingPolicy -Identity $PolicyName -ErrorAction SilentlyContinue) {")
	s.line("    Set-ThrottlingPolicy -Identity $PolicyName @Limits")
	s.line("} else {")
	s.line("    New-ThrottlingPolicy -Name $PolicyName -ThrottlingPolicyScope Regular @Limits | Out-Null")
	s.line("}")
	s.line("Set-ThrottlingPolicyAssociation -Identity $ServiceAccount -ThrottlingPolicy $PolicyName")
}

func (s *script) notNeeded(p Params) {
	s.section("Steps of the vendor guide that calsync does NOT need")
	s.line("# * FullAccess via Receive-As/Send-As on every mailbox database")
	s.line("#   (Add-ADPermission): not needed. The scoped ApplicationImpersonation")
	s.line("#   role above is the only right calsync uses, and it covers only the")
	s.line("#   users to sync. If an earlier product set this up, remove it:")
	s.line("#     Get-MailboxDatabase | Remove-ADPermission -User $ServiceAccount -AccessRights ExtendedRight -ExtendedRights Receive-As, Send-As")
	s.line("# * A throttling policy with Unlimited EWS limits followed by a restart of")
	s.line("#   the Microsoft Exchange Information Store: not needed. calsync stays")
	s.line("#   within the default policy: it groups up to 200 streaming subscriptions")
	s.line("#   per connection, batches reads, bounds its concurrency (budget in")
	s.line("#   calsync.yaml) and waits as long as Exchange asks when it is busy.")
	s.line("# * The registry value \"Maximum Allowed Sessions Per User\" on every mailbox")
	s.line("#   server of the DAG: not needed. It raises MAPI store sessions of one")
	s.line("#   account; calsync opens no MAPI sessions, and EWS with impersonation")
	s.line("#   charges each request to the mailbox it reads.")
	s.line("# * Outlook and a MAPI profile on the calsync server: not needed; calsync")
	s.line("#   speaks only EWS over HTTPS.")
	if !p.WithThrottlingPolicy {
		s.line("# * Any custom throttling policy: optional (calsync setup-script")
		s.line("#   --throttling-policy adds a moderate one).")
	}
}

func (s *script) verify(p Params) {
	s.section("Verification")
	s.line("Get-ManagementScope -Identity $ScopeName | Format-List Name, RecipientFilter")
	s.line("Get-ManagementRoleAssignment -Role ApplicationImpersonation -RoleAssignee $ServiceAccount |")
	s.line("    Format-Table Name, Role, RoleAssigneeName, CustomRecipientWriteScope, Enabled -AutoSize")
	s.line("# Who may impersonate the first user in the scope (the service account must be listed):")
	s.line("if ($InScope.Count -gt 0) {")
	s.line("    Get-ManagementRoleAssignment -Role ApplicationImpersonation -WritableRecipient $InScope[0].PrimarySmtpAddress.ToString() -GetEffectiveUsers |")
	s.line("        Where-Object { $_.EffectiveUserName -ne 'All Group Members' } | Format-Table EffectiveUserName, Name -AutoSize")
	s.line("}")
	if p.WithThrottlingPolicy {
		s.line("Get-ThrottlingPolicyAssociation -Identity $ServiceAccount | Format-List Identity, ThrottlingPolicyId")
		s.line("Get-ThrottlingPolicy -Identity $PolicyName | Format-List Name, Ews*")
	} else {
		s.line("Get-ThrottlingPolicyAssociation -Identity $ServiceAccount | Format-List Identity, ThrottlingPolicyId")
	}
	s.line("# Finally, from the calsync host: calsync check --config calsync.yaml")
	s.line("# tests impersonation of every configured user and says how to fix failures.")
	s.line("Write-Host %s", PSQuote("Done. Next: run 'calsync check' on the calsync host."))
}
