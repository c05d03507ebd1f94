package hybridexchange

import (
	"context"
	"testing"
	"time"

	"github.com/calsync/calsync/calendar"
	"github.com/calsync/calsync/engine"
)

// nowhere answers every OOF with its "not here" code, and the probe with
// success (so the mailbox starts in the cloud).
type nowhere struct {
	engine.Exchange
	code string
	tips []engine.OOFTip
}

func (n nowhere) OOF(context.Context, engine.Target) (calendar.OOFSettings, error) {
	return calendar.OOFSettings{}, &engine.ExchangeError{Code: n.code}
}

func (n nowhere) MailboxTimeZone(context.Context, engine.Target) (string, error) { return "", nil }

func (n nowhere) OOFTipLimit(context.Context) int { return 20 }

func (n nowhere) OOFTips(_ context.Context, smtps []string) ([]engine.OOFTip, error) {
	out := make([]engine.OOFTip, len(smtps))
	for i := range smtps {
		out[i] = engine.OOFTip{Fingerprint: n.code}
	}
	return out, nil
}

// A mailbox both sides disown is moved a few times, then reported with
// the side's own error instead of ping-ponging for ever.
func TestFlipsAreBounded(t *testing.T) {
	onPrem := nowhere{code: "ErrorNonExistentMailbox"}
	cloud := nowhere{code: "MailboxNotEnabledForRESTAPI"}
	r := New(onPrem, cloud, cloud)
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	var codes []string
	for range 5 {
		_, err := r.OOF(context.Background(), engine.Target{SMTP: "a@x.example"})
		codes = append(codes, engine.ErrorCode(err))
	}
	want := []string{CodeMoved, CodeMoved, CodeMoved, "ErrorNonExistentMailbox", "ErrorNonExistentMailbox"}
	if len(codes) != len(want) {
		t.Fatalf("codes = %v", codes)
	}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("codes = %v, want %v", codes, want)
		}
	}
	now = now.Add(flipWindow)
	if _, err := r.OOF(context.Background(), engine.Target{SMTP: "a@x.example"}); engine.ErrorCode(err) != CodeMoved {
		t.Errorf("after the window: %v, want a move again", err)
	}
}

func TestOOFTipsSplitBySideInOrder(t *testing.T) {
	r := New(nowhere{code: "ews"}, nowhere{code: "graph"}, nowhere{})
	r.Place("a@x", OnPremises)
	r.Place("b@x", Cloud)
	r.Place("c@x", OnPremises)
	tips, err := r.OOFTips(context.Background(), []string{"a@x", "b@x", "c@x", "unknown@x"})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{tips[0].Fingerprint, tips[1].Fingerprint, tips[2].Fingerprint, tips[3].Fingerprint}
	if got[0] != "ews" || got[1] != "graph" || got[2] != "ews" || got[3] != "" || tips[3].SMTP != "unknown@x" {
		t.Errorf("tips = %+v", tips)
	}
}

// probeErr answers the probe with a fixed error.
type probeErr struct{ err error }

func (p probeErr) MailboxTimeZone(context.Context, engine.Target) (string, error) { return "", p.err }

func TestProbeDecides(t *testing.T) {
	for _, tc := range []struct {
		code string
		side Side
		ok   bool
	}{
		{"MailboxNotEnabledForRESTAPI", OnPremises, true},
		{"GraphAccessDenied", OnPremises, true},
		{"HTTP401", OnPremises, true},
		{"NetworkError", "", false},
		{"ApplicationThrottled", "", false},
		{"HTTP503", "", false},
	} {
		r := New(nowhere{}, nowhere{}, probeErr{&engine.ExchangeError{Code: tc.code}})
		_, err := r.decide(context.Background(), "a@x")
		side, ok := r.SideOf("a@x")
		if side != tc.side || ok != tc.ok || (err == nil) != tc.ok {
			t.Errorf("%s: side %q %v, err %v", tc.code, side, ok, err)
		}
	}
}
