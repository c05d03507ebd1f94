package graphexchange

import (
	"context"
	"strings"

	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/graph"
)

// OOFTipLimit implements engine.OOFTipReader: a $batch carries 20 requests.
func (x *Client) OOFTipLimit(context.Context) int { return 20 }

// OOFTips implements engine.OOFTipReader with one $batch of
// automaticRepliesSetting reads (Graph has no notification for mailbox
// settings: they are polled). A mailbox's own failure is in its tip.
func (x *Client) OOFTips(ctx context.Context, smtps []string) ([]engine.OOFTip, error) {
	if len(smtps) == 0 {
		return nil, nil
	}
	res, err := x.c.AutomaticReplies(ctx, smtps)
	if err != nil {
		return nil, classify("$batch", err)
	}
	out := make([]engine.OOFTip, len(smtps))
	for i, r := range res {
		out[i] = engine.OOFTip{SMTP: smtps[i], Fingerprint: fingerprint(r.Settings)}
		if r.Err != nil {
			out[i] = engine.OOFTip{SMTP: smtps[i], Err: classify("automaticRepliesSetting", r.Err)}
		}
	}
	return out, nil
}

// fingerprint is empty while replies are off, else status, schedule and
// internal message, so that any change to them shows.
func fingerprint(a graph.AutomaticReplies) string {
	if a.Status == graph.AutoRepliesDisabled || a.Status == "" {
		return ""
	}
	return strings.Join([]string{string(a.Status), a.ScheduledStart.String(), a.ScheduledEnd.String(), a.InternalReplyMessage}, "|")
}
