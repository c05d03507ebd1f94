package setupscript

func (s *script) onlineHeader(p OnlineParams) {
	s.line("# calsync: Exchange Online prerequisites (Microsoft Graph, RBAC for Applications)")
	s.line("#")
	s.line("# Run in Exchange Online PowerShell (Connect-ExchangeOnline) as an admin with")
	s.line("# Organization Management in Exchange Online and Exchange Administrator in")
	s.line("# Entra ID. The script can be run again: it keeps what exists and updates")
	s.line("# the scope.")
	s.line("")
	s.line("$ErrorActionPreference = 'Stop'")
	s.line("")
	s.line("$AppId          = %s", PSQuote(p.AppID))
	s.line("$ObjectId       = %s", PSQuote(p.ObjectID))
	s.line("$DisplayName    = %s", PSQuote(p.DisplayName))
	s.line("$ScopeName      = %s", PSQuote(p.ScopeName))
	s.line("$Roles          = @(%s, %s)", PSQuote(OnlineRoles[0]), PSQuote(OnlineRoles[1]))
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

func (s *script) onlineEntra() {
	s.section("0. The app registration in Entra ID (admin center, done once)")
	s.line("# a) App registrations > New registration: name 'calsync', single tenant,")
	s.line("#    no redirect URI. Its Application (client) ID is $AppId above and")
	s.line("#    exchange_online.client_id; the Directory (tenant) ID is")
	s.line("#    exchange_online.tenant_id.")
	s.line("# b) Certificates & secrets: upload calsync's certificate (certificate_file +")
	s.line("#    key_file in the config; preferred), or create a client secret")
	s.line("#    (client_secret_env). Note its expiry date.")
	s.line("# c) Enterprise applications > the app > Object ID is $ObjectId above (the")
	s.line("#    service principal, not the app registration's object id).")
	s.line("# d) Do NOT add the Microsoft Graph application permissions Calendars.Read or")
	s.line("#    MailboxSettings.Read with admin consent in Entra: such a grant reaches")
	s.line("#    every mailbox of the tenant and adds to the scoped roles below, defeating")
	s.line("#    the scope. Remove an existing one (API permissions > Remove permission).")
}

func (s *script) onlineServicePrincipal() {
	s.section("1. The app's service principal in Exchange Online")
	s.line("if (-not (Get-ServicePrincipal -Identity $AppId -ErrorAction SilentlyContinue)) {")
	s.line("    New-ServicePrincipal -AppId $AppId -ObjectId $ObjectId -DisplayName $DisplayName | Out-Null")
	s.line("}")
	s.line("Get-ServicePrincipal -Identity $AppId | Format-List DisplayName, AppId, ObjectId")
}

func (s *script) onlineRoles() {
	s.section("3. The application roles, within the scope only")
	s.line("# calsync reads calendars (calendarView, delta) and mailbox settings")
	s.line("# (automatic replies, time zone); it writes nothing.")
	s.line("foreach ($Role in $Roles) {")
	s.line("    $Existing = Get-ManagementRoleAssignment -RoleAssignee $AppId -Role $Role -ErrorAction SilentlyContinue")
	s.line("    if ($Existing) {")
	s.line("        $Existing | Set-ManagementRoleAssignment -CustomResourceScope $ScopeName")
	s.line("    } else {")
	s.line("        New-ManagementRoleAssignment -App $AppId -Role $Role -CustomResourceScope $ScopeName | Out-Null")
	s.line("    }")
	s.line("}")
}

func (s *script) onlineVerify(p OnlineParams) {
	s.section("4. Verification")
	s.line("Get-ManagementRoleAssignment -RoleAssignee $AppId | Format-Table Name, Role, CustomResourceScope")
	s.line("# InScope must be True for calsync's users (and False for anyone else).")
	s.line("# Test-ServicePrincipalAuthorization bypasses the permission cache: Graph")
	s.line("# itself follows a change after 30 minutes to 2 hours; until then calsync")
	s.line("# reports GraphAccessDenied for the users concerned.")
	if p.GroupName != "" {
		s.line("$First = (Get-DistributionGroupMember -Identity $GroupName -ResultSize 1).PrimarySmtpAddress")
	} else {
		s.line("$First = $Users[0]")
	}
	s.line("Test-ServicePrincipalAuthorization -Identity $AppId -Resource $First | Format-Table RoleName, GrantedPermissions, AllowedResourceScope, ScopeType, InScope")
	s.line("Write-Host 'Then run: calsync check --config <file> (it tests the token and every user over Graph).'")
}
