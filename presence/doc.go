// Package presence turns a user's calendar occurrences and automatic-reply
// settings into presence: an availability, a status text, an optional
// call-forward target, the reason, and the next transition. Admin-defined
// rules (first match wins) choose the profile and text. The Scheduler fires
// transitions at the exact boundaries from one timer structure for all users.
//
// The pieces:
//   - Rule, Match, Options and RuleSet are the configuration (YAML/JSON);
//     CompileRuleSet validates them into CompiledRules. DefaultRules are
//     what UC administrators expect.
//   - Evaluate and Timeline are pure functions from an Input (occurrences,
//     automatic replies, trust, zone, language, override) to presence.
//   - Scheduler keeps every user's presence current: one min-heap of
//     wake-ups and one clock.Timer, re-planned by CalendarChanged, with
//     overrides, a dry run, and restart without duplicate publications
//     through store.PresenceStore. StoreSource feeds it from the store.
//
// docs/presence.md describes the model, the rules and the scheduler.
package presence
