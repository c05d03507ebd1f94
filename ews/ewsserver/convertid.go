package ewsserver

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// The simulator's ids. An EwsId is standard base64 of ewsIDPrefix followed
// by the entry id (the backend's own bytes); the other formats of
// ConvertId re-encode the same entry id, so every conversion round-trips.
// Real Exchange ids are binary MAPI structures; clients treat all of them
// as opaque strings.
const (
	ewsIDPrefix    = "AAMk"
	legacyIDPrefix = "AAAL"
)

// EncodeEwsID returns the EwsId of an entry id (backends build their item
// and folder ids with it so ConvertId can translate them).
func EncodeEwsID(entry string) string {
	return base64.StdEncoding.EncodeToString([]byte(ewsIDPrefix + entry))
}

// DecodeEwsID returns the entry id inside an EwsId.
func DecodeEwsID(id string) (string, bool) {
	return decodePrefixed(base64.StdEncoding, id, ewsIDPrefix)
}

func decodePrefixed(enc *base64.Encoding, id, prefix string) (string, bool) {
	raw, err := enc.DecodeString(id)
	if err != nil || !strings.HasPrefix(string(raw), prefix) || len(raw) == len(prefix) {
		return "", false
	}
	return string(raw[len(prefix):]), true
}

// idFormats encode and decode the entry id in each ews IdFormatType.
var idFormats = map[string]struct {
	encode func(entry string) string
	decode func(id string) (string, bool)
}{
	"EwsId": {EncodeEwsID, DecodeEwsID},
	"EwsLegacyId": {
		func(e string) string { return base64.StdEncoding.EncodeToString([]byte(legacyIDPrefix + e)) },
		func(id string) (string, bool) { return decodePrefixed(base64.StdEncoding, id, legacyIDPrefix) },
	},
	// OwaId: the EwsId bytes in URL-safe base64 (it travels in URLs).
	"OwaId": {
		func(e string) string { return base64.RawURLEncoding.EncodeToString([]byte(ewsIDPrefix + e)) },
		func(id string) (string, bool) { return decodePrefixed(base64.RawURLEncoding, id, ewsIDPrefix) },
	},
	"EntryId": {
		func(e string) string { return base64.StdEncoding.EncodeToString([]byte(e)) },
		func(id string) (string, bool) { return decodePrefixed(base64.StdEncoding, id, "") },
	},
	"HexEntryId": {
		func(e string) string { return strings.ToUpper(hex.EncodeToString([]byte(e))) },
		func(id string) (string, bool) {
			raw, err := hex.DecodeString(id)
			return string(raw), err == nil && len(raw) > 0
		},
	},
	// StoreId: the entry id followed by one object-type byte.
	"StoreId": {
		func(e string) string { return base64.StdEncoding.EncodeToString([]byte(e + "\x00")) },
		func(id string) (string, bool) {
			raw, err := base64.StdEncoding.DecodeString(id)
			if err != nil || len(raw) < 2 || raw[len(raw)-1] != 0 {
				return "", false
			}
			return string(raw[:len(raw)-1]), true
		},
	},
}

func convertIdError(err error) any {
	r := &ewswire.ConvertIdResponse{}
	r.ResponseMessages.Messages = []ewswire.ConvertIdResponseMessage{{ResponseMessage: responseFor(err)}}
	return r
}

// convertId serves m:ConvertId: a pure re-encoding, as on Exchange (the
// item need not exist; a malformed id answers ErrorInvalidIdMalformed).
func (h *Handler) convertId(_ context.Context, _ *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.ConvertId)
	dest, ok := idFormats[req.DestinationFormat]
	if !ok {
		return nil, SchemaFault("The DestinationFormat attribute is invalid - The value '" + req.DestinationFormat + "' is invalid according to its datatype 'IdFormatType'.")
	}
	if len(req.SourceIds.Ids) == 0 {
		return nil, SchemaFault("The element 'SourceIds' has incomplete content.")
	}
	resp := &ewswire.ConvertIdResponse{}
	for _, src := range req.SourceIds.Ids {
		m := ewswire.ConvertIdResponseMessage{}
		from, known := idFormats[src.Format]
		entry, valid := "", false
		if known && src.XMLName.Local == "AlternateId" {
			entry, valid = from.decode(src.Id)
		}
		switch {
		case !known:
			return nil, SchemaFault("The Format attribute is invalid - The value '" + src.Format + "' is invalid according to its datatype 'IdFormatType'.")
		case src.XMLName.Local != "AlternateId":
			m.ResponseMessage = responseFor(Fail(ews.ErrorInvalidIdMalformed, "Id is malformed.", "Detail", "There are no public folders."))
		case !valid:
			m.ResponseMessage = responseFor(Fail(ews.ErrorInvalidIdMalformed, "Id is malformed."))
		default:
			m.ResponseMessage = ewswire.Success()
			m.AlternateId = &ewswire.ConvertedId{AlternateId: ewswire.AlternateId{Format: req.DestinationFormat, Id: dest.encode(entry), Mailbox: src.Mailbox, IsArchive: src.IsArchive}}
		}
		resp.ResponseMessages.Messages = append(resp.ResponseMessages.Messages, m)
	}
	return resp, nil
}
