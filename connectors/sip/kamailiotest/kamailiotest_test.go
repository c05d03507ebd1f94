package kamailiotest

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/calsync/calsync/connectors/sip/kamailio"
	"github.com/calsync/calsync/connectors/sip/pidf"
	"github.com/calsync/calsync/connectors/sip/sipwatch"
)

// publish sends one initial PUBLISH for presentity as user, answering the
// digest challenge, and returns the final status.
func publish(t *testing.T, srv *kamailio.Server, user, password, presentity string, doc pidf.Document) int {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname(srv.Domain))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	var uri sip.Uri
	if err := sip.ParseUri(presentity, &uri); err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.PUBLISH, uri)
	req.SetDestination(srv.Addr)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: srv.Domain}, Params: sip.NewParams()}
	from.Params.Add("tag", "t1")
	req.AppendHeader(from)
	req.AppendHeader(sip.NewHeader("Event", "presence"))
	req.AppendHeader(sip.NewHeader("Expires", "60"))
	req.AppendHeader(sip.NewHeader("Content-Type", pidf.ContentType))
	req.SetBody(doc.Marshal())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.Do(ctx, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) {
		res, err = c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: password})
	}
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return res.StatusCode
}

// The harness's server relays what the trusted publisher publishes for
// others to a watcher, refuses other accounts publishing for others and
// comes back from a restart empty.
func TestServerAndWatcher(t *testing.T) {
	srv := New(t, kamailio.Options{Accounts: map[string]string{"bob": "bobpw"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := sipwatch.New(srv.Addr, srv.Domain)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	alice := "sip:alice@" + srv.Domain
	if err := w.Subscribe(ctx, alice, 600); err != nil {
		t.Fatal(err)
	}
	first, err := w.Wait(ctx, alice, func(sipwatch.Notify) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if first.Doc != nil || first.State == "" {
		t.Fatalf("first NOTIFY before any PUBLISH: state %q, body %q", first.State, first.Body)
	}

	doc := pidf.Document{Entity: alice, Open: true, Activities: []string{"busy", "meeting"}, Note: "In a meeting"}
	if code := publish(t, srv, srv.Publisher, srv.Password, alice, doc); code != 200 {
		t.Fatalf("trusted publisher for alice: %d", code)
	}
	n, err := w.Wait(ctx, alice, func(n sipwatch.Notify) bool { return n.Doc != nil })
	if err != nil {
		t.Fatal(err)
	}
	if n.Doc.Note != "In a meeting" || len(n.Doc.Activities) != 2 || n.Doc.Basic != "open" {
		t.Fatalf("watcher got %+v", *n.Doc)
	}
	if code := publish(t, srv, "bob", "bobpw", alice, doc); code != 403 {
		t.Fatalf("bob publishing for alice: %d, want 403", code)
	}
	if code := publish(t, srv, srv.Publisher, "wrong", alice, doc); code != 407 {
		t.Fatalf("wrong password: %d, want 407", code)
	}

	out, err := srv.Publications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out["alice@"+srv.Domain] != 1 || len(out) != 1 {
		t.Fatalf("publications %v, want one for alice", out)
	}

	if err := srv.Restart(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if err := w.Subscribe(ctx, alice, 600); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Wait(ctx, alice, func(n sipwatch.Notify) bool { return n.Doc == nil }); err != nil {
		t.Fatalf("after a restart the server still has alice's presence: %v", err)
	}
}
