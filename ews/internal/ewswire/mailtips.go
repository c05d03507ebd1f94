package ewswire

import (
	"encoding/xml"
	"strconv"
	"strings"

	"github.com/calsync/calsync/ews"
)

// GetMailTips is m:GetMailTipsType.
type GetMailTips struct {
	XMLName           xml.Name       `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetMailTips"`
	SendingAs         EmailAddress   `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SendingAs"`
	Recipients        RecipientArray `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Recipients"`
	MailTipsRequested string         `xml:"http://schemas.microsoft.com/exchange/services/2006/messages MailTipsRequested"`
}

// RecipientArray is t:ArrayOfRecipientsType.
type RecipientArray struct {
	Mailbox []EmailAddress `xml:"http://schemas.microsoft.com/exchange/services/2006/types Mailbox"`
}

// GetMailTipsResponse is m:GetMailTipsResponseMessageType: a response
// message itself (a request-level error) holding one message per recipient.
type GetMailTipsResponse struct {
	XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetMailTipsResponse"`
	ResponseMessage
	ResponseMessages *struct {
		Messages []MailTipsResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages MailTipsResponseMessageType"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages,omitempty"`
	// Memo, when set before decoding, asks DecodeResponse for a digest of
	// the answer's bytes and to skip decoding an answer it has seen
	// (answermemo.go). It is not part of the XML.
	Memo *AnswerMemo `xml:"-"`
}

// MailTipsResponseMessage is m:MailTipsResponseMessageType.
type MailTipsResponseMessage struct {
	ResponseMessage
	MailTips *MailTips `xml:"http://schemas.microsoft.com/exchange/services/2006/messages MailTips,omitempty"`
}

// MailTips is t:MailTips (the elements calsync asks for).
type MailTips struct {
	RecipientAddress EmailAddress        `xml:"http://schemas.microsoft.com/exchange/services/2006/types RecipientAddress"`
	PendingMailTips  string              `xml:"http://schemas.microsoft.com/exchange/services/2006/types PendingMailTips"`
	OutOfOffice      *OutOfOfficeMailTip `xml:"http://schemas.microsoft.com/exchange/services/2006/types OutOfOffice,omitempty"`
}

// OutOfOfficeMailTip is t:OutOfOfficeMailTip.
type OutOfOfficeMailTip struct {
	ReplyBody OptionalReplyBody `xml:"http://schemas.microsoft.com/exchange/services/2006/types ReplyBody"`
	Duration  *TimeSpan         `xml:"http://schemas.microsoft.com/exchange/services/2006/types Duration,omitempty"`
}

// OptionalReplyBody is t:ReplyBody with its optional Message.
type OptionalReplyBody struct {
	Message string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Message,omitempty"`
}

// TimeSpan is t:Duration.
type TimeSpan struct {
	StartTime DateTime `xml:"http://schemas.microsoft.com/exchange/services/2006/types StartTime"`
	EndTime   DateTime `xml:"http://schemas.microsoft.com/exchange/services/2006/types EndTime"`
}

// ToEWS converts one recipient's mail tips.
func (m *MailTips) ToEWS() ews.OutOfOfficeTip {
	tip := ews.OutOfOfficeTip{Recipient: strings.TrimSpace(m.RecipientAddress.EmailAddress)}
	if oof := m.OutOfOffice; oof != nil {
		tip.Message = oof.ReplyBody.Message
		tip.On = strings.TrimSpace(oof.ReplyBody.Message) != ""
		if oof.Duration != nil {
			tip.Start, tip.End = oof.Duration.StartTime.UTC(), oof.Duration.EndTime.UTC()
		}
	}
	return tip
}

// MailTipsFrom builds one recipient's answer for a server.
func MailTipsFrom(t ews.OutOfOfficeTip) *MailTips {
	m := &MailTips{RecipientAddress: EmailAddress{EmailAddress: t.Recipient, RoutingType: "SMTP"}, PendingMailTips: "",
		OutOfOffice: &OutOfOfficeMailTip{}}
	if t.On {
		m.OutOfOffice.ReplyBody.Message = t.Message
		if !t.Start.IsZero() {
			m.OutOfOffice.Duration = &TimeSpan{StartTime: DateTime{t.Start.UTC()}, EndTime: DateTime{t.End.UTC()}}
		}
	}
	return m
}

// GetServiceConfiguration is m:GetServiceConfigurationType.
type GetServiceConfiguration struct {
	XMLName                xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetServiceConfiguration"`
	RequestedConfiguration struct {
		ConfigurationName []string `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ConfigurationName"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages RequestedConfiguration"`
}

// GetServiceConfigurationResponse is m:GetServiceConfigurationResponseMessageType.
type GetServiceConfigurationResponse struct {
	XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetServiceConfigurationResponse"`
	ResponseMessage
	ResponseMessages *struct {
		Messages []ServiceConfigurationResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ServiceConfigurationResponseMessageType"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages,omitempty"`
}

// ServiceConfigurationResponseMessage is m:ServiceConfigurationResponseMessageType
// (the MailTips part).
type ServiceConfigurationResponseMessage struct {
	ResponseMessage
	MailTipsConfiguration *MailTipsServiceConfiguration `xml:"http://schemas.microsoft.com/exchange/services/2006/messages MailTipsConfiguration,omitempty"`
}

// MailTipsServiceConfiguration is t:MailTipsServiceConfiguration; every
// element is required by the schema.
type MailTipsServiceConfiguration struct {
	MailTipsEnabled                    string `xml:"http://schemas.microsoft.com/exchange/services/2006/types MailTipsEnabled"`
	MaxRecipientsPerGetMailTipsRequest string `xml:"http://schemas.microsoft.com/exchange/services/2006/types MaxRecipientsPerGetMailTipsRequest"`
	MaxMessageSize                     string `xml:"http://schemas.microsoft.com/exchange/services/2006/types MaxMessageSize"`
	LargeAudienceThreshold             string `xml:"http://schemas.microsoft.com/exchange/services/2006/types LargeAudienceThreshold"`
	ShowExternalRecipientCount         string `xml:"http://schemas.microsoft.com/exchange/services/2006/types ShowExternalRecipientCount"`
	InternalDomains                    struct {
		Domain []struct {
			Name string `xml:"Name,attr"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Domain"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types InternalDomains"`
	PolicyTipsEnabled string `xml:"http://schemas.microsoft.com/exchange/services/2006/types PolicyTipsEnabled"`
	LargeAudienceCap  string `xml:"http://schemas.microsoft.com/exchange/services/2006/types LargeAudienceCap"`
}

// ToEWS converts the configuration; a missing or malformed limit is 0.
func (c *MailTipsServiceConfiguration) ToEWS() ews.MailTipsConfiguration {
	n, _ := strconv.Atoi(strings.TrimSpace(c.MaxRecipientsPerGetMailTipsRequest))
	on, _ := strconv.ParseBool(strings.TrimSpace(c.MailTipsEnabled))
	return ews.MailTipsConfiguration{Enabled: on, MaxRecipientsPerRequest: n}
}

// MailTipsServiceConfigurationFrom builds the configuration for a server.
func MailTipsServiceConfigurationFrom(c ews.MailTipsConfiguration) *MailTipsServiceConfiguration {
	return &MailTipsServiceConfiguration{MailTipsEnabled: strconv.FormatBool(c.Enabled),
		MaxRecipientsPerGetMailTipsRequest: strconv.Itoa(c.MaxRecipientsPerRequest), MaxMessageSize: "36700160",
		LargeAudienceThreshold: "25", ShowExternalRecipientCount: "false", PolicyTipsEnabled: "false", LargeAudienceCap: "25"}
}
