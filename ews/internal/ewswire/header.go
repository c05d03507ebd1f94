package ewswire

import (
	"encoding/xml"
	"fmt"

	"github.com/calsync/calsync/ews"
)

// Header holds the SOAP headers EWS defines. Nil fields are absent.
type Header struct {
	RequestServerVersion *RequestServerVersion
	Impersonation        *ExchangeImpersonation
	TimeZoneContext      *TimeZoneContext
	ServerVersionInfo    *ServerVersionInfo
	// Autodiscover (SOAP) headers.
	AutodiscoverVersion *AutodiscoverRequestedServerVersion
	Action              *AddressingHeader
	To                  *AddressingHeader
	// Unknown lists header elements the codec skipped.
	Unknown []xml.Name
}

// RequestServerVersion is t:RequestServerVersion ([MS-OXWSCDATA]
// RequestServerVersion element).
type RequestServerVersion struct {
	XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/types RequestServerVersion"`
	Version string   `xml:"Version,attr"`
}

// ExchangeImpersonation is t:ExchangeImpersonationType.
type ExchangeImpersonation struct {
	XMLName       xml.Name      `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExchangeImpersonation"`
	ConnectingSID ConnectingSID `xml:"http://schemas.microsoft.com/exchange/services/2006/types ConnectingSID"`
}

// ConnectingSID is t:ConnectingSIDType: exactly one of four identifiers.
type ConnectingSID struct {
	PrincipalName      string `xml:"http://schemas.microsoft.com/exchange/services/2006/types PrincipalName,omitempty"`
	SID                string `xml:"http://schemas.microsoft.com/exchange/services/2006/types SID,omitempty"`
	PrimarySmtpAddress string `xml:"http://schemas.microsoft.com/exchange/services/2006/types PrimarySmtpAddress,omitempty"`
	SmtpAddress        string `xml:"http://schemas.microsoft.com/exchange/services/2006/types SmtpAddress,omitempty"`
}

// ImpersonationFrom converts an ews.ConnectingSID after validating it.
func ImpersonationFrom(c ews.ConnectingSID) (*ExchangeImpersonation, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var w ConnectingSID
	switch c.Kind {
	case ews.SIDPrincipalName:
		w.PrincipalName = c.Value
	case ews.SIDSecurityID:
		w.SID = c.Value
	case ews.SIDPrimarySmtpAddress:
		w.PrimarySmtpAddress = c.Value
	case ews.SIDSmtpAddress:
		w.SmtpAddress = c.Value
	}
	return &ExchangeImpersonation{ConnectingSID: w}, nil
}

// ToEWS converts the header, requiring exactly one non-empty identifier
// (else the server answers ErrorInvalidExchangeImpersonationHeaderData).
func (x *ExchangeImpersonation) ToEWS() (ews.ConnectingSID, error) {
	var out ews.ConnectingSID
	n := 0
	set := func(k ews.ConnectingSIDKind, v string) {
		if v != "" {
			n++
			out = ews.ConnectingSID{Kind: k, Value: v}
		}
	}
	c := x.ConnectingSID
	set(ews.SIDPrincipalName, c.PrincipalName)
	set(ews.SIDSecurityID, c.SID)
	set(ews.SIDPrimarySmtpAddress, c.PrimarySmtpAddress)
	set(ews.SIDSmtpAddress, c.SmtpAddress)
	if n != 1 {
		return ews.ConnectingSID{}, fmt.Errorf("ewswire: ConnectingSID must hold exactly one identifier, has %d", n)
	}
	return out, nil
}

// TimeZoneContext is t:TimeZoneContextType.
type TimeZoneContext struct {
	XMLName    xml.Name           `xml:"http://schemas.microsoft.com/exchange/services/2006/types TimeZoneContext"`
	Definition TimeZoneDefinition `xml:"http://schemas.microsoft.com/exchange/services/2006/types TimeZoneDefinition"`
}

// TimeZoneDefinition is t:TimeZoneDefinitionType in its short form (the
// Windows zone Id; periods and transitions are kept raw on decode).
type TimeZoneDefinition struct {
	Id    string   `xml:"Id,attr,omitempty"`
	Name  string   `xml:"Name,attr,omitempty"`
	Extra []RawXML `xml:",any"`
}

