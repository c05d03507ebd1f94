package ewswire

import (
	"encoding/xml"
	"fmt"

	"github.com/calsync/calsync/ews"
)

// Subscribe is m:SubscribeType ([MS-OXWSNTIF] Subscribe): exactly one of the
// three requests is set.
type Subscribe struct {
	XMLName   xml.Name                      `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Subscribe"`
	Pull      *PullSubscriptionRequest      `xml:"http://schemas.microsoft.com/exchange/services/2006/messages PullSubscriptionRequest,omitempty"`
	Push      *PushSubscriptionRequest      `xml:"http://schemas.microsoft.com/exchange/services/2006/messages PushSubscriptionRequest,omitempty"`
	Streaming *StreamingSubscriptionRequest `xml:"http://schemas.microsoft.com/exchange/services/2006/messages StreamingSubscriptionRequest,omitempty"`
}

// EventTypes is t:NonEmptyArrayOfNotificationEventTypesType.
type EventTypes struct {
	EventType []string `xml:"http://schemas.microsoft.com/exchange/services/2006/types EventType"`
}

// PullSubscriptionRequest is t:PullSubscriptionRequestType.
type PullSubscriptionRequest struct {
	SubscribeToAllFolders *bool      `xml:"SubscribeToAllFolders,attr,omitempty"`
	FolderIds             *FolderIds `xml:"http://schemas.microsoft.com/exchange/services/2006/types FolderIds,omitempty"`
	EventTypes            EventTypes `xml:"http://schemas.microsoft.com/exchange/services/2006/types EventTypes"`
	Watermark             string     `xml:"http://schemas.microsoft.com/exchange/services/2006/types Watermark,omitempty"`
	Timeout               int        `xml:"http://schemas.microsoft.com/exchange/services/2006/types Timeout"`
}

// PushSubscriptionRequest is t:PushSubscriptionRequestType.
type PushSubscriptionRequest struct {
	SubscribeToAllFolders *bool      `xml:"SubscribeToAllFolders,attr,omitempty"`
	FolderIds             *FolderIds `xml:"http://schemas.microsoft.com/exchange/services/2006/types FolderIds,omitempty"`
	EventTypes            EventTypes `xml:"http://schemas.microsoft.com/exchange/services/2006/types EventTypes"`
	Watermark             string     `xml:"http://schemas.microsoft.com/exchange/services/2006/types Watermark,omitempty"`
	StatusFrequency       int        `xml:"http://schemas.microsoft.com/exchange/services/2006/types StatusFrequency"`
	URL                   string     `xml:"http://schemas.microsoft.com/exchange/services/2006/types URL"`
}

// StreamingSubscriptionRequest is t:StreamingSubscriptionRequestType.
type StreamingSubscriptionRequest struct {
	SubscribeToAllFolders *bool      `xml:"SubscribeToAllFolders,attr,omitempty"`
	FolderIds             *FolderIds `xml:"http://schemas.microsoft.com/exchange/services/2006/types FolderIds,omitempty"`
	EventTypes            EventTypes `xml:"http://schemas.microsoft.com/exchange/services/2006/types EventTypes"`
}

// SubscribeResponse is m:SubscribeResponseType.
type SubscribeResponse struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SubscribeResponse"`
	ResponseMessages struct {
		Messages []SubscribeResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SubscribeResponseMessage"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
}

// SubscribeResponseMessage is m:SubscribeResponseMessageType.
type SubscribeResponseMessage struct {
	ResponseMessage
	SubscriptionId string `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SubscriptionId,omitempty"`
	Watermark      string `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Watermark,omitempty"`
}

// GetEvents is m:GetEventsType.
type GetEvents struct {
	XMLName        xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetEvents"`
	SubscriptionId string   `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SubscriptionId"`
	Watermark      string   `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Watermark"`
}

// GetEventsResponse is m:GetEventsResponseType.
type GetEventsResponse struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetEventsResponse"`
	ResponseMessages struct {
		Messages []GetEventsResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetEventsResponseMessage"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
}

