package ewsserver

import (
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// serveAutodiscover answers SOAP Autodiscover GetUserSettings.
func (h *Handler) serveAutodiscover(w http.ResponseWriter, r *http.Request, account string) {
	env, err := ewswire.DecodeRequest(r.Body, h.opts.Limits)
	if err != nil {
		var re *ewswire.ReadError
		if !errors.As(err, &re) {
			h.writeFault(w, ewswire.NewFault(ews.ErrorSchemaValidation, "The request failed schema validation.", nil))
		}
		return
	}
	req, ok := env.Body.(*ewswire.GetUserSettingsRequestMessage)
	if !ok || h.autod == nil {
		h.writeFault(w, ewswire.NewFault(ews.ErrorInvalidRequest, "Only GetUserSettings is supported.", nil))
		return
	}
	c := &Caller{Account: account, Operation: "GetUserSettings"}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	names := req.Request.RequestedSettings.Setting
	resp := &ewswire.GetUserSettingsResponseMessage{}
	results, err := h.autod.GetUserSettings(r.Context(), c, scheme+"://"+r.Host, req.Mailboxes(), names)
	if err != nil {
		resp.Response.ErrorCode, resp.Response.ErrorMessage = "InvalidRequest", "The request is invalid."
		var re *ews.ResponseError
		if errors.As(err, &re) {
			resp.Response.ErrorMessage = re.MessageText
		}
	} else {
		resp.Response.ErrorCode = "NoError"
		for _, u := range results {
			ur := ewswire.UserResponse{ErrorCode: u.ErrorCode, ErrorMessage: u.Message}
			if ur.ErrorMessage == "" && u.ErrorCode == "NoError" {
				ur.ErrorMessage = "No error."
			}
			ur.SetSettings(u.Settings, names)
			resp.Response.UserResponses.UserResponse = append(resp.Response.UserResponses.UserResponse, ur)
		}
	}
	data, err := ewswire.Marshal(&ewswire.Header{Action: &ewswire.AddressingHeader{
		XMLName: xml.Name{Space: ewswire.NSAddressing, Local: "Action"}, Value: ewswire.AutodiscoverActionGetUserSettings + "Response"}}, resp)
	if err != nil {
		h.writeFault(w, ewswire.FaultFromError(err))
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(data)
}
