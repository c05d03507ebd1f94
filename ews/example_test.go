package ews_test

import (
	"fmt"
	"time"

	"github.com/calsync/calsync/ews"
)

// Deciding what to do with an error from ews/ewsclient: the client
// classifies, the caller decides.
func ExampleRetryAfter() {
	errs := []error{
		&ews.SOAPFault{Code: ews.ErrorServerBusy, BackOff: 297749 * time.Millisecond, StatusCode: 500},
		&ews.HTTPError{StatusCode: 503},
		&ews.ResponseError{Op: "GetEvents", Index: -1, Class: ews.ClassError, Code: ews.ErrorSubscriptionNotFound},
		&ews.HTTPError{StatusCode: 401},
	}
	for _, err := range errs {
		wait, retry := ews.RetryAfter(err)
		code, _ := ews.CodeOf(err)
		fmt.Printf("%-26s retry=%-5v after=%-8s resubscribe=%v\n", code, retry, wait, ews.IsCode(err, ews.ErrorSubscriptionNotFound))
	}
	// Output:
	// ErrorServerBusy            retry=true  after=4m57.749s resubscribe=false
	//                            retry=true  after=0s       resubscribe=false
	// ErrorSubscriptionNotFound  retry=false after=0s       resubscribe=true
	//                            retry=false after=0s       resubscribe=false
}
