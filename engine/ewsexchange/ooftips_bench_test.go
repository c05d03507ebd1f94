package ewsexchange_test

import (
	"context"
	"testing"
)

// BenchmarkOOFTips50: one GetMailTips of 50 mailboxes against the
// simulator over HTTP (client and simulator in this process), decoded
// ("decoded") or answered as the batch's last answer ("unchanged", the
// idle engine's case); the difference is the client's decoding.
func BenchmarkOOFTips50(b *testing.B) {
	sim, ex := newHTTPSim(b, 50, 1)
	mbs := users(sim)
	ctx := context.Background()
	_, memo, err := ex.OOFTipsSince(ctx, mbs, 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		since uint64
	}{{"decoded", 0}, {"unchanged", memo}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := ex.OOFTipsSince(ctx, mbs, bc.since); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
