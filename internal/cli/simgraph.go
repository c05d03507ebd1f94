// The Graph face of `calsync sim` (graph/graphserver/hybrid): the app the
// token endpoint accepts and the mailboxes hosted in the cloud.

package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/calsync/calsync/graph/graphserver"
)

// graphFlags are the sim command's Graph flags.
type graphFlags struct {
	tenant         string
	clientID       string
	clientSecret   string
	cloudMailboxes int
}

// Defaults of the simulated app registration; a real tenant's values come
// from Entra ID.
const (
	simTenant       = "contoso.onmicrosoft.com"
	simClientID     = "7f3c2a61-5e0b-4d8c-9a47-ca15c0000001"
	simClientSecret = "sim-client-secret"
)

func (g *graphFlags) register(fs *flagSet) {
	fs.StringVar(&g.tenant, "tenant", simTenant, "Entra ID `tenant` (id or domain) the Graph token endpoint accepts")
	fs.StringVar(&g.clientID, "client-id", simClientID, "application (client) `id` the token endpoint accepts")
	fs.StringVar(&g.clientSecret, "client-secret", simClientSecret, "client `secret` of that application")
	fs.IntVar(&g.cloudMailboxes, "cloud-mailboxes", 0, "host the last `N` mailboxes in Exchange Online: Graph serves them, EWS answers them as a RemoteUserMailbox (ErrorNonExistentMailbox)")
}

func (g *graphFlags) validate(mailboxes int) error {
	switch {
	case strings.TrimSpace(g.tenant) == "" || strings.ContainsAny(g.tenant, "/?# "):
		return fmt.Errorf("--tenant %q: want a tenant id or domain such as %s", g.tenant, simTenant)
	case strings.TrimSpace(g.clientID) == "":
		return fmt.Errorf("--client-id must not be empty")
	case g.clientSecret == "":
		return fmt.Errorf("--client-secret must not be empty")
	case g.cloudMailboxes < 0 || g.cloudMailboxes > mailboxes:
		return fmt.Errorf("--cloud-mailboxes %d out of range 0..%d (--mailboxes)", g.cloudMailboxes, mailboxes)
	}
	return nil
}

func (g *graphFlags) options(logger *slog.Logger) graphserver.Options {
	return graphserver.Options{Logger: logger, Tenant: g.tenant, ClientID: g.clientID, ClientSecret: g.clientSecret}
}

// write prints how to reach the Graph face, after the EWS lines.
func (g *graphFlags) write(w io.Writer, base string, cloud []string) {
	fmt.Fprintf(w, "Graph endpoint: %s/v1.0\n", base)
	fmt.Fprintf(w, "Token endpoint: %s/%s/oauth2/v2.0/token\n", base, g.tenant)
	fmt.Fprintf(w, "Graph app: tenant %s, client id %s, client secret %s\n", g.tenant, g.clientID, g.clientSecret)
	switch len(cloud) {
	case 0:
		fmt.Fprintln(w, "Cloud mailboxes: none (POST /sim/v1/mailboxes/{smtp}/move {\"to\":\"cloud\"} moves one)")
	default:
		fmt.Fprintf(w, "Cloud mailboxes: %d (%s … %s)\n", len(cloud), cloud[0], cloud[len(cloud)-1])
	}
}
