package graphwire

// ErrorBody is Graph's error envelope:
// {"error":{"code":…,"message":…,"innerError":{…}}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the "error" object.
type ErrorDetail struct {
	Code       string      `json:"code"`
	Message    string      `json:"message"`
	InnerError *InnerError `json:"innerError,omitempty"`
}

// InnerError is innerError (innererror in the OData spelling).
type InnerError struct {
	RequestID       string `json:"request-id,omitempty"`
	Date            string `json:"date,omitempty"`
	ClientRequestID string `json:"client-request-id,omitempty"`
}

// TokenErrorBody is the token endpoint's error answer.
type TokenErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
	ErrorCodes       []int  `json:"error_codes,omitempty"`
	Timestamp        string `json:"timestamp,omitempty"`
	TraceID          string `json:"trace_id,omitempty"`
	CorrelationID    string `json:"correlation_id,omitempty"`
}
