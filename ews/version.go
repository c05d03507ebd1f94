package ews

import "fmt"

// ExchangeVersion is a RequestServerVersion value (t:ExchangeVersionType).
type ExchangeVersion string

// Request versions calsync sends. Exchange 2016/2019 accept both;
// "Exchange2019" and the V20xx_… strings are rejected by on-premises
// servers and must never be sent.
const (
	Exchange2013SP1 ExchangeVersion = "Exchange2013_SP1"
	Exchange2016    ExchangeVersion = "Exchange2016"
	// DefaultVersion is sent when none is configured.
	DefaultVersion = Exchange2013SP1
)

// Older documented request versions; a server decoding requests accepts them.
const (
	Exchange2007    ExchangeVersion = "Exchange2007"
	Exchange2007SP1 ExchangeVersion = "Exchange2007_SP1"
	Exchange2010    ExchangeVersion = "Exchange2010"
	Exchange2010SP1 ExchangeVersion = "Exchange2010_SP1"
	Exchange2010SP2 ExchangeVersion = "Exchange2010_SP2"
	Exchange2013    ExchangeVersion = "Exchange2013"
)

// Sendable reports whether a client may send v. Only Exchange2013_SP1 and
// Exchange2016 are allowed: they enable WorkingElsewhere, MergedFreeBusy
// codes 4/5 and the modern concurrency error.
func (v ExchangeVersion) Sendable() error {
	switch v {
	case Exchange2013SP1, Exchange2016:
		return nil
	}
	return fmt.Errorf("ews: request server version %q not allowed (use %s or %s)", v, Exchange2013SP1, Exchange2016)
}

// Known reports whether v is a documented request version an Exchange
// 2016/2019 server accepts.
func (v ExchangeVersion) Known() bool {
	switch v {
	case Exchange2007, Exchange2007SP1, Exchange2010, Exchange2010SP1, Exchange2010SP2, Exchange2013, Exchange2013SP1, Exchange2016:
		return true
	}
	return false
}

// AtLeast2013 reports whether v is Exchange2013 or newer (enables
// WorkingElsewhere and MergedFreeBusy 4 = WorkingElsewhere, 5 = NoData).
func (v ExchangeVersion) AtLeast2013() bool {
	return v == Exchange2013 || v == Exchange2013SP1 || v == Exchange2016
}

// ServerVersionInfo is the t:ServerVersionInfo response header. 2016 is
// 15.1, 2019/SE 15.2. Version is a free string (may be "V2017_07_11"); never
// send it back as a request version.
type ServerVersionInfo struct {
	MajorVersion     int
	MinorVersion     int
	MajorBuildNumber int
	MinorBuildNumber int
	Version          string
}

// String formats the build as "15.2.1544.4 (V2017_07_11)".
func (s ServerVersionInfo) String() string {
	v := fmt.Sprintf("%d.%d.%d.%d", s.MajorVersion, s.MinorVersion, s.MajorBuildNumber, s.MinorBuildNumber)
	if s.Version != "" {
		v += " (" + s.Version + ")"
	}
	return v
}
