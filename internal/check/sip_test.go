package check_test

import (
	"strings"
	"testing"
	"time"

	"github.com/calsync/calsync/config"
	"github.com/calsync/calsync/connectors/sip/kamailio"
	"github.com/calsync/calsync/connectors/sip/kamailiotest"
	"github.com/calsync/calsync/internal/check"
	"github.com/calsync/calsync/internal/check/checktest"
)

// TestSIPCheck: with connectors.sip the check publishes a test presence at
// a real Kamailio and removes it; a wrong password fails with the fix.
func TestSIPCheck(t *testing.T) {
	srv := kamailiotest.New(t, kamailio.Options{})
	env := checktest.New(t, 1, nil)
	o := env.Options("secret")
	sipCfg := func(password string) *config.SIPConnector {
		return &config.SIPConnector{Server: "sip:" + srv.Addr, Domain: srv.Domain, Username: srv.Publisher,
			Password: config.NewSecret(password, "test"), Presentity: config.DefaultSIPPresentity, Expires: time.Hour, Concurrency: 1}
	}
	o.SIP = sipCfg(srv.Password)
	rep := run(t, o)
	res := result(t, rep, check.IDSIP)
	if res.Status != check.StatusOK || res.Facts["presentity"] != "sip:calsync-check@"+srv.Domain || !strings.Contains(res.Summary, "removed it") {
		t.Fatalf("SIP check: %s %q %v", res.Status, res.Summary, res.Facts)
	}
	o.SIP = sipCfg("wrong")
	res = result(t, run(t, o), check.IDSIP)
	if res.Status != check.StatusFail || len(res.Fix) == 0 || !strings.Contains(res.Fix[0], "connectors.sip.username") || strings.Contains(res.Summary, "wrong") {
		t.Fatalf("wrong password: %s %q %v", res.Status, res.Summary, res.Fix)
	}
}
