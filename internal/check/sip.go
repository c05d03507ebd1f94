package check

import (
	"context"
	"fmt"
	"strings"

	"github.com/calsync/calsync/connectors/sip"
)

// IDSIP is the SIP presence check, run only with connectors.sip.
const IDSIP = "sip"

// checkSIP publishes a test presence at the SIP server and removes it.
func (r *runner) checkSIP(ctx context.Context) Result {
	cfg := r.opts.SIP
	opts, err := sip.FromConfig(cfg)
	if err != nil {
		return Result{Status: StatusFail, Summary: err.Error(), Fix: []string{"fix connectors.sip.tls_ca_file"}}
	}
	res, err := sip.Check(ctx, opts)
	if err == nil {
		return Result{Status: StatusOK,
			Summary: fmt.Sprintf("published a test presence for %s at %s (granted %d s) and removed it", res.Presentity, cfg.Server, res.Granted),
			Facts:   map[string]string{"presentity": res.Presentity, "granted_seconds": fmt.Sprint(res.Granted), "took_ms": fmt.Sprint(res.Took.Milliseconds())}}
	}
	out := Result{Status: StatusFail, Summary: "SIP presence publishing failed: " + err.Error()}
	msg := err.Error()
	switch {
	case sip.IsCredentials(err):
		out.Fix = []string{"check connectors.sip.username and the password (from " + cfg.Password.Source() + "): the server's subscriber entry for " + cfg.Username + " in realm " + cfg.Domain}
	case strings.Contains(msg, " 403 "):
		out.Fix = []string{"let the publisher account publish for other users on the SIP server (Kamailio: auth_check flag 0 and a policy allowing $au == \"" + cfg.Username + "\", docs/operations.md §7)"}
	case strings.Contains(msg, " 415 ") || strings.Contains(msg, " 489 "):
		out.Fix = []string{"enable presence with PIDF on the SIP server (Kamailio: load presence and presence_xml)"}
	default:
		out.Fix = []string{"check connectors.sip.server (" + cfg.Server + "): host, port and transport, and that the server answers SIP from this machine"}
	}
	return out
}
