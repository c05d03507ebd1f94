// Package presence turns a user's calendar occurrences and automatic-reply
// settings into presence: an availability, a status text, an optional
// call-forward target, the reason, and the next transition. Admin-defined
// rules (first match wins) choose the profile and text. The Scheduler fires
// transitions at the exact boundaries from one timer structure for all users.
package presence
