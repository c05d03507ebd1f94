package api

import (
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/calsync/calsync/presence"
)

// Bounds of an override request. An override is typed by a person or a
// tool; these keep what ends up in the dashboard, the store and every
// webhook receiver small and harmless.
const (
	maxStatusTextChars = 256
	maxProfileChars    = 64
	// maxOverrideAhead: an override meant for longer is a rule.
	maxOverrideAhead = 366 * 24 * time.Hour
)

// overrideFromRequest checks req and builds the override set at now.
func overrideFromRequest(req OverrideRequest, now time.Time) (presence.Override, *fieldError) {
	if !validAvailability[req.Availability] || req.Availability == string(presence.Unknown) {
		return presence.Override{}, &fieldError{"availability", codeBadRequest, fmt.Sprintf("must be one of available, tentative, busy, out_of_office, working_elsewhere; got %q", clip(req.Availability))}
	}
	if err := checkText(req.StatusText, maxStatusTextChars); err != "" {
		return presence.Override{}, &fieldError{"status_text", codeBadRequest, err}
	}
	if err := checkText(req.Profile, maxProfileChars); err != "" {
		return presence.Override{}, &fieldError{"profile", codeBadRequest, err}
	}
	if err := presence.CheckForwardTarget(req.ForwardTo); err != nil {
		return presence.Override{}, &fieldError{"forward_to", codeBadRequest, err.Error()}
	}
	o := presence.Override{Availability: presence.Availability(req.Availability), Profile: req.Profile,
		StatusText: req.StatusText, ForwardTo: req.ForwardTo, SetAt: now}
	if req.Until != nil {
		switch {
		case !req.Until.After(now):
			return presence.Override{}, &fieldError{"until", codeInvalidRange, "must be in the future"}
		case req.Until.Sub(now) > maxOverrideAhead:
			return presence.Override{}, &fieldError{"until", codeInvalidRange, fmt.Sprintf("at most a year ahead (until %s); for longer, write a rule", now.Add(maxOverrideAhead).UTC().Format(time.RFC3339))}
		}
		o.Until = req.Until.UTC()
	}
	if err := o.Validate(); err != nil {
		// Validate's remaining check is the status-text template; its
		// cause without Validate's own "presence: override status_text"
		// prefix, which the field already says.
		if cause := errors.Unwrap(err); cause != nil {
			err = cause
		}
		return presence.Override{}, &fieldError{"status_text", codeBadRequest, err.Error()}
	}
	return o, nil
}

// checkText returns what is wrong with a short single-line text, or "".
func checkText(s string, maxChars int) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if n := utf8.RuneCountInString(s); n > maxChars {
		return fmt.Sprintf("at most %d characters, got %d", maxChars, n)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Sprintf("must be one line without control characters (found %U)", r)
		}
	}
	return ""
}

// clip shortens a value quoted back in an error message.
func clip(s string) string {
	const maxQuoted = 80
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d bytes)", len(s))
}
