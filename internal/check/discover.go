package check

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
)

// checkVersion reads the ServerVersionInfo of the authentication probe.
func (r *runner) checkVersion(context.Context) Result {
	p := r.probe
	if !p.done {
		return Result{Status: StatusSkip, Summary: "no EWS answer to read the version from"}
	}
	if p.faultCode == string(ews.ErrorInvalidServerVersion) || p.faultCode == string(ews.ErrorInvalidRequest) && p.version == nil {
		return Result{Status: StatusFail, Summary: fmt.Sprintf("the server refused RequestServerVersion %s (%s)", r.version(), p.faultCode),
			Fix: []string{"set exchange.server_version: Exchange2013_SP1 (accepted by Exchange 2013, 2016, 2019 and SE)"}}
	}
	v := p.version
	if v == nil {
		return Result{Status: StatusWarn, Summary: "the server sent no ServerVersionInfo header",
			Details: []string{"a proxy may rewrite EWS answers, or this is not Exchange 2013 or newer"}}
	}
	res := Result{Status: StatusOK, Facts: map[string]string{"server_version": v.String(), "request_version": string(r.version())}}
	product := ""
	switch {
	case v.MajorVersion == 15 && v.MinorVersion == 1:
		product = "Exchange Server 2016"
	case v.MajorVersion == 15 && v.MinorVersion == 2:
		product = "Exchange Server 2019 or Exchange Server SE"
	case v.MajorVersion == 15 && v.MinorVersion >= 20:
		product = "Exchange Online"
		res.Details = append(res.Details, "Exchange Online removes ApplicationImpersonation (from February 2025) and EWS (phased from 1 October 2026, shutdown 1 April 2027); calsync targets Exchange Server 2016, 2019 and SE on premises")
	case v.MajorVersion == 15 && v.MinorVersion == 0:
		product = "Exchange Server 2013"
		res.Status = StatusWarn
		res.Details = append(res.Details, "Exchange 2013 allows only 3 streaming connections per account by default and is out of support; calsync is tested against 2016, 2019 and SE")
		res.Fix = []string{"upgrade to Exchange Server SE, or use exchange.notifications.mode: pull if streaming connections run out"}
	case v.MajorVersion > 15:
		product = "a newer Exchange"
	default:
		product = "Exchange older than 2013"
		res.Status = StatusWarn
		res.Details = append(res.Details, "calsync needs Exchange 2013 or newer (affinity, streaming notifications, WorkingElsewhere)")
		res.Fix = []string{"upgrade to Exchange Server SE"}
	}
	res.Facts["product"] = product
	res.Summary = fmt.Sprintf("%s, build %d.%d.%d.%d", product, v.MajorVersion, v.MinorVersion, v.MajorBuildNumber, v.MinorBuildNumber)
	if v.Version != "" {
		res.Summary += ", schema " + v.Version
	}
	if p.faultCode != "" {
		res.Details = append(res.Details, fmt.Sprintf("the probe got %s: %s", p.faultCode, p.faultText))
	}
	return res
}

// autodiscoverURL is the configured Autodiscover URL or the one next to
// the EWS URL.
func (r *runner) autodiscoverURL() string {
	if r.opts.Exchange.AutodiscoverURL != "" {
		return r.opts.Exchange.AutodiscoverURL
	}
	u := *r.endpoint
	u.Path, u.RawQuery, u.Fragment = "/autodiscover/autodiscover.svc", "", ""
	return u.String()
}

