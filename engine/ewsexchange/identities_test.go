package ewsexchange

import (
	"testing"

	"github.com/calsync/calsync/ews"
)

func TestIdentitiesImpersonateByConfiguredForm(t *testing.T) {
	sids := NewIdentities(ews.SIDSecurityID)
	if missing := sids.Set(map[string]UserIDs{"Alice@example.com": {UPN: "alice@corp.local", SID: "S-1-5-21-1-2-3-1001"}, "bob@example.com": {UPN: "bob@corp.local", SID: " "}}); missing != 1 {
		t.Errorf("Set reported %d users without a SID, want 1 (bob)", missing)
	}
	got := sids.For("alice@EXAMPLE.com")
	want := ews.ConnectingSID{Kind: ews.SIDSecurityID, Value: "S-1-5-21-1-2-3-1001", Anchor: "alice@EXAMPLE.com"}
	if got != want {
		t.Errorf("For(alice) = %+v, want %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("SID identity does not validate: %v", err)
	}
	if got := sids.For("bob@example.com"); got != ews.ImpersonateSMTP("bob@example.com") {
		t.Errorf("bob without a SID: For = %+v, want SMTP impersonation", got)
	}
	sids.Set(map[string]UserIDs{})
	if got := sids.For("alice@example.com"); got.Kind != ews.SIDPrimarySmtpAddress {
		t.Errorf("after Set replaced the table, alice is impersonated as %+v, want by SMTP", got)
	}

	var none *Identities
	if got := none.For("carol@example.com"); got != ews.ImpersonateSMTP("carol@example.com") {
		t.Errorf("nil table: For = %+v, want SMTP impersonation", got)
	}
	upns := NewIdentities(ews.SIDPrincipalName)
	upns.Set(map[string]UserIDs{"dave@example.com": {UPN: "dave@corp.example.local", SID: "S-1-5-21-1-2-3-1002"}})
	if got := upns.For("dave@example.com"); got.Kind != ews.SIDPrincipalName || got.Value != "dave@corp.example.local" || got.AnchorMailbox() != "dave@example.com" {
		t.Errorf("UPN identity = %+v (anchor %q)", got, got.AnchorMailbox())
	}
}
