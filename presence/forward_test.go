package presence

import "testing"

func TestCheckForwardTarget(t *testing.T) {
	good := []string{"", "+49 30 1234-0", "+4930123", "(030) 1234/56", "42", "tel:+4930123", "sip:alice@pbx.example.com",
		"SIP:alice@pbx.example.com:5061;transport=tls", "sips:pbx.example.com", "alice@example.com"}
	for _, s := range good {
		if err := CheckForwardTarget(s); err != nil {
			t.Errorf("CheckForwardTarget(%q) = %v, want accepted", s, err)
		}
	}
	bad := []string{"javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "https://evil.example.com", "1",
		"sip:", "sip:alice@", "sip:<script>@x", "sip:a@b\"c", "Alice <alice@example.com>", "alice@example.com\n", "call me",
		"+49 30 1234567890123456789012", string(make([]byte, 300))}
	for _, s := range bad {
		if err := CheckForwardTarget(s); err == nil {
			t.Errorf("CheckForwardTarget(%q) accepted", s)
		}
	}
}
