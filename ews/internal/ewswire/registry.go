package ewswire

import (
	"encoding/xml"
	"io"
)

// requestTypes maps the body element of every request calsync's server
// side understands to a constructor of its wire struct.
var requestTypes = map[xml.Name]func() any{
	{Space: NSMessages, Local: "GetFolder"}:                  func() any { return &GetFolder{} },
	{Space: NSMessages, Local: "FindItem"}:                   func() any { return &FindItem{} },
	{Space: NSMessages, Local: "GetItem"}:                    func() any { return &GetItem{} },
	{Space: NSMessages, Local: "SyncFolderItems"}:            func() any { return &SyncFolderItems{} },
	{Space: NSMessages, Local: "CreateItem"}:                 func() any { return &CreateItem{} },
	{Space: NSMessages, Local: "UpdateItem"}:                 func() any { return &UpdateItem{} },
	{Space: NSMessages, Local: "DeleteItem"}:                 func() any { return &DeleteItem{} },
	{Space: NSMessages, Local: "Subscribe"}:                  func() any { return &Subscribe{} },
	{Space: NSMessages, Local: "GetEvents"}:                  func() any { return &GetEvents{} },
	{Space: NSMessages, Local: "GetStreamingEvents"}:         func() any { return &GetStreamingEvents{} },
	{Space: NSMessages, Local: "Unsubscribe"}:                func() any { return &Unsubscribe{} },
	{Space: NSMessages, Local: "GetUserAvailabilityRequest"}: func() any { return &GetUserAvailabilityRequest{} },
	{Space: NSMessages, Local: "GetUserOofSettingsRequest"}:  func() any { return &GetUserOofSettingsRequest{} },
	{Space: NSMessages, Local: "GetMailTips"}:                func() any { return &GetMailTips{} },
	{Space: NSMessages, Local: "GetServiceConfiguration"}:    func() any { return &GetServiceConfiguration{} },
	{Space: NSMessages, Local: "GetUserConfiguration"}:       func() any { return &GetUserConfiguration{} },
	{Space: NSMessages, Local: "SendNotification"}:           func() any { return &SendNotification{} },
	{Space: NSMessages, Local: "ConvertId"}:                  func() any { return &ConvertId{} },
	{Space: NSMessages, Local: "SendNotificationResult"}:     func() any { return &SendNotificationResult{} },
	{Space: NSAutodiscover, Local: "GetUserSettingsRequestMessage"}: func() any {
		return &GetUserSettingsRequestMessage{}
	},
}

// NewRequest returns an empty wire struct for a request body element, or
// nil when the operation is not supported.
func NewRequest(name xml.Name) any {
	if f, ok := requestTypes[name]; ok {
		return f()
	}
	return nil
}

// DecodeRequest reads a request envelope for a server. env.Body is the
// request wire struct (dispatch with a type switch or on
// env.BodyName.Local); an unsupported operation yields a *RawXML body so
// the server can answer ErrorInvalidRequest with the operation's name.
func DecodeRequest(r io.Reader, lim Limits) (*Envelope, error) {
	return DecodeEnvelope(r, lim, NewRequest)
}

// responseTypes maps response body elements to their wire structs.
var responseTypes = map[xml.Name]func() any{
	{Space: NSMessages, Local: "GetFolderResponse"}:               func() any { return &GetFolderResponse{} },
	{Space: NSMessages, Local: "FindItemResponse"}:                func() any { return &FindItemResponse{} },
	{Space: NSMessages, Local: "GetItemResponse"}:                 func() any { return &GetItemResponse{} },
	{Space: NSMessages, Local: "SyncFolderItemsResponse"}:         func() any { return &SyncFolderItemsResponse{} },
	{Space: NSMessages, Local: "CreateItemResponse"}:              func() any { return &CreateItemResponse{} },
	{Space: NSMessages, Local: "UpdateItemResponse"}:              func() any { return &UpdateItemResponse{} },
	{Space: NSMessages, Local: "DeleteItemResponse"}:              func() any { return &DeleteItemResponse{} },
	{Space: NSMessages, Local: "SubscribeResponse"}:               func() any { return &SubscribeResponse{} },
	{Space: NSMessages, Local: "GetEventsResponse"}:               func() any { return &GetEventsResponse{} },
	{Space: NSMessages, Local: "GetStreamingEventsResponse"}:      func() any { return &GetStreamingEventsResponse{} },
	{Space: NSMessages, Local: "UnsubscribeResponse"}:             func() any { return &UnsubscribeResponse{} },
	{Space: NSMessages, Local: "GetUserAvailabilityResponse"}:     func() any { return &GetUserAvailabilityResponse{} },
	{Space: NSMessages, Local: "GetUserOofSettingsResponse"}:      func() any { return &GetUserOofSettingsResponse{} },
	{Space: NSMessages, Local: "GetMailTipsResponse"}:             func() any { return &GetMailTipsResponse{} },
	{Space: NSMessages, Local: "GetServiceConfigurationResponse"}: func() any { return &GetServiceConfigurationResponse{} },
	{Space: NSMessages, Local: "GetUserConfigurationResponse"}:    func() any { return &GetUserConfigurationResponse{} },
	{Space: NSMessages, Local: "ConvertIdResponse"}:               func() any { return &ConvertIdResponse{} },
	{Space: NSAutodiscover, Local: "GetUserSettingsResponseMessage"}: func() any {
		return &GetUserSettingsResponseMessage{}
	},
}

// NewMessage returns an empty wire struct for any request or response body
// element the codec knows, or nil.
func NewMessage(name xml.Name) any {
	if f, ok := responseTypes[name]; ok {
		return f()
	}
	return NewRequest(name)
}
