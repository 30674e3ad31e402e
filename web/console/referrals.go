package console

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/activity"
	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

func moneyOf(minor int64, currency string) string { return money.Format(minor, currency) }

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// Statuses are the statuses the search offers.
var Statuses = []referral.Status{referral.StatusReceived, referral.StatusVerifying, referral.StatusInReview,
	referral.StatusInProgress, referral.StatusNeedsAttention, referral.StatusCompleted, referral.StatusRejected,
	referral.StatusLost, referral.StatusExpired}

// searchData is the search page: the query as asked, what is wrong with
// it, the referrals found and the next page's link.
type searchData struct {
	Status, Program, Partner, Email, From, To string
	Statuses                                  []referral.Status
	Errors                                    map[string]string
	Asked                                     bool
	Rows                                      []referralRow
	Next                                      string
}

// referrals serves /console/referrals (the search), a referral's page
// and its actions (actions.go).
func (h *Handler) referrals(r *Request) apigw.Response {
	if r.Path == "/referrals" {
		if r.Method == http.MethodPost {
			return h.NotFound(r)
		}
		return h.search(r)
	}
	rest := strings.TrimPrefix(r.Path, "/referrals/")
	id, action, _ := strings.Cut(rest, "/")
	if !referral.ValidID(id) {
		return h.NotFound(r)
	}
	if r.Method == http.MethodPost {
		return h.referralAction(r, id, action)
	}
	if action != "" {
		return h.NotFound(r)
	}
	return h.referralPage(r, id)
}

// search answers GET /console/referrals?status=&program=&partner=&email=&from=&to=:
// through indexes only. email (the keyed-hash lookup) comes first, then
// partner (with program), then status with the dates of its last change.
func (h *Handler) search(r *Request) apigw.Response {
	d := searchData{Status: r.Query("status"), Program: strings.ToLower(r.Query("program")), Partner: r.Query("partner"),
		Email: strings.ToLower(r.Query("email")), From: r.Query("from"), To: r.Query("to"), Statuses: Statuses, Errors: map[string]string{}}
	from, to := d.dates()
	d.Asked = d.Status != "" || d.Partner != "" || d.Email != ""
	if !d.Asked || len(d.Errors) > 0 {
		status := http.StatusOK
		if len(d.Errors) > 0 {
			status = http.StatusBadRequest
		}
		return h.Render(r, status, "referrals", "Referrals", d)
	}
	ids, next, err := h.find(r, &d, from, to)
	if err == nil {
		d.Rows, err = h.rows(r.Ctx, ids)
	}
	if err != nil {
		r.Log.Error("search referrals failed", "error", err)
		return h.Unavailable(r)
	}
	d.Rows = d.filter(d.Rows, from, to)
	if next != "" {
		q := url.Values{"status": {d.Status}, "program": {d.Program}, "partner": {d.Partner}, "from": {d.From}, "to": {d.To}, "cursor": {next}}
		d.Next = "/console/referrals?" + q.Encode()
	}
	return h.Render(r, http.StatusOK, "referrals", "Referrals", d)
}

// dates reads from and to (YYYY-MM-DD; to is inclusive), noting errors.
func (d *searchData) dates() (from, to time.Time) {
	parse := func(name, v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			d.Errors[name] = "Enter a date as YYYY-MM-DD."
		}
		return t
	}
	from, to = parse("from", d.From), parse("to", d.To)
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1)
	}
	if d.Status != "" && !validStatus(d.Status) {
		d.Errors["status"] = "Choose a status from the list."
	}
	if d.Partner != "" && d.Program == "" {
		d.Errors["program"] = "A partner is searched within a program: enter the program too."
	}
	if d.Email != "" && !referral.ValidEmail(d.Email) {
		d.Errors["email"] = "Enter the referee's exact email address."
	}
	return from, to
}

func validStatus(s string) bool {
	for _, st := range Statuses {
		if string(st) == s {
			return true
		}
	}
	return false
}

// find reads the ids the query's best index answers.
func (h *Handler) find(r *Request, d *searchData, from, to time.Time) ([]string, string, error) {
	switch {
	case d.Email != "":
		ids, err := h.Store.ReferralsByEmail(r.Ctx, d.Email)
		return ids, "", err
	case d.Partner != "":
		page, err := h.Store.ReferralsByPartner(r.Ctx, d.Program, d.Partner, pageSize, r.Query("cursor"))
		return page.IDs, page.Next, err
	}
	page, err := h.Store.ReferralsByStatus(r.Ctx, d.Status, from, to, pageSize, r.Query("cursor"))
	return page.IDs, page.Next, err
}

// filter keeps the rows that match the rest of the query (the filters
// the index used did not apply).
func (d *searchData) filter(rows []referralRow, from, to time.Time) []referralRow {
	out := rows[:0]
	for _, row := range rows {
		switch {
		case d.Program != "" && row.ProgramID != d.Program:
		case d.Status != "" && string(row.Status) != d.Status:
		case d.Email != "" && (!from.IsZero() && row.CreatedAt.Before(from) || !to.IsZero() && !row.CreatedAt.Before(to)):
		default:
			out = append(out, row)
		}
	}
	return out
}

