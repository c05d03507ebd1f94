package api

import "testing"

func TestHostedOnFromGroup(t *testing.T) {
	for group, want := range map[string]string{
		"exchange_online:graph|https://graph.microsoft.com/v1.0/users/a@x": "exchange_online",
		"exchange:Default-First-Site-Name|https://mail/EWS/Exchange.asmx":  "exchange",
		"Default-First-Site-Name|https://mail/EWS/Exchange.asmx":           "", // not hybrid
		"": "",
	} {
		if got := HostedOn(group); got != want {
			t.Errorf("HostedOn(%q) = %q, want %q", group, got, want)
		}
	}
}
