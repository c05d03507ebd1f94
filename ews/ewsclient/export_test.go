package ewsclient

// SameOrganizationForTest exposes sameOrganization to the external tests.
var SameOrganizationForTest = sameOrganization
