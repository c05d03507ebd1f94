# calsync: Exchange Server prerequisites
#
# Run in the Exchange Management Shell as an Exchange administrator
# (Organization Management). The script can be run again: it updates the
# scope and keeps an existing role assignment.
#
# For Exchange Server (on-premises). Exchange Online no longer offers the
# ApplicationImpersonation role.

$ErrorActionPreference = 'Stop'

$ServiceAccount = 'svc-calsync@example.com'
$ScopeName      = 'Sync scope'
$AssignmentName = 'calsync impersonation'
$Users = @(
    'alice@example.com'
    'bob@example.com'
)

# --------------------------------------------------------------------------
# 1. The service account
# --------------------------------------------------------------------------
# calsync needs one ordinary domain account. It must not be a member of
# Domain Admins, Enterprise Admins, Organization Management or Exchange
# Servers, needs no FullAccess on any mailbox and no interactive logon.
# A mailbox of its own is not required.
$Account = Get-User -Identity $ServiceAccount
Write-Host ("Service account: {0} ({1})" -f $Account.Name, $Account.UserPrincipalName)

# --------------------------------------------------------------------------
# 2. A management scope limited to the users calsync syncs
# --------------------------------------------------------------------------
# The scope covers exactly the listed mailboxes. For more than a few dozen
# users a group is easier to maintain (calsync setup-script --group).
$Filter = ($Users | ForEach-Object { "PrimarySmtpAddress -eq '{0}'" -f ($_ -replace "'", "''") }) -join ' -or '
if (Get-ManagementScope -Identity $ScopeName -ErrorAction SilentlyContinue) {
    Set-ManagementScope -Identity $ScopeName -RecipientRestrictionFilter $Filter
} else {
    New-ManagementScope -Name $ScopeName -RecipientRestrictionFilter $Filter | Out-Null
}
$InScope = @(Get-Recipient -RecipientPreviewFilter $Filter -ResultSize Unlimited)
Write-Host ("Scope '{0}' covers {1} recipients" -f $ScopeName, $InScope.Count)

# --------------------------------------------------------------------------
# 3. ApplicationImpersonation for the service account, within the scope
# --------------------------------------------------------------------------
# With impersonation every EWS request runs as the mailbox it reads and is
# charged to that mailbox, so the service account is not the bottleneck.
if (-not (Get-ManagementRoleAssignment -Identity $AssignmentName -ErrorAction SilentlyContinue)) {
    New-ManagementRoleAssignment -Name $AssignmentName -Role ApplicationImpersonation -User $ServiceAccount -CustomRecipientWriteScope $ScopeName | Out-Null
}

# --------------------------------------------------------------------------
# Steps of the vendor guide that calsync does NOT need
# --------------------------------------------------------------------------
# * FullAccess via Receive-As/Send-As on every mailbox database
#   (Add-ADPermission): not needed. The scoped ApplicationImpersonation
#   role above is the only right calsync uses, and it covers only the
#   users to sync. If an earlier product set this up, remove it:
#     Get-MailboxDatabase | Remove-ADPermission -User $ServiceAccount -AccessRights ExtendedRight -ExtendedRights Receive-As, Send-As
# * A throttling policy with Unlimited EWS limits followed by a restart of
#   the Microsoft Exchange Information Store: not needed. calsync stays
#   within the default policy: it groups up to 200 streaming subscriptions
#   per connection, batches reads, bounds its concurrency (budget in
#   calsync.yaml) and waits as long as Exchange asks when it is busy.
# * The registry value "Maximum Allowed Sessions Per User" on every mailbox
#   server of the DAG: not needed. It raises MAPI store sessions of one
#   account; calsync opens no MAPI sessions, and EWS with impersonation
#   charges each request to the mailbox it reads.
# * Outlook and a MAPI profile on the calsync server: not needed; calsync
#   speaks only EWS over HTTPS.
# * Any custom throttling policy: optional (calsync setup-script
#   --throttling-policy adds a moderate one).

# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------
Get-ManagementScope -Identity $ScopeName | Format-List Name, RecipientFilter
Get-ManagementRoleAssignment -Role ApplicationImpersonation -RoleAssignee $ServiceAccount |
    Format-Table Name, Role, RoleAssigneeName, CustomRecipientWriteScope, Enabled -AutoSize
# Who may impersonate the first user in the scope (the service account must be listed):
if ($InScope.Count -gt 0) {
    Get-ManagementRoleAssignment -Role ApplicationImpersonation -WritableRecipient $InScope[0].PrimarySmtpAddress.ToString() -GetEffectiveUsers |
        Where-Object { $_.EffectiveUserName -ne 'All Group Members' } | Format-Table EffectiveUserName, Name -AutoSize
}
Get-ThrottlingPolicyAssociation -Identity $ServiceAccount | Format-List Identity, ThrottlingPolicyId
# Finally, from the calsync host: calsync check --config calsync.yaml
# tests impersonation of every configured user and says how to fix failures.
Write-Host 'Done. Next: run ''calsync check'' on the calsync host.'
