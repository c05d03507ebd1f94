package app

import (
	"testing"
	"time"

	"github.com/calsync/calsync/config"
)

// TestEngineOptionsKeepConfiguredZeros: the config's zeros are meant —
// coalesce_delay 0s re-reads at the first notification and a 0/0 window
// is today only — and must not turn into the engine's defaults.
func TestEngineOptionsKeepConfiguredZeros(t *testing.T) {
	cfg := config.Defaults()
	cfg.Exchange.Notifications.CoalesceDelay = 0
	cfg.Window.DaysBefore, cfg.Window.DaysAfter = 0, 0
	o := engineOptions(cfg)
	if o.CoalesceDelay >= 0 {
		t.Errorf("coalesce_delay 0s gave engine CoalesceDelay %v, want negative (no delay)", o.CoalesceDelay)
	}
	if !o.Window.Explicit || o.Window.DaysBefore != 0 || o.Window.DaysAfter != 0 {
		t.Errorf("window 0/0 gave %+v, want an explicit today-only window", o.Window)
	}
	cfg = config.Defaults()
	o = engineOptions(cfg)
	if o.CoalesceDelay != 2*time.Second || o.Window.DaysBefore != 1 || o.Window.DaysAfter != 14 || o.OOFInterval != 15*time.Minute {
		t.Errorf("defaults gave coalesce %v, window %d/%d, oof %v", o.CoalesceDelay, o.Window.DaysBefore, o.Window.DaysAfter, o.OOFInterval)
	}
	if o.OOFPollInterval != time.Minute {
		t.Errorf("default oof_poll_interval gave engine OOFPollInterval %v, want 1m", o.OOFPollInterval)
	}
	cfg.Exchange.Notifications.OOFPollInterval = 0
	if o = engineOptions(cfg); o.OOFPollInterval >= 0 {
		t.Errorf("oof_poll_interval 0s gave engine OOFPollInterval %v, want negative (no polling)", o.OOFPollInterval)
	}
}

// TestPresenceDefaultZone: without presence.time_zone, mailboxes without a
// zone of their own get window.default_time_zone in presence too; with it,
// the rule set's zone applies.
func TestPresenceDefaultZone(t *testing.T) {
	cfg := config.Defaults()
	cfg.Window.DefaultTimeZone = "Europe/Berlin"
	if got := presenceDefaultZone(cfg); got != "Europe/Berlin" {
		t.Errorf("without presence.time_zone: %q, want the window's default", got)
	}
	cfg.Presence.RuleSet.TimeZone = "America/New_York"
	if got := presenceDefaultZone(cfg); got != "" {
		t.Errorf("with presence.time_zone: %q, want none (the rule set's applies)", got)
	}
}
