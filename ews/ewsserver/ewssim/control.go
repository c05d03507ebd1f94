package ewssim

import (
	"fmt"
	"net/http"
	"time"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/internal/simapi"
)

// OccurrenceJSON is one expanded calendar entry of the ground-truth API.
type OccurrenceJSON struct {
	ItemID      string    `json:"item_id"`
	ChangeKey   string    `json:"change_key"`
	UID         string    `json:"uid"`
	Subject     string    `json:"subject"`
	Location    string    `json:"location,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	AllDay      bool      `json:"all_day"`
	FreeBusy    string    `json:"free_busy"`
	Sensitivity string    `json:"sensitivity"`
	Cancelled   bool      `json:"cancelled"`
	IsMeeting   bool      `json:"is_meeting"`
	ItemType    string    `json:"item_type"`
	TimeZone    string    `json:"time_zone,omitempty"`
}

// OOFJSON is the JSON form of automatic-reply settings.
type OOFJSON struct {
	State            string    `json:"state"`
	ExternalAudience string    `json:"external_audience,omitempty"`
	Start            time.Time `json:"start,omitzero"`
	End              time.Time `json:"end,omitzero"`
	InternalReply    string    `json:"internal_reply,omitempty"`
	ExternalReply    string    `json:"external_reply,omitempty"`
}

// TimeZoneJSON is a mailbox's time zone: the body of PUT
// /sim/v1/mailboxes/{smtp}/timezone (an IANA name such as
// "America/New_York" or a Windows id) and its answer (both forms).
type TimeZoneJSON struct {
	TimeZone string `json:"time_zone"`
	Windows  string `json:"windows,omitempty"`
}

// ClockJSON is the body of POST /sim/v1/clock: either now (RFC 3339) or
// advance (a Go duration such as "90m"). The answer carries now.
type ClockJSON struct {
	Now     time.Time `json:"now,omitzero"`
	Advance string    `json:"advance,omitempty"`
}

// ChurnJSON is the body of POST /sim/v1/churn.
type ChurnJSON struct {
	// Action is "start" or "stop".
	Action    string  `json:"action"`
	PerSecond float64 `json:"per_second,omitempty"`
	Seed      uint64  `json:"seed,omitempty"`
}

// ItemJSON is the body of POST /sim/v1/mailboxes/{smtp}/items.
type ItemJSON struct {
	Subject     string    `json:"subject"`
	Location    string    `json:"location,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	AllDay      bool      `json:"all_day,omitempty"`
	FreeBusy    string    `json:"free_busy,omitempty"`
	Sensitivity string    `json:"sensitivity,omitempty"`
	TimeZone    string    `json:"time_zone,omitempty"`
	IsMeeting   bool      `json:"is_meeting,omitempty"`
	Cancelled   bool      `json:"cancelled,omitempty"`
}

