package ewsserver

import (
	"context"
	"net/http"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

func updateItemError(err error) any {
	r := &ewswire.UpdateItemResponse{}
	r.ResponseMessages.Messages = []ewswire.UpdateItemResponseMessage{{ResponseMessage: responseFor(err)}}
	return r
}

// updateItem serves m:UpdateItem (SetItemField and DeleteItemField on
// calendar items and occurrences).
func (h *Handler) updateItem(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.UpdateItem)
	changes := make([]ItemChange, 0, len(req.ItemChanges.ItemChange))
	convErrs := make([]error, len(req.ItemChanges.ItemChange))
	for i, ch := range req.ItemChanges.ItemChange {
		ref, err := ch.Item.ToEWS()
		if err != nil {
			convErrs[i] = Fail(ews.ErrorInvalidIdMalformed, "Id is malformed.")
			continue
		}
		out := ItemChange{Ref: ref}
		for _, u := range ch.Updates {
			fu := FieldUpdate{FieldURI: u.FieldURI, Delete: u.Kind == "DeleteItemField"}
			if u.Kind == "AppendToItemField" {
				convErrs[i] = Fail(ews.ErrorInvalidPropertyAppend, "AppendToItemField is not supported for calendar properties.")
				break
			}
			if u.ExtendedField != nil {
				if convErrs[i] = extendedUpdate(&fu, u); convErrs[i] != nil {
					break
				}
				out.Updates = append(out.Updates, fu)
				continue
			}
			if u.Item != nil {
				v, err := u.Item.ToEWS()
				if err != nil {
					convErrs[i] = Failf(ews.ErrorInvalidRequest, "The update of %s is invalid: %v", u.FieldURI, err)
					break
				}
				fu.Value = v
			} else if !fu.Delete {
				convErrs[i] = Failf(ews.ErrorIncorrectUpdatePropertyCount, "SetItemField %s carries no item.", u.FieldURI)
				break
			}
			out.Updates = append(out.Updates, fu)
		}
		if convErrs[i] == nil {
			changes = append(changes, out)
		}
	}
	results := h.backend.UpdateItem(ctx, c, changes, req.ConflictResolution)
	resp := &ewswire.UpdateItemResponse{}
	j := 0
	for i := range convErrs {
		var m ewswire.UpdateItemResponseMessage
		if convErrs[i] != nil {
			m.ResponseMessage = responseFor(convErrs[i])
		} else {
			res := results[j]
			j++
			m.ResponseMessage = responseFor(res.Err)
			if res.Err == nil && res.Item != nil {
				m.Items = *ewswire.ItemIdsOf([]ews.ItemId{res.Item.ItemId})
				// Exchange always reports the conflicts it resolved (none:
				// a conflict is refused with ErrorIrresolvableConflict).
				m.ConflictResults = &ewswire.ConflictResults{}
			}
		}
		resp.ResponseMessages.Messages = append(resp.ResponseMessages.Messages, m)
	}
	return resp, nil
}

// extendedUpdate converts a SetItemField or DeleteItemField naming an
// ExtendedFieldURI. A SetItemField's item must carry exactly that property
// (ErrorUpdatePropertyMismatch otherwise, as Exchange answers).
func extendedUpdate(fu *FieldUpdate, u ewswire.FieldUpdate) error {
	f := u.ExtendedField.ToEWS()
	key, err := f.Key()
	if err != nil {
		return extendedFail(err)
	}
	fu.Extended = &f
	if fu.Delete {
		return nil
	}
	if u.Item == nil {
		return Failf(ews.ErrorIncorrectUpdatePropertyCount, "SetItemField %s carries no item.", f)
	}
	if len(u.Item.ExtendedProperty) != 1 {
		return Failf(ews.ErrorIncorrectUpdatePropertyCount, "SetItemField %s must carry exactly one ExtendedProperty, not %d.", f, len(u.Item.ExtendedProperty))
	}
	p := u.Item.ExtendedProperty[0].ToEWS()
	if k, err := p.Field.Key(); err != nil || k != key || p.Field.PropertyType != f.PropertyType {
		return Failf(ews.ErrorUpdatePropertyMismatch, "The ExtendedProperty %s in the item does not match the updated property %s.", p.Field, f)
	}
	if err := p.Check(); err != nil {
		return extendedFail(err)
	}
	fu.Property = p
	return nil
}
