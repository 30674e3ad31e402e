// Package exports writes a period of referrals, rewards or ledger entries
// as CSV in bounded chunks: each call to Run reads a bounded number of
// index pages and returns the rows they gave and where the next call
// starts, so an export of any size goes on across requests (the operator
// console, which saves each chunk and its cursor in the store) or in a
// loop (the operator CLI, with a progress bar). It reads indexes only,
// never scans: the events index by day (referral.received,
// reward.created) and the ledger index by month.
//
// An export carries what the existing exports carry and no more: ids,
// statuses, amounts, dates and the referee's company (as `referflow
// referrals list` does); never a name, an email or a person's note. Text
// cells a spreadsheet would read as a formula are quoted
// (finance.SafeCell).
package exports

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kinds of export.
const (
	Referrals = "referrals" // referrals received in the period
	Rewards   = "rewards"   // rewards created in the period
	Ledger    = "ledger"    // ledger entries written in the period
)

// Kinds are the kinds of export, in the order forms offer them.
var Kinds = []string{Referrals, Rewards, Ledger}

// MaxDays bounds an export's period.
const MaxDays = 3660

// TTL is how long an export and its chunks are kept (the table's TTL).
const TTL = 24 * time.Hour

// Job is an export: what it covers and how far it got.
type Job struct {
	ID      string `dynamodbav:"export_id" json:"id"`
	Kind    string `dynamodbav:"kind" json:"kind"`
	Program string `dynamodbav:"program,omitempty" json:"program,omitempty"` // "": every program
	From    string `dynamodbav:"from" json:"from"`                           // first day, YYYY-MM-DD
	To      string `dynamodbav:"to" json:"to"`                               // last day, YYYY-MM-DD (included)
	// Cursor is where the next chunk starts: "<day or month>|<index
	// cursor>" ("" before the first).
	Cursor string `dynamodbav:"cursor,omitempty" json:"-"`
	// Steps are the days (months for the ledger) the export reads;
	// StepsDone those it has finished.
	Steps     int  `dynamodbav:"steps" json:"steps"`
	StepsDone int  `dynamodbav:"steps_done" json:"steps_done"`
	Rows      int  `dynamodbav:"rows" json:"rows"`
	Chunks    int  `dynamodbav:"chunks" json:"chunks"`
	Done      bool `dynamodbav:"done" json:"done"`
	// By is who started it, as events name actors (never an email).
	By        string    `dynamodbav:"by" json:"-"`
	CreatedAt time.Time `dynamodbav:"created_at" json:"created_at"`
	ExpiresAt time.Time `dynamodbav:"expires_at_time" json:"expires_at"`
}

// Invalid lists what is wrong with an export's request, by field.
type Invalid struct{ Fields map[string]string }

func (e *Invalid) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for f, m := range e.Fields {
		parts = append(parts, f+" "+m)
	}
	return "exports: invalid: " + strings.Join(parts, "; ")
}

// ErrNotFound: no such export (or it expired).
var ErrNotFound = errors.New("exports: no such export")

// New checks a request for an export of kind over from..to (YYYY-MM-DD,
// to included) and returns the job, not started: *Invalid names the
// fields that are wrong.
func New(id, kind, program, from, to, by string, now time.Time) (Job, error) {
	f := map[string]string{}
	if !validKind(kind) {
		f["kind"] = "must be " + strings.Join(Kinds, ", ")
	}
	start, err1 := time.Parse(time.DateOnly, from)
	end, err2 := time.Parse(time.DateOnly, to)
	switch {
	case err1 != nil:
		f["from"] = "must be a date, YYYY-MM-DD"
	case err2 != nil:
		f["to"] = "must be a date, YYYY-MM-DD"
	case end.Before(start):
		f["to"] = "must not be before from"
	case end.Sub(start) > MaxDays*24*time.Hour:
		f["to"] = fmt.Sprintf("must be at most %d days after from", MaxDays)
	}
	if len(f) > 0 {
		return Job{}, &Invalid{Fields: f}
	}
	j := Job{ID: id, Kind: kind, Program: strings.ToLower(strings.TrimSpace(program)), From: from, To: to, By: by,
		CreatedAt: now.UTC(), ExpiresAt: now.UTC().Add(TTL)}
	j.Steps = len(j.units())
	return j, nil
}

func validKind(k string) bool {
	for _, v := range Kinds {
		if v == k {
			return true
		}
	}
	return false
}

// units are the days (YYYY-MM-DD) or, for the ledger, the months
// (YYYY-MM) the export reads, in order.
func (j Job) units() []string {
	start, _ := time.Parse(time.DateOnly, j.From)
	end, _ := time.Parse(time.DateOnly, j.To)
	var out []string
	if j.Kind == Ledger {
		for m := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(end); m = m.AddDate(0, 1, 0) {
			out = append(out, m.Format("2006-01"))
		}
		return out
	}
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(time.DateOnly))
	}
	return out
}

// Percent is how far the export got, 0 to 100.
func (j Job) Percent() int {
	if j.Done || j.Steps == 0 {
		return 100
	}
	return j.StepsDone * 100 / j.Steps
}

// Header is the CSV header row of the export's kind.
func (j Job) Header() []string {
	switch j.Kind {
	case Rewards:
		return RewardHeader
	case Ledger:
		return LedgerHeader
	}
	return ReferralHeader
}

// Filename is the name the export's CSV is downloaded as.
func (j Job) Filename() string {
	name := j.Kind + "-" + j.From + "-to-" + j.To
	if j.Program != "" {
		name = j.Program + "-" + name
	}
	return name + ".csv"
}