// ServerVersionInfo is the t:ServerVersionInfo response header.
type ServerVersionInfo struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/types ServerVersionInfo"`
	MajorVersion     int      `xml:"MajorVersion,attr"`
	MinorVersion     int      `xml:"MinorVersion,attr"`
	MajorBuildNumber int      `xml:"MajorBuildNumber,attr"`
	MinorBuildNumber int      `xml:"MinorBuildNumber,attr"`
	Version          string   `xml:"Version,attr,omitempty"`
}

// ToEWS converts the header.
func (s *ServerVersionInfo) ToEWS() ews.ServerVersionInfo {
	return ews.ServerVersionInfo{MajorVersion: s.MajorVersion, MinorVersion: s.MinorVersion, MajorBuildNumber: s.MajorBuildNumber, MinorBuildNumber: s.MinorBuildNumber, Version: s.Version}
}

// ServerVersionInfoFrom converts to the wire header.
func ServerVersionInfoFrom(v ews.ServerVersionInfo) *ServerVersionInfo {
	return &ServerVersionInfo{MajorVersion: v.MajorVersion, MinorVersion: v.MinorVersion, MajorBuildNumber: v.MajorBuildNumber, MinorBuildNumber: v.MinorBuildNumber, Version: v.Version}
}

// AutodiscoverRequestedServerVersion is a:RequestedServerVersion of SOAP
// Autodiscover.
type AutodiscoverRequestedServerVersion struct {
	XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover RequestedServerVersion"`
	Value   string   `xml:",chardata"`
}

// AddressingHeader is a WS-Addressing header (wsa:Action, wsa:To).
type AddressingHeader struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// headerFields lists the known header elements in the order they are
// written, with decode targets.
func (h *Header) decodeTarget(name xml.Name) (target any, seen *bool) {
	switch name {
	case xml.Name{Space: NSTypes, Local: "RequestServerVersion"}:
		if h.RequestServerVersion == nil {
			h.RequestServerVersion = &RequestServerVersion{}
			return h.RequestServerVersion, nil
		}
	case xml.Name{Space: NSTypes, Local: "ExchangeImpersonation"}:
		if h.Impersonation == nil {
			h.Impersonation = &ExchangeImpersonation{}
			return h.Impersonation, nil
		}
	case xml.Name{Space: NSTypes, Local: "TimeZoneContext"}:
		if h.TimeZoneContext == nil {
			h.TimeZoneContext = &TimeZoneContext{}
			return h.TimeZoneContext, nil
		}
	case xml.Name{Space: NSTypes, Local: "ServerVersionInfo"}:
		if h.ServerVersionInfo == nil {
			h.ServerVersionInfo = &ServerVersionInfo{}
			return h.ServerVersionInfo, nil
		}
	case xml.Name{Space: NSAutodiscover, Local: "RequestedServerVersion"}:
		if h.AutodiscoverVersion == nil {
			h.AutodiscoverVersion = &AutodiscoverRequestedServerVersion{}
			return h.AutodiscoverVersion, nil
		}
	case xml.Name{Space: NSAddressing, Local: "Action"}:
		if h.Action == nil {
			h.Action = &AddressingHeader{}
			return h.Action, nil
		}
	case xml.Name{Space: NSAddressing, Local: "To"}:
		if h.To == nil {
			h.To = &AddressingHeader{}
			return h.To, nil
		}
	default:
		return nil, nil
	}
	dup := true
	return nil, &dup
}

// encodeHeaders writes the non-nil headers.
func (h *Header) encode(e *xml.Encoder) error {
	for _, v := range []any{h.AutodiscoverVersion, h.Action, h.To, h.RequestServerVersion, h.Impersonation, h.TimeZoneContext, h.ServerVersionInfo} {
		switch x := v.(type) {
		case *AutodiscoverRequestedServerVersion:
			if x == nil {
				continue
			}
		case *AddressingHeader:
			if x == nil {
				continue
			}
		case *RequestServerVersion:
			if x == nil {
				continue
			}
		case *ExchangeImpersonation:
			if x == nil {
				continue
			}
		case *TimeZoneContext:
			if x == nil {
				continue
			}
		case *ServerVersionInfo:
			if x == nil {
				continue
			}
		}
		if err := e.Encode(v); err != nil {
			return err
		}
	}
	return nil
}

// IsEmpty reports whether no header is set.
func (h *Header) IsEmpty() bool {
	return h == nil || h.RequestServerVersion == nil && h.Impersonation == nil && h.TimeZoneContext == nil &&
		h.ServerVersionInfo == nil && h.AutodiscoverVersion == nil && h.Action == nil && h.To == nil
}