// GetEventsResponseMessage is m:GetEventsResponseMessageType.
type GetEventsResponseMessage struct {
	ResponseMessage
	Notification *Notification `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Notification,omitempty"`
}

// GetStreamingEvents is m:GetStreamingEventsType.
type GetStreamingEvents struct {
	XMLName         xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetStreamingEvents"`
	SubscriptionIds struct {
		SubscriptionId []string `xml:"http://schemas.microsoft.com/exchange/services/2006/types SubscriptionId"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SubscriptionIds"`
	ConnectionTimeout int `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ConnectionTimeout"`
}

// GetStreamingEventsResponse is m:GetStreamingEventsResponseType, one per
// envelope of the chunked response.
type GetStreamingEventsResponse struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetStreamingEventsResponse"`
	ResponseMessages struct {
		Messages []GetStreamingEventsResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetStreamingEventsResponseMessage"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
}

// GetStreamingEventsResponseMessage is
// m:GetStreamingEventsResponseMessageType.
//
// Namespace decision: the schema puts t:Notification inside m:Notifications
// and t:SubscriptionId inside m:ErrorSubscriptionIds, but Exchange (and
// Microsoft's samples and Managed API) use m:Notification and
// m:SubscriptionId there. The decoder accepts both namespaces; the encoder
// writes the schema's t: form unless MessagesNamespace is set, which
// StreamWriter does by default.
type GetStreamingEventsResponseMessage struct {
	ResponseMessage
	Notifications        *StreamingNotifications `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Notifications,omitempty"`
	ErrorSubscriptionIds *SubscriptionIdList     `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ErrorSubscriptionIds,omitempty"`
	ConnectionStatus     string                  `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ConnectionStatus,omitempty"`
}

// StreamingNotifications is m:NonEmptyArrayOfNotificationsType.
type StreamingNotifications struct {
	Notification  []Notification `xml:"http://schemas.microsoft.com/exchange/services/2006/types Notification"`
	MNotification []Notification `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Notification"`
	// MessagesNamespace encodes m:Notification (set by StreamWriter).
	MessagesNamespace bool `xml:"-"`
}

// All returns the notifications of both namespaces.
func (s *StreamingNotifications) All() []Notification {
	if s == nil {
		return nil
	}
	if len(s.MNotification) == 0 {
		return s.Notification
	}
	return append(append([]Notification(nil), s.Notification...), s.MNotification...)
}

// MarshalXML writes every notification as t:Notification (schema form), or
// as m:Notification (Exchange's form) with MessagesNamespace.
func (s StreamingNotifications) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	ns := NSTypes
	if s.MessagesNamespace {
		ns = NSMessages
	}
	for _, n := range s.All() {
		if err := e.EncodeElement(n, xml.StartElement{Name: xml.Name{Space: ns, Local: "Notification"}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// SubscriptionIdList is m:NonEmptyArrayOfSubscriptionIdsType, accepting
// t:SubscriptionId and m:SubscriptionId.
type SubscriptionIdList struct {
	SubscriptionId  []string `xml:"http://schemas.microsoft.com/exchange/services/2006/types SubscriptionId"`
	MSubscriptionId []string `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SubscriptionId"`
	// MessagesNamespace encodes m:SubscriptionId (set by StreamWriter).
	MessagesNamespace bool `xml:"-"`
}

// All returns the ids of both namespaces.
func (s *SubscriptionIdList) All() []string {
	if s == nil {
		return nil
	}
	return append(append([]string(nil), s.SubscriptionId...), s.MSubscriptionId...)
}

// MarshalXML writes every id as t:SubscriptionId (schema form), or as
// m:SubscriptionId (Exchange's form) with MessagesNamespace.
func (s SubscriptionIdList) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	ns := NSTypes
	if s.MessagesNamespace {
		ns = NSMessages
	}
	for _, id := range s.All() {
		if err := e.EncodeElement(id, xml.StartElement{Name: xml.Name{Space: ns, Local: "SubscriptionId"}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// Unsubscribe is m:UnsubscribeType.
type Unsubscribe struct {
	XMLName        xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Unsubscribe"`
	SubscriptionId string   `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SubscriptionId"`
}

// UnsubscribeResponse is m:UnsubscribeResponseType.
type UnsubscribeResponse struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages UnsubscribeResponse"`
	ResponseMessages struct {
		Messages []ResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages UnsubscribeResponseMessage"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
}

// SendNotification is m:SendNotificationResponseType, the push
// notification Exchange POSTs to a listener.
type SendNotification struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SendNotification"`
	ResponseMessages struct {
		Messages []SendNotificationResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SendNotificationResponseMessage"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
}

// SendNotificationResponseMessage is m:SendNotificationResponseMessageType.
type SendNotificationResponseMessage struct {
	ResponseMessage
	Notification *Notification `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Notification,omitempty"`
}

// SendNotificationResult is m:SendNotificationResultType, the listener's
// answer.
type SendNotificationResult struct {
	XMLName            xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SendNotificationResult"`
	SubscriptionStatus string   `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SubscriptionStatus"`
}

// Notification is t:NotificationType with its events in order.
type Notification struct {
	SubscriptionId    string
	PreviousWatermark string
	MoreEvents        *bool
	Events            []Event
}

// Event is one event element; Type is its local name ("CreatedEvent", …).
type Event struct {
	Type              string    `xml:"-"`
	Watermark         string    `xml:"http://schemas.microsoft.com/exchange/services/2006/types Watermark,omitempty"`
	TimeStamp         *DateTime `xml:"http://schemas.microsoft.com/exchange/services/2006/types TimeStamp,omitempty"`
	FolderId          *FolderId `xml:"http://schemas.microsoft.com/exchange/services/2006/types FolderId,omitempty"`
	ItemId            *ItemId   `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemId,omitempty"`
	ParentFolderId    *FolderId `xml:"http://schemas.microsoft.com/exchange/services/2006/types ParentFolderId,omitempty"`
	OldFolderId       *FolderId `xml:"http://schemas.microsoft.com/exchange/services/2006/types OldFolderId,omitempty"`
	OldItemId         *ItemId   `xml:"http://schemas.microsoft.com/exchange/services/2006/types OldItemId,omitempty"`
	OldParentFolderId *FolderId `xml:"http://schemas.microsoft.com/exchange/services/2006/types OldParentFolderId,omitempty"`
	UnreadCount       *int      `xml:"http://schemas.microsoft.com/exchange/services/2006/types UnreadCount,omitempty"`
}

// maxEventsPerNotification bounds what one notification may carry
// (Exchange sends at most 100 per streaming notification, 50 per GetEvents).
const maxEventsPerNotification = 10000

// UnmarshalXML reads the subscription fields and the events in order; the
// children are accepted in either EWS namespace.
func (n *Notification) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "SubscriptionId":
				err = d.DecodeElement(&n.SubscriptionId, &t)
			case "PreviousWatermark":
				err = d.DecodeElement(&n.PreviousWatermark, &t)
			case "MoreEvents":
				var b bool
				err = d.DecodeElement(&b, &t)
				n.MoreEvents = &b
			default:
				if !ews.EventType(t.Name.Local).Valid() {
					err = d.Skip()
					break
				}
				if len(n.Events) >= maxEventsPerNotification {
					return fmt.Errorf("ewswire: notification carries more than %d events", maxEventsPerNotification)
				}
				ev := Event{Type: t.Name.Local}
				err = d.DecodeElement(&ev, &t)
				n.Events = append(n.Events, ev)
			}
			if err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// MarshalXML writes t: children in schema order.
func (n Notification) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	el := func(local string) xml.StartElement {
		return xml.StartElement{Name: xml.Name{Space: NSTypes, Local: local}}
	}
	if err := e.EncodeElement(n.SubscriptionId, el("SubscriptionId")); err != nil {
		return err
	}
	if n.PreviousWatermark != "" {
		if err := e.EncodeElement(n.PreviousWatermark, el("PreviousWatermark")); err != nil {
			return err
		}
	}
	if n.MoreEvents != nil {
		if err := e.EncodeElement(*n.MoreEvents, el("MoreEvents")); err != nil {
			return err
		}
	}
	for _, ev := range n.Events {
		if err := e.EncodeElement(ev, el(ev.Type)); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// ToEWS converts and checks the notification: known event types, object
// events with exactly one object id.
func (n *Notification) ToEWS() (ews.Notification, error) {
	out := ews.Notification{SubscriptionId: n.SubscriptionId, PreviousWatermark: n.PreviousWatermark, MoreEvents: boolOf(n.MoreEvents)}
	if n.SubscriptionId == "" {
		return out, fmt.Errorf("ewswire: notification without SubscriptionId")
	}
	for i, w := range n.Events {
		ev := ews.Event{Type: ews.EventType(w.Type), Watermark: w.Watermark, TimeStamp: timeOf(w.TimeStamp), UnreadCount: -1}
		if w.UnreadCount != nil {
			ev.UnreadCount = *w.UnreadCount
		}
		if ev.Type != ews.EventStatus {
			if (w.ItemId == nil) == (w.FolderId == nil) {
				return out, fmt.Errorf("ewswire: notification event %d (%s) must name exactly one item or folder", i, w.Type)
			}
		}
		if w.ItemId != nil {
			id := w.ItemId.ToEWS()
			ev.ItemId = &id
		}
		if w.FolderId != nil {
			id := w.FolderId.ToEWS()
			ev.FolderId = &id
		}
		if w.ParentFolderId != nil {
			id := w.ParentFolderId.ToEWS()
			ev.ParentFolderId = &id
		}
		if w.OldItemId != nil {
			id := w.OldItemId.ToEWS()
			ev.OldItemId = &id
		}
		if w.OldFolderId != nil {
			id := w.OldFolderId.ToEWS()
			ev.OldFolderId = &id
		}
		if w.OldParentFolderId != nil {
			id := w.OldParentFolderId.ToEWS()
			ev.OldParentFolderId = &id
		}
		out.Events = append(out.Events, ev)
	}
	return out, nil
}

// NotificationFrom converts an ews notification for a server response.
func NotificationFrom(n ews.Notification) *Notification {
	w := &Notification{SubscriptionId: n.SubscriptionId, PreviousWatermark: n.PreviousWatermark}
	if n.MoreEvents {
		w.MoreEvents = boolPtr(true)
	} else if n.PreviousWatermark != "" {
		w.MoreEvents = boolPtr(false)
	}
	for _, ev := range n.Events {
		x := Event{Type: string(ev.Type), Watermark: ev.Watermark}
		if ev.Type != ews.EventStatus {
			x.TimeStamp = NewDateTime(ev.TimeStamp)
			if x.TimeStamp == nil {
				x.TimeStamp = &DateTime{}
			}
		}
		if ev.ItemId != nil {
			x.ItemId = ItemIdFrom(*ev.ItemId)
		}
		if ev.FolderId != nil {
			x.FolderId = FolderIdFrom(*ev.FolderId)
		}
		if ev.ParentFolderId != nil {
			x.ParentFolderId = FolderIdFrom(*ev.ParentFolderId)
		}
		if ev.OldItemId != nil {
			x.OldItemId = ItemIdFrom(*ev.OldItemId)
		}
		if ev.OldFolderId != nil {
			x.OldFolderId = FolderIdFrom(*ev.OldFolderId)
		}
		if ev.OldParentFolderId != nil {
			x.OldParentFolderId = FolderIdFrom(*ev.OldParentFolderId)
		}
		if ev.UnreadCount >= 0 && ev.Type == ews.EventModified && ev.FolderId != nil {
			x.UnreadCount = intPtr(ev.UnreadCount)
		}
		w.Events = append(w.Events, x)
	}
	return w
}
