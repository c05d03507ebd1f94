package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/connectors/sip/kamailio"
	"github.com/calsync/calsync/connectors/sip/sipwatch"
)

// demoSIPWatched is how many users the demo's SIP watcher follows.
const demoSIPWatched = 5

// startDemoSIP starts a local Kamailio (`calsync demo --sip`), points
// connectors.sip at it and subscribes a watcher to the first users, whose
// NOTIFYs are printed: what a softphone of a colleague would see. stop
// ends both.
func startDemoSIP(ctx context.Context, out io.Writer, cfg *config.Config, domain string) (stop func(), err error) {
	if _, err := kamailio.Binary(); err != nil {
		return nil, fmt.Errorf("--sip needs Kamailio (%w); install with: %s", err, kamailio.Install)
	}
	srv, err := kamailio.Start(ctx, kamailio.Options{Domain: domain, SharedMemoryMB: 256})
	if err != nil {
		return nil, fmt.Errorf("starting Kamailio: %w", err)
	}
	w, err := sipwatch.New(srv.Addr, srv.Domain)
	if err != nil {
		_ = srv.Stop()
		return nil, err
	}
	stop = func() {
		_ = w.Close()
		_ = srv.Stop()
	}
	cfg.Connectors.SIP = &config.SIPConnector{Server: "sip:" + srv.Addr, Domain: srv.Domain, Username: srv.Publisher,
		Password: config.NewSecret(srv.Password, "generated"), Presentity: config.DefaultSIPPresentity,
		Expires: config.DefaultSIPExpires, Concurrency: config.DefaultSIPConcurrency}
	// Before the watcher subscribes: its first NOTIFYs follow the header.
	fmt.Fprintf(out, "Kamailio presence server: sip:%s (publisher %s); a watcher follows the first %d users:\n", srv.Addr, srv.Publisher, min(demoSIPWatched, len(cfg.Users.Static)))
	var mu sync.Mutex
	w.OnNotify(func(n sipwatch.Notify) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "SIP watcher %s %s\n", n.At.Format("15:04:05"), describeNotify(n))
	})
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for i := 1; i <= min(demoSIPWatched, len(cfg.Users.Static)); i++ {
		local, _, _ := strings.Cut(cfg.Users.Static[i-1], "@")
		if err := w.Subscribe(sctx, "sip:"+local+"@"+srv.Domain, 3600); err != nil {
			stop()
			return nil, err
		}
	}
	return stop, nil
}

// describeNotify is one line of what a NOTIFY shows.
func describeNotify(n sipwatch.Notify) string {
	if n.Doc == nil || n.Doc.Persons == 0 {
		return n.Presentity + ": no calendar presence"
	}
	s := n.Presentity + ": " + n.Doc.Basic
	if len(n.Doc.Activities) > 0 {
		s += " [" + strings.Join(n.Doc.Activities, ", ") + "]"
	}
	if n.Doc.Note != "" {
		s += fmt.Sprintf(" %q", n.Doc.Note)
	}
	return s
}
