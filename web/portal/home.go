package portal

import (
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// homeData is the partner's page.
type homeData struct {
	Name      string
	Link      string
	Code      string
	QR        template.HTML
	Clicks    clicksView
	Referrals []referralRow
	Older     string // link to the next page of referrals ("" = none)
	Newest    bool   // this page starts at the newest referral
	Balance   balanceView
	Board     *boardView
	Form      submitForm
}

// home answers GET /portal: the signed-in partner's page.
func (h *Handler) home(r *request, s *session) apigw.Response {
	return h.homePage(r, s, http.StatusOK, submitForm{})
}

// homePage renders the partner's page with the referral form as given
// (its values and errors after a refused submission).
func (h *Handler) homePage(r *request, s *session, status int, form submitForm) apigw.Response {
	p := s.partner
	d := homeData{Name: p.Name, Code: p.Code, Link: h.base(r) + "/r/" + p.Code, Form: form}
	var err error
	if d.QR, err = qrSVG(d.Link, "QR code of your referral link"); err != nil {
		r.log.Error("qr code failed", "error", err)
	}
	now := h.Now()
	if d.Clicks, err = h.clicks(r, p, now); err != nil {
		r.log.Error("read clicks failed", "error", err)
		return h.unavailable(r)
	}
	cursor := r.query("after")
	page, err := h.Store.ReferralsByPartner(r.ctx, p.ProgramID, p.Key, referralsPerPage, cursor)
	if err != nil {
		r.log.Error("list referrals failed", "error", err)
		return h.unavailable(r)
	}
	// All of the partner's referrer rewards in one query: the balance, and
	// the rewards of this page's referrals.
	rws, err := h.Store.RewardsByPartner(r.ctx, p.ProgramID, p.Key)
	if err != nil {
		r.log.Error("read rewards failed", "error", err)
		return h.unavailable(r)
	}
	if d.Referrals, err = h.pageRows(r, s, page.IDs, rws); err != nil {
		r.log.Error("read referrals failed", "error", err)
		return h.unavailable(r)
	}
	d.Newest = cursor == ""
	if page.Next != "" {
		d.Older = "/portal?after=" + page.Next
	}
	d.Balance = balance(rws)
	if d.Board, err = h.board(r, s, now); err != nil {
		r.log.Error("leaderboard failed", "error", err)
		return h.unavailable(r)
	}
	return h.render(r, status, "home", "Your referrals", s.program, d)
}

// clicksView is the clicks on the partner's link in the last 30 days.
type clicksView struct {
	Total int
	Weeks []weekClicks // newest first
}

type weekClicks struct {
	From, To time.Time
	Count    int
}

// clickDays is how many days of clicks the partner's page shows.
const clickDays = 30

// clicks sums the clicks on the partner's links (their code and the codes
// they had before) over the last 30 UTC days, per 7-day week ending today.
func (h *Handler) clicks(r *request, p *store.Partner, now time.Time) (clicksView, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -(clickDays - 1))
	perDay := map[string]int{}
	for _, code := range append([]string{p.Code}, p.PreviousCodes...) {
		days, err := h.Store.Clicks(r.ctx, p.ProgramID, code, from, today)
		if err != nil {
			return clicksView{}, err
		}
		for d, n := range days {
			perDay[d] += n
		}
	}
	var v clicksView
	for end := today; !end.Before(from); end = end.AddDate(0, 0, -7) {
		w := weekClicks{To: end, From: end.AddDate(0, 0, -6)}
		if w.From.Before(from) {
			w.From = from
		}
		for d := w.From; !d.After(w.To); d = d.AddDate(0, 0, 1) {
			w.Count += perDay[d.Format("2006-01-02")]
		}
		v.Total += w.Count
		v.Weeks = append(v.Weeks, w)
	}
	return v, nil
}

// referralRow is one of the partner's referrals as they see it.
type referralRow struct {
	ID         string
	Company    string
	Email      string // the email they submitted (the detail page only)
	Submitted  time.Time
	Status     string
	Milestones []milestoneRow
	Rewards    []rewardRow
}

type milestoneRow struct {
	Name    string
	Reached *time.Time
}

