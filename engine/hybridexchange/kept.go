package hybridexchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/calsync/calsync/store"
)

// keptDocument names the store document of the decided sides.
const keptDocument = "hybrid.hosted_on"

// kept is the document: version 1, address → side.
type kept struct {
	Version int             `json:"version"`
	Sides   map[string]Side `json:"sides"`
}

// Load resumes the decisions kept by an earlier run. A missing document is
// a first start; an unreadable one is reported (the caller may go on: the
// mailboxes are then asked about again).
func (r *Router) Load(ctx context.Context) error {
	if r.opts.Store == nil {
		return nil
	}
	b, err := r.opts.Store.LoadDocument(ctx, keptDocument)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hybridexchange: load %s: %w", keptDocument, err)
	}
	var k kept
	if err := json.Unmarshal(b, &k); err != nil {
		return fmt.Errorf("hybridexchange: document %s is not a list of sides (the mailboxes are looked up again): %w", keptDocument, err)
	}
	if k.Version != 1 {
		return fmt.Errorf("hybridexchange: document %s has version %d, not 1; the mailboxes are looked up again", keptDocument, k.Version)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for a, s := range k.Sides {
		if s == OnPremises || s == Cloud {
			r.decided[normalize(a)] = s
		}
	}
	return nil
}

// save stores the decisions if they changed since the last save.
func (r *Router) save(ctx context.Context) error {
	if r.opts.Store == nil {
		return nil
	}
	r.mu.Lock()
	if !r.dirty {
		r.mu.Unlock()
		return nil
	}
	k := kept{Version: 1, Sides: make(map[string]Side, len(r.decided))}
	for a, s := range r.decided {
		k.Sides[a] = s
	}
	r.dirty = false
	r.mu.Unlock()
	b, err := json.Marshal(k)
	if err == nil {
		err = r.opts.Store.SaveDocument(context.WithoutCancel(ctx), keptDocument, b)
	}
	if err != nil {
		r.mu.Lock()
		r.dirty = true
		r.mu.Unlock()
		return fmt.Errorf("hybridexchange: save %s: %w", keptDocument, err)
	}
	return nil
}
