package graphexchange

import "testing"

func TestServiceGroup(t *testing.T) {
	for _, c := range []struct{ key, want string }{
		{"graph|https://graph.microsoft.com/v1.0/users/a@example.com", "graph|https://graph.microsoft.com/v1.0"},
		{"exchange_online:graph|http://127.0.0.1:1/v1.0/users/user7@example.com", "exchange_online:graph|http://127.0.0.1:1/v1.0"},
		{"exchange:Site-mbx01.example.com|https://mail.example.com/EWS/Exchange.asmx", "exchange:Site-mbx01.example.com|https://mail.example.com/EWS/Exchange.asmx"},
		{"Site-mbx01|https://mail.example.com/users/EWS/Exchange.asmx", "Site-mbx01|https://mail.example.com/users/EWS/Exchange.asmx"},
		{"graph|https://graph.microsoft.com/v1.0", "graph|https://graph.microsoft.com/v1.0"},
		{"", ""},
	} {
		if got := ServiceGroup(c.key); got != c.want {
			t.Errorf("ServiceGroup(%q) = %q, want %q", c.key, got, c.want)
		}
	}
}
