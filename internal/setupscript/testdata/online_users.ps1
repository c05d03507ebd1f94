# calsync: Exchange Online prerequisites (Microsoft Graph, RBAC for Applications)
#
# Run in Exchange Online PowerShell (Connect-ExchangeOnline) as an admin with
# Organization Management in Exchange Online and Exchange Administrator in
# Entra ID. The script can be run again: it keeps what exists and updates
# the scope.

$ErrorActionPreference = 'Stop'

$AppId          = '11111111-2222-3333-4444-555555555555'
$ObjectId       = '66666666-7777-8888-9999-aaaaaaaaaaaa'
$DisplayName    = 'calsync'
$ScopeName      = 'Sync ''scope'''
$Roles          = @('Application Calendars.Read', 'Application MailboxSettings.Read')
$Users = @(
    'alice@example.com'
    'o''brien@example.com'
)

# --------------------------------------------------------------------------
# 0. The app registration in Entra ID (admin center, done once)
# --------------------------------------------------------------------------
# a) App registrations > New registration: name 'calsync', single tenant,
#    no redirect URI. Its Application (client) ID is $AppId above and
#    exchange_online.client_id; the Directory (tenant) ID is
#    exchange_online.tenant_id.
# b) Certificates & secrets: upload calsync's certificate (certificate_file +
#    key_file in the config; preferred), or create a client secret
#    (client_secret_env). Note its expiry date.
# c) Enterprise applications > the app > Object ID is $ObjectId above (the
#    service principal, not the app registration's object id).
# d) Do NOT add the Microsoft Graph application permissions Calendars.Read or
#    MailboxSettings.Read with admin consent in Entra: such a grant reaches
#    every mailbox of the tenant and adds to the scoped roles below, defeating
#    the scope. Remove an existing one (API permissions > Remove permission).

# --------------------------------------------------------------------------
# 1. The app's service principal in Exchange Online
# --------------------------------------------------------------------------
if (-not (Get-ServicePrincipal -Identity $AppId -ErrorAction SilentlyContinue)) {
    New-ServicePrincipal -AppId $AppId -ObjectId $ObjectId -DisplayName $DisplayName | Out-Null
}
Get-ServicePrincipal -Identity $AppId | Format-List DisplayName, AppId, ObjectId

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
# 3. The application roles, within the scope only
# --------------------------------------------------------------------------
# calsync reads calendars (calendarView, delta) and mailbox settings
# (automatic replies, time zone); it writes nothing.
foreach ($Role in $Roles) {
    $Existing = Get-ManagementRoleAssignment -RoleAssignee $AppId -Role $Role -ErrorAction SilentlyContinue
    if ($Existing) {
        $Existing | Set-ManagementRoleAssignment -CustomResourceScope $ScopeName
    } else {
        New-ManagementRoleAssignment -App $AppId -Role $Role -CustomResourceScope $ScopeName | Out-Null
    }
}

# --------------------------------------------------------------------------
# 4. Verification
# --------------------------------------------------------------------------
Get-ManagementRoleAssignment -RoleAssignee $AppId | Format-Table Name, Role, CustomResourceScope
# InScope must be True for calsync's users (and False for anyone else).
# Test-ServicePrincipalAuthorization bypasses the permission cache: Graph
# itself follows a change after 30 minutes to 2 hours; until then calsync
# reports GraphAccessDenied for the users concerned.
$First = $Users[0]
Test-ServicePrincipalAuthorization -Identity $AppId -Resource $First | Format-Table RoleName, GrantedPermissions, AllowedResourceScope, ScopeType, InScope
Write-Host 'Then run: calsync check --config <file> (it tests the token and every user over Graph).'
