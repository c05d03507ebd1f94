package pgstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

// SaveGroups records the affinity groups a coordinator learnt for
// mailboxes that have no status yet (smtp → group; "" when Autodiscover
// gave none), so that every instance places them with their group
// (Placements). A mailbox's own status, once saved, takes precedence.
func (s *Store) SaveGroups(ctx context.Context, groups map[string]string) error {
	if len(groups) == 0 {
		return nil
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	smtps := slices.Sorted(maps.Keys(groups)) // one lock order for concurrent savers
	grps := make([]string, len(smtps))
	for i, m := range smtps {
		grps[i] = groups[m]
	}
	if _, err := s.coord.Exec(ctx, `INSERT INTO mailbox_groups (smtp, grp)
		SELECT * FROM unnest($1::text[], $2::text[])
		ON CONFLICT (smtp) DO UPDATE SET grp = excluded.grp, learnt_at = now()`, smtps, grps); err != nil {
		return fmt.Errorf("pgstore: save %d learnt affinity groups: %w", len(groups), err)
	}
	return nil
}
