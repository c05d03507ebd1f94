package ewswire

import (
	"encoding/xml"
	"strings"
)

// AutodiscoverActionGetUserSettings is the WS-Addressing Action of a SOAP
// Autodiscover GetUserSettings request.
const AutodiscoverActionGetUserSettings = "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings"

// GetUserSettingsRequestMessage is the SOAP Autodiscover request
// ([MS-OXWSADISC] GetUserSettingsRequestMessage).
type GetUserSettingsRequestMessage struct {
	XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover GetUserSettingsRequestMessage"`
	Request struct {
		Users struct {
			User []struct {
				Mailbox string `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover Mailbox"`
			} `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover User"`
		} `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover Users"`
		RequestedSettings struct {
			Setting []string `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover Setting"`
		} `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover RequestedSettings"`
	} `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover Request"`
}

// AddUser appends a mailbox to the request.
func (m *GetUserSettingsRequestMessage) AddUser(mailbox string) {
	m.Request.Users.User = append(m.Request.Users.User, struct {
		Mailbox string `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover Mailbox"`
	}{mailbox})
}

// Mailboxes lists the requested mailboxes.
func (m *GetUserSettingsRequestMessage) Mailboxes() []string {
	out := make([]string, 0, len(m.Request.Users.User))
	for _, u := range m.Request.Users.User {
		out = append(out, strings.TrimSpace(u.Mailbox))
	}
	return out
}

// GetUserSettingsResponseMessage is the SOAP Autodiscover response.
type GetUserSettingsResponseMessage struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover GetUserSettingsResponseMessage"`
	Response struct {
		ErrorCode     string `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover ErrorCode"`
		ErrorMessage  string `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover ErrorMessage"`
		UserResponses struct {
			UserResponse []UserResponse `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover UserResponse"`
		} `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover UserResponses"`
	} `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover Response"`
}

// UserResponse is one user's Autodiscover answer.
type UserResponse struct {
	ErrorCode         string `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover ErrorCode"`
	ErrorMessage      string `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover ErrorMessage"`
	RedirectTarget    string `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover RedirectTarget,omitempty"`
	UserSettingErrors struct {
		UserSettingError []UserSettingError `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover UserSettingError"`
	} `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover UserSettingErrors"`
	UserSettings struct {
		UserSetting []UserSetting `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover UserSetting"`
	} `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover UserSettings"`
}

// UserSettingError names a setting the server could not return.
type UserSettingError struct {
	ErrorCode    string `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover ErrorCode"`
	ErrorMessage string `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover ErrorMessage"`
	SettingName  string `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover SettingName"`
}

// UserSetting is a name/value setting (written as i:type="StringSetting";
// other setting types are read by Name and Value only).
type UserSetting struct {
	Type  string `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr,omitempty"`
	Name  string `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover Name"`
	Value string `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover Value"`
}

// Settings returns the user's settings by name.
func (u *UserResponse) Settings() map[string]string {
	out := make(map[string]string, len(u.UserSettings.UserSetting))
	for _, s := range u.UserSettings.UserSetting {
		out[strings.TrimSpace(s.Name)] = strings.TrimSpace(s.Value)
	}
	return out
}

// SetSettings replaces the user's settings (sorted by name) as
// StringSetting values.
func (u *UserResponse) SetSettings(values map[string]string, names []string) {
	u.UserSettings.UserSetting = nil
	for _, n := range names {
		if v, ok := values[n]; ok {
			u.UserSettings.UserSetting = append(u.UserSettings.UserSetting, UserSetting{Type: "StringSetting", Name: n, Value: v})
		}
	}
}
