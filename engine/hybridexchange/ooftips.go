package hybridexchange

import (
	"context"

	"github.com/calsync/calsync/engine"
)

// OOFTipLimit implements engine.OOFTipReader: the EWS server's limit (the
// engine sizes its calls by it); cloud mailboxes of a call are split into
// Graph's own batches.
func (r *Router) OOFTipLimit(ctx context.Context) int {
	if tr, ok := r.sides[OnPremises].(engine.OOFTipReader); ok {
		return tr.OOFTipLimit(ctx)
	}
	if tr, ok := r.sides[Cloud].(engine.OOFTipReader); ok {
		return tr.OOFTipLimit(ctx)
	}
	return 1
}

// OOFTips implements engine.OOFTipReader: each mailbox's tip from its
// side, in order. A side's failure is each of its mailboxes' tip error,
// so the other side's tips still count.
func (r *Router) OOFTips(ctx context.Context, smtps []string) ([]engine.OOFTip, error) {
	out := make([]engine.OOFTip, len(smtps))
	bySide := map[Side][]int{}
	for i, s := range smtps {
		side, err := r.side(s)
		if err != nil {
			out[i] = engine.OOFTip{SMTP: s, Err: err}
			continue
		}
		bySide[side] = append(bySide[side], i)
	}
	for _, side := range []Side{OnPremises, Cloud} {
		idx := bySide[side]
		tr, ok := r.sides[side].(engine.OOFTipReader)
		if !ok {
			// A side without tips: its mailboxes get no fingerprint and
			// are read at their reconciliation.
			for _, i := range idx {
				out[i] = engine.OOFTip{SMTP: smtps[i]}
			}
			continue
		}
		limit := max(tr.OOFTipLimit(ctx), 1)
		for len(idx) > 0 {
			n := min(len(idx), limit)
			part := idx[:n]
			idx = idx[n:]
			batch := make([]string, len(part))
			for j, i := range part {
				batch[j] = smtps[i]
			}
			tips, err := tr.OOFTips(ctx, batch)
			for j, i := range part {
				switch {
				case err != nil:
					out[i] = engine.OOFTip{SMTP: smtps[i], Err: err}
				case j < len(tips):
					out[i] = tips[j]
					out[i].Err = r.outcome(ctx, side, smtps[i], tips[j].Err)
				default:
					out[i] = engine.OOFTip{SMTP: smtps[i], Err: &engine.ExchangeError{Code: "NetworkError"}}
				}
			}
		}
	}
	return out, ctx.Err()
}