// rewardView is a reward on a referral's page, with its ledger entries.
type rewardView struct {
	rewardRow
	Entries []entryView
}

type entryView struct {
	rewards.Entry
	Amount string
}

// milestoneView is one of the program's milestones for the referral.
type milestoneView struct {
	Name    string
	Reached *time.Time
	ByHand  bool // recorded by hand by a person
}

// referralData is a referral's page.
type referralData struct {
	R            *referral.Referral
	Program      *program.Program
	Milestones   []milestoneView
	Timeline     []activity.Line
	Rewards      []rewardView
	ExecutionURL string
	InReview     bool
	Resumable    bool
	// Pending are the milestones not reached yet, which an operator may
	// record by hand (none once the referral has ended).
	Pending []string
}

// referralPage answers GET /console/referrals/{id}.
func (h *Handler) referralPage(r *Request, id string) apigw.Response {
	ref, err := h.Store.Referral(r.Ctx, id)
	if isNotFound(err) {
		return h.NotFound(r)
	}
	if err != nil {
		r.Log.Error("read referral failed", "error", err)
		return h.Unavailable(r)
	}
	d := referralData{R: ref, InReview: ref.Status == referral.StatusInReview && ref.ReviewOutcome == "",
		Resumable: !ref.Status.Terminal()}
	if err := h.fillReferral(r, &d); err != nil {
		r.Log.Error("read referral page failed", "error", err)
		return h.Unavailable(r)
	}
	return h.Render(r, http.StatusOK, "referral", "Referral "+id, d)
}

// fillReferral reads the rest of a referral's page: its program version,
// execution, timeline, rewards and their ledger entries.
func (h *Handler) fillReferral(r *Request, d *referralData) error {
	ref := d.R
	p, err := h.Store.ProgramVersion(r.Ctx, ref.ProgramID, ref.ProgramVersion)
	if err != nil && !isNotFound(err) {
		return err
	}
	d.Program = p
	if p != nil {
		for _, m := range p.Milestones {
			mv := milestoneView{Name: m.Name, ByHand: ref.HandNote(m.Name) != nil}
			if at, ok := ref.Milestones[m.Name]; ok {
				mv.Reached = &at
			} else if !ref.Status.Terminal() && h.Milestones != nil {
				d.Pending = append(d.Pending, m.Name)
			}
			d.Milestones = append(d.Milestones, mv)
		}
	}
	t, err := h.Store.Tracked(r.Ctx, ref.ID)
	if err != nil {
		return err
	}
	d.ExecutionURL = h.executionURL(t.Current())
	evs, err := h.Store.Events(r.Ctx, ref.ID)
	if err != nil {
		return err
	}
	d.Timeline = h.namedOperators(r, activity.WithNotes(activity.Log(evs), ref.HandNotes))
	sort.SliceStable(d.Timeline, func(i, j int) bool { return d.Timeline[i].At.After(d.Timeline[j].At) })
	rws, err := h.Store.Rewards(r.Ctx, ref.ID)
	if err != nil {
		return err
	}
	for _, rw := range rws {
		v := rewardView{rewardRow: rewardRowOf(rw, "", rw.UpdatedAt)}
		entries, err := h.Store.LedgerEntries(r.Ctx, rw.ID)
		if err != nil {
			return err
		}
		for _, e := range entries {
			v.Entries = append(v.Entries, entryView{Entry: e, Amount: moneyOf(e.AmountMinor, e.Currency)})
		}
		d.Rewards = append(d.Rewards, v)
	}
	return nil
}

// namedOperators names the deployment's operators in lines by their
// email where events name them by their id (console:<id>): the console
// shows who did what; events never carry an email.
func (h *Handler) namedOperators(r *Request, lines []activity.Line) []activity.Line {
	names := map[string]string{}
	for _, email := range h.Operators {
		if id, err := h.operatorID(r, email); err == nil {
			names[(&Operator{ID: id}).Actor()] = email
		}
	}
	for i, l := range lines {
		if email, ok := names[l.Actor]; ok {
			lines[i].Actor, lines[i].Detail = email+" ("+l.Actor+")", strings.ReplaceAll(l.Detail, l.Actor, email)
		}
	}
	return lines
}

// executionURL is the execution's page in the AWS Step Functions console
// ("" when the deployment's region or state machine is unknown).
func (h *Handler) executionURL(name string) string {
	if h.Region == "" || h.StateMachineARN == "" {
		return ""
	}
	arn := workflow.ExecutionARN(h.StateMachineARN, name)
	return "https://" + h.Region + ".console.aws.amazon.com/states/home?region=" + h.Region + "#/v2/executions/details/" + arn
}
