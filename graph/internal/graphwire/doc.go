// Package graphwire holds the JSON wire structs of Microsoft Graph v1.0
// that calsync speaks, shared by the client (graph/graphclient) and the
// simulator (graph/graphserver) so both sides use one spelling: events
// and dateTimeTimeZone, collection pages with @odata.nextLink and
// @odata.deltaLink, @removed, the error body, $batch, subscriptions,
// change and lifecycle notifications, mailboxSettings and the token
// endpoint's answers. Conversions to and from the vocabulary of package
// graph are explicit functions (convert.go).
//
// encoding/json matches field names case-insensitively, which is what a
// Graph client needs: Graph's examples spell "innerError", the OData
// specification "innererror".
package graphwire
