// Package graphexchange implements the engine's Exchange interface with
// graph/graphclient, so that the engine syncs Exchange Online mailboxes
// through Microsoft Graph.
//
// The engine runs it in pull mode: Graph's calendarView/delta takes the
// place of an EWS pull subscription. Subscribe starts a delta chain (one
// round over the window, whose deltaLink becomes the watermark), GetEvents
// runs the next round from that link and reports one Modified event when
// anything changed; the worker then re-reads the window with calendarView,
// as it does for EWS notifications. A lost token (410,
// syncStateNotFound) makes the engine resubscribe and re-read. Streaming
// (OpenStream) does not exist on Graph; change notifications (webhooks)
// are not wired in yet. See docs/engine.md, "Exchange Online (Graph)".
package graphexchange