type rewardRow struct {
	Milestone string
	Kind      string
	Amount    string
	Status    string
}

// pageRows are the rows of the referrals ids (a page of the partner's
// list, kept in its order), read in one batch, each with its rewards
// among rws (the partner's referrer rewards, RewardsByPartner): a constant
// number of reads whatever the page holds. An id that is not the
// partner's, or no longer exists, has no row.
func (h *Handler) pageRows(r *request, s *session, ids []string, rws []rewards.Reward) ([]referralRow, error) {
	refs, err := h.Store.ReferralsByID(r.ctx, ids)
	if err != nil {
		return nil, err
	}
	byReferral := map[string][]rewards.Reward{}
	for _, rw := range rws {
		byReferral[rw.ReferralID] = append(byReferral[rw.ReferralID], rw)
	}
	versions := map[int]*program.Program{}
	if s.program != nil {
		versions[s.program.Version] = s.program
	}
	var rows []referralRow
	for _, id := range ids {
		if ref := refs[id]; ref != nil && owns(s.partner, ref) {
			rows = append(rows, h.row(r, ref, byReferral[id], versions))
		}
	}
	return rows, nil
}

// referralRow reads referral id for partner p, with its rewards: nil when
// it is not the partner's (or no longer exists).
func (h *Handler) referralRow(r *request, p *store.Partner, id string, versions map[int]*program.Program) (*referralRow, error) {
	ref, err := h.Store.Referral(r.ctx, id)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !owns(p, ref) {
		return nil, nil
	}
	rws, err := h.Store.Rewards(r.ctx, ref.ID)
	if err != nil {
		return nil, err
	}
	row := h.row(r, ref, rws, versions)
	return &row, nil
}

// owns reports whether referral ref is partner p's.
func owns(p *store.Partner, ref *referral.Referral) bool {
	return ref.ProgramID == p.ProgramID && p.Holds(ref.ReferrerCode)
}

// row is referral ref as its partner sees it, with its referrer rewards
// among rws in the store's order (milestone, then party).
func (h *Handler) row(r *request, ref *referral.Referral, rws []rewards.Reward, versions map[int]*program.Program) referralRow {
	row := referralRow{ID: ref.ID, Company: ref.RefereeCompany, Email: ref.RefereeEmail, Submitted: ref.CreatedAt, Status: referralWord(ref.Status)}
	row.Milestones = h.milestones(r, ref, versions)
	mine := slices.Clone(rws)
	slices.SortStableFunc(mine, func(a, b rewards.Reward) int {
		return strings.Compare(a.Milestone+"#"+a.Party, b.Milestone+"#"+b.Party)
	})
	for _, rw := range mine {
		if rw.Party != program.PartyReferrer || rw.ReferralID != ref.ID {
			continue
		}
		row.Rewards = append(row.Rewards, rewardRow{Milestone: humanize(rw.Milestone), Kind: humanize(rw.Kind),
			Amount: formatMoney(rw.AmountMinor, rw.Currency), Status: rewardWord(rw.Status)})
	}
	return row
}

// milestones lists each milestone of the program version the referral
// was accepted under, with when it was reached (nil: waiting).
func (h *Handler) milestones(r *request, ref *referral.Referral, versions map[int]*program.Program) []milestoneRow {
	prog, ok := versions[ref.ProgramVersion]
	if !ok {
		var err error
		if prog, err = h.Store.ProgramVersion(r.ctx, ref.ProgramID, ref.ProgramVersion); err != nil {
			r.log.Warn("program version unreadable; listing reached milestones only", "error", err)
			prog = nil
		}
		versions[ref.ProgramVersion] = prog
	}
	var out []milestoneRow
	if prog == nil {
		for name, at := range ref.Milestones {
			at := at
			out = append(out, milestoneRow{Name: humanize(name), Reached: &at})
		}
		return out
	}
	for _, m := range prog.Milestones {
		row := milestoneRow{Name: humanize(m.Name)}
		if at, ok := ref.Milestones[m.Name]; ok {
			row.Reached = &at
		}
		out = append(out, row)
	}
	return out
}
