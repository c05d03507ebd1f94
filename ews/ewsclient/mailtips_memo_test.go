package ewsclient_test

import (
	"bytes"
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// rewriter replaces old with new in what the fake writes.
type rewriter struct {
	http.ResponseWriter
	old, new []byte
}

func (w rewriter) Write(b []byte) (int, error) {
	_, err := w.ResponseWriter.Write(bytes.ReplaceAll(b, w.old, w.new))
	return len(b), err
}

// The same request answered with the same bytes comes back as "nothing
// changed" without tips; a changed answer, another request or no memo is
// decoded in full.
func TestGetMailTipsOOFSinceSkipsTheSameAnswer(t *testing.T) {
	f, c := presenceFake(t)
	var friday atomic.Bool
	answer := f.override
	f.override = func(w http.ResponseWriter, env *ewswire.Envelope) bool {
		if friday.Load() {
			w = rewriter{ResponseWriter: w, old: []byte("Back on Monday"), new: []byte("Back on Friday")}
		}
		return answer(w, env)
	}
	ctx := context.Background()
	rcpts := []string{"alice@contoso.com", "bob@contoso.com", "carol@contoso.com"}
	tips, memo, err := c.GetMailTipsOOFSince(ctx, ewsclient.ActAs("alice@contoso.com"), "alice@contoso.com", rcpts, 100, 0)
	if err != nil || len(tips) != 3 || memo == 0 {
		t.Fatalf("first call = %d tips, memo %d, %v; want 3 tips and a memo", len(tips), memo, err)
	}
	again, memo2, err := c.GetMailTipsOOFSince(ctx, ewsclient.ActAs("alice@contoso.com"), "alice@contoso.com", rcpts, 100, memo)
	if err != nil || again != nil || memo2 != memo {
		t.Fatalf("same answer = %d tips, memo %d, %v; want none, memo %d", len(again), memo2, err, memo)
	}
	// Another request (bob left the batch) whose answer differs only there.
	other, memo3, err := c.GetMailTipsOOFSince(ctx, ewsclient.ActAs("alice@contoso.com"), "alice@contoso.com", []string{"alice@contoso.com", "carol@contoso.com"}, 100, memo)
	if err != nil || len(other) != 2 || memo3 == memo || memo3 == 0 {
		t.Fatalf("other request = %d tips, memo %d, %v; want 2 tips and a new memo", len(other), memo3, err)
	}
	friday.Store(true)
	changed, memo4, err := c.GetMailTipsOOFSince(ctx, ewsclient.ActAs("alice@contoso.com"), "alice@contoso.com", rcpts, 100, memo)
	if err != nil || len(changed) != 3 || memo4 == memo || memo4 == 0 {
		t.Fatalf("changed answer = %d tips, memo %d, %v; want 3 tips and a new memo", len(changed), memo4, err)
	}
	if changed[0].Message != "Back on Friday" {
		t.Errorf("alice's changed tip = %q, want the new message", changed[0].Message)
	}
	// Asked again with the new memo: unchanged again.
	if tips, m, err := c.GetMailTipsOOFSince(ctx, ewsclient.ActAs("alice@contoso.com"), "alice@contoso.com", rcpts, 100, memo4); err != nil || tips != nil || m != memo4 {
		t.Errorf("same changed answer = %d tips, memo %d, %v; want none, memo %d", len(tips), m, err, memo4)
	}
}
