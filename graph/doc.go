// Package graph is calsync's Microsoft Graph vocabulary without JSON: the
// event and occurrence fields calsync reads, their enumerations (showAs,
// sensitivity, type, response), dateTimeTimeZone, mailbox settings
// (automatic replies, time zone, working hours), change notifications and
// their lifecycle events, and typed errors carrying Graph's error codes and
// throttling hints.
//
// The JSON wire structs live in graph/internal/graphwire, shared by the
// client (graph/graphclient) and the simulator (graph/graphserver), as
// ews/internal/ewswire is for EWS. The facts behind it are Microsoft's
// Graph v1.0 reference pages (calendarView, delta, subscriptions,
// mailboxSettings, $batch, throttling), cited where they matter.
//
// Graph spells enumerations inconsistently (`accepted` and `Accepted`,
// `Scheduled` and `scheduled`): every Parse function here compares
// case-insensitively, returns the canonical camelCase value, and keeps an
// unknown value as it came so that nothing is silently mapped to a default.
package graph
