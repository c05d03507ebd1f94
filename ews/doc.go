// Package ews is the vocabulary of Exchange Web Services shared by the EWS
// client (ews/ewsclient) and the simulator (ews/ewsserver): identifiers,
// calendar items, recurrence, notifications, server versions, impersonation,
// availability and out-of-office settings, the generated ResponseCode values
// and the typed errors every EWS call can return.
//
// The package has no I/O and no XML: wire structs live in
// ews/internal/ewswire, which converts to and from these types explicitly.
// Field names follow the EWS schema (types.xsd) so that a reader of
// Microsoft's documentation finds them; the [MS-OXWS*] and XSD type names
// are cited on each type.
package ews

//go:generate go run ./internal/gen/responsecodes -out responsecode_generated.go
