package ewsserver

import (
	"context"
	"net/http"
	"strings"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

// BackendMailboxSettings is implemented by backends that answer
// GetMailTips (the OutOfOfficeMessage tip), GetServiceConfiguration (its
// MailTips part) and GetUserConfiguration (string dictionaries such as
// OWA.UserOptions).
type BackendMailboxSettings interface {
	// MailTipsConfiguration is the MailTips service configuration;
	// MaxRecipientsPerRequest bounds GetMailTips.
	MailTipsConfiguration() ews.MailTipsConfiguration
	// OutOfOfficeTips returns one tip per recipient, in request order (a
	// recipient's failure in its Err).
	OutOfOfficeTips(ctx context.Context, c *Caller, recipients []string) ([]ews.OutOfOfficeTip, error)
	// UserConfiguration returns the string entries of the configuration
	// object name in folder of the caller's mailbox, keys in order.
	UserConfiguration(ctx context.Context, c *Caller, name, folder string) (keys, values []string, err error)
}

func getMailTipsError(err error) any {
	return &ewswire.GetMailTipsResponse{ResponseMessage: responseFor(err)}
}

// getMailTips serves m:GetMailTips: a request-level response message and
// one m:MailTipsResponseMessageType per recipient.
func (h *Handler) getMailTips(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.GetMailTips)
	if h.settings == nil {
		return nil, notSupported("GetMailTips")
	}
	var recipients []string
	for _, m := range req.Recipients.Mailbox {
		recipients = append(recipients, strings.TrimSpace(m.EmailAddress))
	}
	if len(recipients) == 0 {
		return nil, Fail(ews.ErrorMissingRecipients, "The request names no recipients.")
	}
	if limit := h.settings.MailTipsConfiguration().MaxRecipientsPerRequest; len(recipients) > limit {
		return nil, Failf(ews.ErrorExceededMaxRecipientLimit, "The request names %d recipients; at most %d are allowed (MaxRecipientsPerGetMailTipsRequest).", len(recipients), limit)
	}
	tips, err := h.settings.OutOfOfficeTips(ctx, c, recipients)
	if err != nil {
		return nil, err
	}
	resp := &ewswire.GetMailTipsResponse{ResponseMessage: ewswire.Success()}
	resp.ResponseMessages = &struct {
		Messages []ewswire.MailTipsResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages MailTipsResponseMessageType"`
	}{}
	for _, t := range tips {
		m := ewswire.MailTipsResponseMessage{ResponseMessage: responseFor(t.Err)}
		if t.Err == nil {
			m.MailTips = ewswire.MailTipsFrom(t)
		}
		resp.ResponseMessages.Messages = append(resp.ResponseMessages.Messages, m)
	}
	return resp, nil
}

func getServiceConfigurationError(err error) any {
	return &ewswire.GetServiceConfigurationResponse{ResponseMessage: responseFor(err)}
}

// getServiceConfiguration serves m:GetServiceConfiguration for the
// MailTips configuration (other configurations are not kept).
func (h *Handler) getServiceConfiguration(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.GetServiceConfiguration)
	if h.settings == nil {
		return nil, notSupported("GetServiceConfiguration")
	}
	for _, n := range req.RequestedConfiguration.ConfigurationName {
		if n != "MailTips" {
			return nil, Failf(ews.ErrorInvalidOperation, "The service configuration %s is not available on this server.", n)
		}
	}
	resp := &ewswire.GetServiceConfigurationResponse{ResponseMessage: ewswire.Success()}
	resp.ResponseMessages = &struct {
		Messages []ewswire.ServiceConfigurationResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ServiceConfigurationResponseMessageType"`
	}{Messages: []ewswire.ServiceConfigurationResponseMessage{{ResponseMessage: ewswire.Success(),
		MailTipsConfiguration: ewswire.MailTipsServiceConfigurationFrom(h.settings.MailTipsConfiguration())}}}
	return resp, nil
}

func getUserConfigurationError(err error) any {
	resp := &ewswire.GetUserConfigurationResponse{}
	resp.ResponseMessages.Messages = []ewswire.GetUserConfigurationResponseMessage{{ResponseMessage: responseFor(err)}}
	return resp
}

// getUserConfiguration serves m:GetUserConfiguration for configuration
// objects in a distinguished folder of the caller's mailbox.
func (h *Handler) getUserConfiguration(ctx context.Context, c *Caller, body any, _ http.ResponseWriter, _ *http.Request) (any, error) {
	req := body.(*ewswire.GetUserConfiguration)
	if h.settings == nil {
		return nil, notSupported("GetUserConfiguration")
	}
	folder := ""
	if f := req.UserConfigurationName.DistinguishedFolderID; f != nil {
		folder = f.ID
	}
	keys, values, err := h.settings.UserConfiguration(ctx, c, req.UserConfigurationName.Name, folder)
	if err != nil {
		return nil, err
	}
	resp := &ewswire.GetUserConfigurationResponse{}
	resp.ResponseMessages.Messages = []ewswire.GetUserConfigurationResponseMessage{{ResponseMessage: ewswire.Success(),
		UserConfiguration: ewswire.UserConfigurationFrom(req.UserConfigurationName.Name, folder, keys, values)}}
	return resp, nil
}
