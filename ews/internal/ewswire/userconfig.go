package ewswire

import (
	"encoding/xml"
	"strings"
)

// GetUserConfiguration is m:GetUserConfigurationType.
type GetUserConfiguration struct {
	XMLName                     xml.Name              `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetUserConfiguration"`
	UserConfigurationName       UserConfigurationName `xml:"http://schemas.microsoft.com/exchange/services/2006/messages UserConfigurationName"`
	UserConfigurationProperties string                `xml:"http://schemas.microsoft.com/exchange/services/2006/messages UserConfigurationProperties"`
}

// UserConfigurationName is t:UserConfigurationNameType: a name in a folder
// (calsync only names distinguished folders such as "root").
type UserConfigurationName struct {
	Name                  string                 `xml:"Name,attr"`
	DistinguishedFolderID *DistinguishedFolderID `xml:"http://schemas.microsoft.com/exchange/services/2006/types DistinguishedFolderId,omitempty"`
}

// DistinguishedFolderID is t:DistinguishedFolderIdType without a mailbox
// (the impersonation header names it).
type DistinguishedFolderID struct {
	ID string `xml:"Id,attr"`
}

// GetUserConfigurationResponse is m:GetUserConfigurationResponseType.
type GetUserConfigurationResponse struct {
	XMLName          xml.Name `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetUserConfigurationResponse"`
	ResponseMessages struct {
		Messages []GetUserConfigurationResponseMessage `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetUserConfigurationResponseMessage"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages"`
}

// GetUserConfigurationResponseMessage is m:GetUserConfigurationResponseMessageType.
type GetUserConfigurationResponseMessage struct {
	ResponseMessage
	UserConfiguration *UserConfiguration `xml:"http://schemas.microsoft.com/exchange/services/2006/messages UserConfiguration,omitempty"`
}

// UserConfiguration is t:UserConfigurationType (name and dictionary).
type UserConfiguration struct {
	UserConfigurationName UserConfigurationName `xml:"http://schemas.microsoft.com/exchange/services/2006/types UserConfigurationName"`
	Dictionary            *struct {
		Entries []DictionaryEntry `xml:"http://schemas.microsoft.com/exchange/services/2006/types DictionaryEntry"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Dictionary,omitempty"`
}

// DictionaryEntry is t:UserConfigurationDictionaryEntryType.
type DictionaryEntry struct {
	Key   DictionaryObject  `xml:"http://schemas.microsoft.com/exchange/services/2006/types DictionaryKey"`
	Value *DictionaryObject `xml:"http://schemas.microsoft.com/exchange/services/2006/types DictionaryValue"`
}

// DictionaryObject is t:UserConfigurationDictionaryObjectType.
type DictionaryObject struct {
	Type  string   `xml:"http://schemas.microsoft.com/exchange/services/2006/types Type"`
	Value []string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Value"`
}

// StringEntries returns the dictionary's entries with a string key and a
// single string value (keys as stored; values trimmed).
func (u *UserConfiguration) StringEntries() map[string]string {
	out := map[string]string{}
	if u == nil || u.Dictionary == nil {
		return out
	}
	for _, e := range u.Dictionary.Entries {
		if e.Key.Type != "String" || len(e.Key.Value) != 1 || e.Value == nil || e.Value.Type != "String" || len(e.Value.Value) != 1 {
			continue
		}
		out[e.Key.Value[0]] = strings.TrimSpace(e.Value.Value[0])
	}
	return out
}

// UserConfigurationFrom builds a configuration with string entries for a
// server, in the order given.
func UserConfigurationFrom(name, folder string, keys, values []string) *UserConfiguration {
	u := &UserConfiguration{UserConfigurationName: UserConfigurationName{Name: name, DistinguishedFolderID: &DistinguishedFolderID{ID: folder}}}
	u.Dictionary = &struct {
		Entries []DictionaryEntry `xml:"http://schemas.microsoft.com/exchange/services/2006/types DictionaryEntry"`
	}{}
	for i, k := range keys {
		u.Dictionary.Entries = append(u.Dictionary.Entries, DictionaryEntry{Key: DictionaryObject{Type: "String", Value: []string{k}},
			Value: &DictionaryObject{Type: "String", Value: []string{values[i]}}})
	}
	return u
}
