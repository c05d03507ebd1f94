package engine

import (
	"sync"
	"time"
)

// locations shares one *time.Location per zone name among all workers.
// time.LoadLocation parses the zone file anew on every call (about 2 KB
// of transitions each): with a location per worker that was a quarter of
// the engine's live heap after a load (2 MB at 1,000 mailboxes, 100 MB
// at 50,000), for a handful of distinct zones.
var locations sync.Map // name → *time.Location

// loadLocation is time.LoadLocation with a process-wide cache. Unknown
// names are not cached (each is an error, and caching them would let
// garbage names grow the map).
func loadLocation(name string) (*time.Location, error) {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	actual, _ := locations.LoadOrStore(name, loc)
	return actual.(*time.Location), nil
}