// ControlHandler returns the JSON control API, to be mounted at /sim/v1/
// (ewsserver.Options.Control puts it behind EWS authentication):
//
//	GET  /sim/v1/mailboxes                          addresses and servers
//	GET  /sim/v1/mailboxes/{smtp}/occurrences?start=&end=   ground truth (RFC 3339)
//	POST /sim/v1/mailboxes/{smtp}/items             create an item (ItemJSON)
//	GET  /sim/v1/mailboxes/{smtp}/items             stored items and series masters
//	PATCH  /sim/v1/mailboxes/{smtp}/items/{id}      change an item, a series or one occurrence (ItemPatchJSON)
//	DELETE /sim/v1/mailboxes/{smtp}/items/{id}      delete one of them
//	GET  /sim/v1/mailboxes/{smtp}/timezone          the mailbox's time zone
//	PUT  /sim/v1/mailboxes/{smtp}/timezone          set it (TimeZoneJSON)
//	GET  /sim/v1/mailboxes/{smtp}/oof               automatic replies
//	PUT  /sim/v1/mailboxes/{smtp}/oof               set them (OOFJSON)
//	GET  /sim/v1/clock                              the simulator's now
//	POST /sim/v1/clock                              move it (ClockJSON)
//	GET  /sim/v1/stats                              counters (Stats)
//	POST /sim/v1/faults                             inject a Fault
//	POST /sim/v1/churn                              start/stop churn (ChurnJSON)
func (s *Simulator) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sim/v1/mailboxes", func(w http.ResponseWriter, r *http.Request) {
		type mbJSON struct {
			SMTP   string `json:"smtp"`
			Server string `json:"server"`
		}
		var out []mbJSON
		for _, a := range s.Mailboxes() {
			s, _ := s.MailboxServer(a)
			out = append(out, mbJSON{a, s})
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /sim/v1/mailboxes/{smtp}/occurrences", func(w http.ResponseWriter, r *http.Request) {
		start, err1 := time.Parse(time.RFC3339, r.URL.Query().Get("start"))
		end, err2 := time.Parse(time.RFC3339, r.URL.Query().Get("end"))
		if err1 != nil || err2 != nil || end.Before(start) {
			writeProblem(w, http.StatusBadRequest, "start and end must be RFC 3339 times with end >= start")
			return
		}
		items, err := s.Occurrences(r.PathValue("smtp"), start, end)
		if err != nil {
			writeProblem(w, http.StatusNotFound, err.Error())
			return
		}
		out := make([]OccurrenceJSON, 0, len(items))
		for _, it := range items {
			out = append(out, OccurrenceJSON{ItemID: it.ItemId.Id, ChangeKey: it.ItemId.ChangeKey, UID: it.UID, Subject: it.Subject, Location: it.Location,
				Start: it.Start, End: it.End, AllDay: it.IsAllDayEvent, FreeBusy: string(it.LegacyFreeBusyStatus), Sensitivity: string(it.Sensitivity),
				Cancelled: it.IsCancelled, IsMeeting: it.IsMeeting, ItemType: string(it.CalendarItemType), TimeZone: it.StartTimeZone})
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /sim/v1/mailboxes/{smtp}/items", func(w http.ResponseWriter, r *http.Request) {
		var in ItemJSON
		if !readJSON(w, r, &in) {
			return
		}
		id, err := s.AddCalendarItem(r.PathValue("smtp"), ews.CalendarItem{Subject: in.Subject, Location: in.Location, Start: in.Start, End: in.End,
			IsAllDayEvent: in.AllDay, LegacyFreeBusyStatus: ews.FreeBusyStatus(in.FreeBusy), Sensitivity: ews.Sensitivity(in.Sensitivity),
			StartTimeZone: in.TimeZone, IsMeeting: in.IsMeeting, IsCancelled: in.Cancelled})
		if err != nil {
			writeProblem(w, statusFor(err), err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"item_id": id.Id, "change_key": id.ChangeKey})
	})
	mux.HandleFunc("GET /sim/v1/mailboxes/{smtp}/timezone", func(w http.ResponseWriter, r *http.Request) {
		s.writeTimeZone(w, r.PathValue("smtp"))
	})
	mux.HandleFunc("PUT /sim/v1/mailboxes/{smtp}/timezone", func(w http.ResponseWriter, r *http.Request) {
		var in TimeZoneJSON
		if !readJSON(w, r, &in) {
			return
		}
		if _, err := s.SetTimeZone(r.PathValue("smtp"), in.TimeZone); err != nil {
			writeProblem(w, statusFor(err), err.Error())
			return
		}
		s.writeTimeZone(w, r.PathValue("smtp"))
	})
	mux.HandleFunc("GET /sim/v1/mailboxes/{smtp}/oof", func(w http.ResponseWriter, r *http.Request) {
		o, err := s.OOF(r.PathValue("smtp"))
		if err != nil {
			writeProblem(w, statusFor(err), err.Error())
			return
		}
		writeJSON(w, http.StatusOK, OOFJSON{State: string(o.State), ExternalAudience: string(o.ExternalAudience), Start: o.Start, End: o.End,
			InternalReply: o.InternalReply, ExternalReply: o.ExternalReply})
	})
	mux.HandleFunc("PUT /sim/v1/mailboxes/{smtp}/oof", func(w http.ResponseWriter, r *http.Request) {
		var in OOFJSON
		if !readJSON(w, r, &in) {
			return
		}
		err := s.SetOOF(r.PathValue("smtp"), ews.OofSettings{State: ews.OofState(in.State), ExternalAudience: ews.ExternalAudience(in.ExternalAudience),
			Start: in.Start, End: in.End, InternalReply: in.InternalReply, ExternalReply: in.ExternalReply})
		if err != nil {
			writeProblem(w, statusFor(err), err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /sim/v1/clock", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, ClockJSON{Now: s.Now().UTC()})
	})
	mux.HandleFunc("POST /sim/v1/clock", func(w http.ResponseWriter, r *http.Request) {
		var in ClockJSON
		if !readJSON(w, r, &in) {
			return
		}
		switch {
		case !in.Now.IsZero() && in.Advance != "":
			writeProblem(w, http.StatusBadRequest, `give either "now" or "advance", not both`)
			return
		case !in.Now.IsZero():
			s.SetNow(in.Now)
		case in.Advance != "":
			d, err := time.ParseDuration(in.Advance)
			if err != nil {
				writeProblem(w, http.StatusBadRequest, fmt.Sprintf(`"advance" %q is not a duration such as "90m" or "36h"`, in.Advance))
				return
			}
			if err := s.AdvanceClock(d); err != nil {
				writeProblem(w, http.StatusBadRequest, err.Error())
				return
			}
		default:
			writeProblem(w, http.StatusBadRequest, `give "now" (RFC 3339) or "advance" (a duration such as "90m")`)
			return
		}
		writeJSON(w, http.StatusOK, ClockJSON{Now: s.Now().UTC()})
	})
	mux.HandleFunc("GET /sim/v1/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("POST /sim/v1/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if !readJSON(w, r, &f) {
			return
		}
		res, err := s.InjectFault(f)
		if err != nil {
			writeProblem(w, statusFor(err), err.Error())
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	mux.HandleFunc("POST /sim/v1/churn", func(w http.ResponseWriter, r *http.Request) {
		var c ChurnJSON
		if !readJSON(w, r, &c) {
			return
		}
		switch c.Action {
		case "start":
			if err := s.StartChurn(c.PerSecond, c.Seed); err != nil {
				writeProblem(w, http.StatusBadRequest, err.Error())
				return
			}
		case "stop":
			s.StopChurn()
		default:
			writeProblem(w, http.StatusBadRequest, `action must be "start" or "stop"`)
			return
		}
		running, changes := s.churn.status()
		writeJSON(w, http.StatusOK, map[string]any{"running": running, "changes": changes})
	})
	s.itemRoutes(mux)
	if s.opts.ControlRoutes != nil {
		s.opts.ControlRoutes(mux)
	}
	return jsonErrors(mux)
}

func statusFor(err error) int {
	if itemNotFound(err) {
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

// The control API's JSON conventions (internal/simapi).
var (
	readJSON     = simapi.ReadJSON
	writeJSON    = simapi.WriteJSON
	writeProblem = simapi.WriteProblem
)

// writeTimeZone answers a mailbox's zone as IANA name and Windows id.
func (s *Simulator) writeTimeZone(w http.ResponseWriter, smtp string) {
	id, loc, err := s.TimeZone(smtp)
	if err != nil {
		writeProblem(w, statusFor(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, TimeZoneJSON{TimeZone: loc.String(), Windows: id})
}
