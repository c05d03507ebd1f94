package ewswire

// DecodeSubscribeFast exposes the Subscribe token decoder to the
// equivalence tests of package ewswire_test.
func DecodeSubscribeFast(data []byte, lim Limits) (*Envelope, error) {
	var resp SubscribeResponse
	return decodeSubscribeFast(data, lim, &resp)
}

// DecodeAvailabilityFast exposes the GetUserAvailability token decoder to
// the equivalence tests of package ewswire_test.
func DecodeAvailabilityFast(data []byte, lim Limits) (*Envelope, error) {
	var resp GetUserAvailabilityResponse
	return decodeAvailabilityFast(data, lim, &resp)
}

// MarshalFast exposes the requests' own writers to the equivalence tests.
func MarshalFast(h *Header, body any) ([]byte, bool) { return marshalFast(h, body) }

// DecodeMailTipsFast exposes the GetMailTips token decoder to the
// equivalence tests of package ewswire_test.
func DecodeMailTipsFast(data []byte, lim Limits) (*Envelope, error) {
	var resp GetMailTipsResponse
	return decodeMailTipsFast(data, lim, &resp)
}

// DecodeUserSettingsFast exposes the Autodiscover GetUserSettings token
// decoder to the equivalence tests of package ewswire_test.
func DecodeUserSettingsFast(data []byte, lim Limits) (*Envelope, error) {
	var resp GetUserSettingsResponseMessage
	return decodeUserSettingsFast(data, lim, &resp)
}

// The fast scanner's declarations, for TestFastScannerCommonDeclarationMatchesTheExpression.
var (
	XMLDeclRE     = xmlDeclRE
	CommonXMLDecl = commonXMLDecl
)
