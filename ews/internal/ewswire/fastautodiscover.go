package ewswire

import "encoding/xml"

// decodeUserSettingsFast decodes a SOAP Autodiscover GetUserSettings
// answer with the token scanner into the envelope DecodeEnvelope(…,
// Expect(resp)) gives, filling resp only when it succeeds. Every error
// means "decode the body with DecodeEnvelope" (see DecodeFindItemCalendar).
// A cold start asks Autodiscover for every mailbox, 90 to an answer, and
// with encoding/xml these answers were an eighth of the objects a load
// allocated.
func decodeUserSettingsFast(data []byte, lim Limits, resp *GetUserSettingsResponseMessage) (*Envelope, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, ErrTooLarge
	}
	var h Header
	d := &fastDecoder{s: fastScanner{data: data, maxDepth: lim.MaxDepth}, headers: &h}
	defer d.release()
	d.s.init()
	name := xml.Name{Space: NSAutodiscover, Local: "GetUserSettingsResponseMessage"}
	out := GetUserSettingsResponseMessage{XMLName: name}
	err := d.envelopeIn(nsAutodiscover, name.Local, func() error {
		return d.autodiscoverFields(autodiscoverMessageFields, func(int) error { return d.userSettingsResponse(&out) })
	})
	if err != nil {
		return nil, err
	}
	h.ServerVersionInfo = d.serverVersion
	*resp = out
	return &Envelope{SOAP12: d.soap12, Header: h, BodyName: name, Body: resp}, nil
}

// The elements of the Autodiscover answer calsync reads, in the order of
// the indexes fields hands out.
var (
	autodiscoverMessageFields  = []string{"Response"}
	autodiscoverResponseFields = []string{"ErrorCode", "ErrorMessage", "UserResponses"}
	userResponseFields         = []string{"ErrorCode", "ErrorMessage", "RedirectTarget", "UserSettingErrors", "UserSettings"}
	userSettingErrorFields     = []string{"ErrorCode", "ErrorMessage", "SettingName"}
	userSettingFields          = []string{"Name", "Value"}
)

// autodiscoverFields is fields in the Autodiscover namespace.
func (d *fastDecoder) autodiscoverFields(names []string, read func(i int) error) error {
	return d.fields(nsAutodiscover, names, read)
}

// userSettingsResponse reads the Response element.
func (d *fastDecoder) userSettingsResponse(out *GetUserSettingsResponseMessage) error {
	r := &out.Response
	return d.autodiscoverFields(autodiscoverResponseFields, func(i int) error {
		var err error
		switch i {
		case 0:
			r.ErrorCode, err = d.internText()
		case 1:
			r.ErrorMessage, err = d.internText()
		default:
			err = d.list(nsAutodiscover, "UserResponse", func() error {
				r.UserResponses.UserResponse = append(r.UserResponses.UserResponse, UserResponse{})
				return d.userResponse(&r.UserResponses.UserResponse[len(r.UserResponses.UserResponse)-1])
			})
		}
		return err
	})
}

// userResponse reads one UserResponse. Codes, messages, setting names and
// most values (server URLs, versions, grouping) repeat from user to user,
// so they are interned.
func (d *fastDecoder) userResponse(u *UserResponse) error {
	return d.autodiscoverFields(userResponseFields, func(i int) error {
		var err error
		switch i {
		case 0:
			u.ErrorCode, err = d.internText()
		case 1:
			u.ErrorMessage, err = d.internText()
		case 2:
			u.RedirectTarget, err = d.str()
		case 3:
			err = d.list(nsAutodiscover, "UserSettingError", func() error {
				var e UserSettingError
				err := d.autodiscoverFields(userSettingErrorFields, func(i int) (err error) {
					dst := [...]*string{&e.ErrorCode, &e.ErrorMessage, &e.SettingName}[i]
					*dst, err = d.internText()
					return err
				})
				u.UserSettingErrors.UserSettingError = append(u.UserSettingErrors.UserSettingError, e)
				return err
			})
		default:
			err = d.list(nsAutodiscover, "UserSetting", func() error {
				var v UserSetting
				if b, ok := d.s.attrNS(nsXSI, "type"); ok {
					v.Type = d.intern(b)
				}
				err := d.autodiscoverFields(userSettingFields, func(i int) (err error) {
					if i == 0 {
						v.Name, err = d.internText()
					} else {
						v.Value, err = d.internText()
					}
					return err
				})
				u.UserSettings.UserSetting = append(u.UserSettings.UserSetting, v)
				return err
			})
		}
		return err
	})
}

// anyHeader reads one header element as readHeader does: the known ones
// into d.headers, a duplicate or a request's header left to encoding/xml,
// others named in Unknown (when their namespace has a name here) and
// skipped.
func (d *fastDecoder) anyHeader() error {
	s, h := &d.s, d.headers
	var dst **AddressingHeader
	switch {
	case s.space == nsTypes && string(s.local) == "ServerVersionInfo":
		return d.header()
	case s.space == nsTypes && (string(s.local) == "RequestServerVersion" || string(s.local) == "ExchangeImpersonation" || string(s.local) == "TimeZoneContext"):
		return errNotFast
	case s.space == nsAutodiscover && string(s.local) == "RequestedServerVersion":
		if h.AutodiscoverVersion != nil {
			return errNotFast
		}
		h.AutodiscoverVersion = &AutodiscoverRequestedServerVersion{XMLName: xml.Name{Space: NSAutodiscover, Local: "RequestedServerVersion"}}
		v, err := d.str()
		h.AutodiscoverVersion.Value = v
		return err
	case s.space == nsAddressing && string(s.local) == "Action":
		dst = &h.Action
	case s.space == nsAddressing && string(s.local) == "To":
		dst = &h.To
	case s.space == nsOther:
		return errNotFast
	default:
		if len(h.Unknown) < maxUnknownHeaders {
			h.Unknown = append(h.Unknown, xml.Name{Space: nsURIs[s.space], Local: string(s.local)})
		}
		return s.skip()
	}
	if *dst != nil {
		return errNotFast
	}
	a := &AddressingHeader{XMLName: xml.Name{Space: NSAddressing, Local: string(s.local)}}
	v, err := d.str()
	a.Value = v
	*dst = a
	return err
}
