package cli

import (
	"fmt"
	"io"
	"strings"
)

// simAccess is what a client needs to reach a running simulator; `sim`
// and `demo` print it so that exchangelib, curl or a second calsync can be
// pointed at the simulator without reading the source.
type simAccess struct {
	base     string   // scheme://host:port
	account  string   // the service account, an SMTP address
	password string   // the service account's; every user has the same
	auth     []string // accepted methods (basic, ntlm); empty: no authentication
	domain   string   // of the mailboxes
	users    int      // user1@DOMAIN … userN@DOMAIN
}

// write prints the endpoints and the credentials, one per line; the first
// line is "<label>: <EWS URL>".
func (a simAccess) write(w io.Writer, label string) {
	fmt.Fprintf(w, "%s: %s/EWS/Exchange.asmx\n", label, a.base)
	fmt.Fprintf(w, "Autodiscover: %s/autodiscover/autodiscover.svc\n", a.base)
	if len(a.auth) == 0 {
		fmt.Fprintln(w, "Credentials: none needed (no authentication)")
	} else {
		local, domain, _ := strings.Cut(a.account, "@")
		netbios := strings.ToUpper(strings.SplitN(domain, ".", 2)[0])
		fmt.Fprintf(w, "Credentials (%s): %s, password %s", strings.Join(a.auth, ", "), a.account, a.password)
		if netbios != "" {
			fmt.Fprintf(w, " (also as %s\\%s)", netbios, local)
		}
		fmt.Fprintln(w)
	}
	if a.users > 0 {
		fmt.Fprintf(w, "Mailboxes: user1@%s … user%d@%s", a.domain, a.users, a.domain)
		if len(a.auth) > 0 {
			fmt.Fprint(w, ", each with the same password")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Control API: %s/sim/v1/\n", a.base)
}