// checkAutodiscover asks Autodiscover for every user and reports the
// affinity groups calsync will form.
func (r *runner) checkAutodiscover(ctx context.Context) Result {
	adURL := r.autodiscoverURL()
	users := make([]string, len(r.opts.Users))
	for i, u := range r.opts.Users {
		users[i] = u.SMTP
	}
	var all []ewsclient.UserSettings
	for start := 0; start < len(users); start += ewsclient.MaxAutodiscoverUsers {
		end := min(start+ewsclient.MaxAutodiscoverUsers, len(users))
		got, err := r.client.GetUserSettings(ctx, ewsclient.AutodiscoverRequest{URL: adURL, Mailboxes: users[start:end],
			Settings: []string{ewsclient.SettingExternalEwsURL, ewsclient.SettingInternalEwsURL, ewsclient.SettingGroupingInformation}})
		if err != nil {
			r.noteThrottle(err)
			res := Result{Status: StatusWarn, Summary: "Autodiscover failed at " + redactURL(adURL),
				Details: []string{redactError(err), "without Autodiscover calsync uses exchange.ews_url for every mailbox and cannot group streaming subscriptions by mailbox server"}}
			if r.opts.Exchange.AutodiscoverURL == "" {
				res.Fix = []string{"set exchange.autodiscover_url to the SOAP Autodiscover endpoint (https://autodiscover.example.com/autodiscover/autodiscover.svc)",
					"Get-ClientAccessService | Format-List Name, AutoDiscoverServiceInternalUri"}
			} else {
				res.Fix = []string{"check exchange.autodiscover_url; Get-AutodiscoverVirtualDirectory | Format-List Server, *Authentication*"}
			}
			return res
		}
		all = append(all, got...)
	}
	failures := newFailureSet()
	groups := map[string][]string{}
	urls := map[string]int{}
	for _, s := range all {
		if s.Err != nil {
			code, msg := "error", redactError(s.Err)
			if ae, ok := s.Err.(*ewsclient.AutodiscoverError); ok {
				code, msg = ae.Code, ae.Message
			}
			if code == "InvalidUser" {
				msg = "Autodiscover does not know this address: no mailbox, a typo, or a secondary address"
			}
			failures.add(code, StatusWarn, msg, s.Mailbox, func(users []string) []string {
				return []string{psUserList(users) + " | ForEach-Object { Get-Recipient -Identity $_ | Format-List Name, RecipientTypeDetails, PrimarySmtpAddress }",
					"correct or remove these users in the users source"}
			})
			continue
		}
		key := s.AffinityGroup()
		groups[key] = append(groups[key], s.Mailbox)
		urls[s.EWSURL()]++
	}
	res := Result{Status: StatusOK, Facts: map[string]string{}}
	res.Failures, res.Status = failures.list()
	if res.Status == StatusSkip {
		res.Status = StatusOK
	}
	sizes := make([]int, 0, len(groups))
	keys := make([]string, 0, len(groups))
	connections := 0
	for k, members := range groups {
		keys = append(keys, k)
		sizes = append(sizes, len(members))
		connections += (len(members) + ewsclient.MaxStreamSubscriptions - 1) / ewsclient.MaxStreamSubscriptions
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(groups[keys[i]]) != len(groups[keys[j]]) {
			return len(groups[keys[i]]) > len(groups[keys[j]])
		}
		return keys[i] < keys[j]
	})
	sort.Sort(sort.Reverse(sort.IntSlice(sizes)))
	found := len(all) - failures.users()
	res.Summary = fmt.Sprintf("%d of %d users found, %d affinity %s, %d streaming %s (≤%d subscriptions each)",
		found, len(all), len(groups), plural(len(groups), "group", "groups"), connections, plural(connections, "connection", "connections"), ewsclient.MaxStreamSubscriptions)
	res.Facts["users_found"] = strconv.Itoa(found)
	res.Facts["groups"] = strconv.Itoa(len(groups))
	res.Facts["streaming_connections"] = strconv.Itoa(connections)
	res.Facts["group_sizes"] = joinInts(sizes)
	for i, k := range keys {
		if i == maxListedUsers {
			res.Details = append(res.Details, fmt.Sprintf("and %d more groups", len(keys)-i))
			break
		}
		res.Details = append(res.Details, fmt.Sprintf("group %s: %d %s", describeGroup(k), len(groups[k]), plural(len(groups[k]), "user", "users")))
	}
	for u, n := range urls {
		if u != "" && !sameURL(u, r.opts.Exchange.EWSURL) {
			res.Details = append(res.Details, fmt.Sprintf("%d %s served by %s (calsync follows Autodiscover)", n, plural(n, "user is", "users are"), redactURL(u)))
		}
	}
	if r.opts.Exchange.AutodiscoverURL == "" && found > 0 {
		// calsync run uses Autodiscover only when it is configured.
		res.Details = append(res.Details, "exchange.autodiscover_url is not set: calsync run syncs every mailbox through exchange.ews_url as one group, without affinity; the groups above are what Autodiscover at "+redactURL(adURL)+" reports")
		if len(groups) > 1 || len(urls) > 1 {
			if res.Status == StatusOK {
				res.Status = StatusWarn
			}
			res.Fix = append(res.Fix, "set exchange.autodiscover_url: "+redactURL(adURL)+" so that streaming subscriptions are grouped by mailbox server (without affinity Exchange proxies or refuses subscription calls)")
		}
	}
	return res
}

// describeGroup shortens a grouping key (GroupingInformation + URL).
func describeGroup(key string) string {
	if i := strings.Index(key, "http"); i > 0 {
		return fmt.Sprintf("%q at %s", key[:i], redactURL(key[i:]))
	}
	if key == "" {
		return "(no GroupingInformation)"
	}
	return fmt.Sprintf("%q", key)
}

func sameURL(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "/"), strings.TrimSuffix(b, "/"))
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// failureSet groups users by failure cause.
type failureSet struct {
	order []string
	byKey map[string]*failureEntry
}

type failureEntry struct {
	f   Failure
	fix func(users []string) []string
}

func newFailureSet() *failureSet { return &failureSet{byKey: map[string]*failureEntry{}} }

// add records user under cause code (the first message and fix of a code
// win). user may be "" for failures without a user.
func (s *failureSet) add(code string, st Status, msg, user string, fix func(users []string) []string) {
	e, ok := s.byKey[code]
	if !ok {
		e = &failureEntry{f: Failure{Status: st, Code: code, Message: msg}, fix: fix}
		s.byKey[code] = e
		s.order = append(s.order, code)
	}
	e.f.Status = worst(e.f.Status, st)
	e.f.Count++
	if user != "" {
		e.f.Users = append(e.f.Users, user)
	}
}

// users counts the affected users of every cause.
func (s *failureSet) users() int {
	n := 0
	for _, e := range s.byKey {
		n += len(e.f.Users)
	}
	return n
}

// list returns the failures (most affected users first) and their worst
// status (StatusSkip when empty).
func (s *failureSet) list() ([]Failure, Status) {
	out := make([]Failure, 0, len(s.order))
	st := StatusSkip
	for _, k := range s.order {
		e := s.byKey[k]
		sort.Strings(e.f.Users)
		if e.fix != nil {
			e.f.Fix = e.fix(e.f.Users)
		}
		out = append(out, e.f)
		st = worst(st, e.f.Status)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Status.severity() != out[j].Status.severity() {
			return out[i].Status.severity() > out[j].Status.severity()
		}
		return out[i].Count > out[j].Count
	})
	if len(out) == 0 {
		return nil, st
	}
	return out, st
}
