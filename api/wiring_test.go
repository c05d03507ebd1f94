package api_test

import (
	"github.com/calsync/calsync/api"
	"github.com/calsync/calsync/engine"
	"github.com/calsync/calsync/events"
	"github.com/calsync/calsync/presence"
	"github.com/calsync/calsync/store"
	"github.com/calsync/calsync/webhook"
)

// The real components satisfy the API's interfaces as they are, so the app
// wires them without adapters.
var (
	_ api.PresenceSource  = (*presence.Scheduler)(nil)
	_ api.OverrideSetter  = (*presence.Scheduler)(nil)
	_ api.DryRunner       = (*presence.Scheduler)(nil)
	_ api.SyncSource      = (*engine.Engine)(nil)
	_ api.SyncTrigger     = (*engine.Engine)(nil)
	_ api.EventStream     = (*events.Log)(nil)
	_ events.Sink         = (*webhook.Dispatcher)(nil)
	_ api.DeadLetterAdmin = (*webhook.Dispatcher)(nil)
	_ api.AgendaSource    = store.Store(nil)
)
