package rewards_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/activity"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/rewardstest"
)

// The tests below run rewards.Service over the in-memory repository, with
// a clock and a payout rail they control.

const (
	refID    = "ref_01JS0000000000000000000000"
	holdSecs = 30 * 24 * 3600
)

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// testProgram pays 100 USD at qualified (no hold); at won, after a 30-day
// hold, 500 USD to the referrer and a 1000 USD discount to the referee,
// which is at the approval threshold; renewed pays nothing.
func testProgram() *program.Program {
	return &program.Program{ID: "partners", Version: 3, Currency: "USD",
		Approval: program.Approval{AutoBelowMinor: 100000}, Payout: program.Payout{Method: "bank"},
		Milestones: []program.Milestone{
			{Name: "qualified", Rewards: []program.Reward{{Party: program.PartyReferrer, Kind: program.KindCash, AmountMinor: 10000}}},
			{Name: "won", HoldSeconds: holdSecs, Rewards: []program.Reward{
				{Party: program.PartyReferrer, Kind: program.KindCash, AmountMinor: 50000},
				{Party: program.PartyReferee, Kind: program.KindDiscount, AmountMinor: 100000},
			}},
			{Name: "renewed"},
		}}
}

func testReferral() *referral.Referral {
	return &referral.Referral{ID: refID, ProgramID: "partners", ProgramVersion: 3, ReferrerCode: "ann-42",
		Status: referral.StatusInProgress, Milestones: map[string]time.Time{"qualified": t0, "won": t0}}
}

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

// rail is a payout rail that records the idempotency keys it is called with.
type rail struct {
	keys []string
	err  error
	sent map[string]bool // keys paid
}

func (p *rail) Send(_ context.Context, r rewards.Reward) (rewards.Transfer, error) {
	p.keys = append(p.keys, r.IdempotencyKey)
	if p.err != nil {
		return rewards.Transfer{}, p.err
	}
	if p.sent == nil {
		p.sent = map[string]bool{}
	}
	p.sent[r.IdempotencyKey] = true
	return rewards.Transfer{Method: "bank", Reference: "tr_" + r.ID}, nil
}

// Find answers the transfer of a key Send paid.
func (p *rail) Find(_ context.Context, r rewards.Reward) (rewards.Transfer, bool, error) {
	if !p.sent[r.IdempotencyKey] {
		return rewards.Transfer{}, false, nil
	}
	return rewards.Transfer{Method: "bank", Reference: "tr_" + r.ID}, true, nil
}

type env struct {
	repo  *rewardstest.Repo
	clock *clock
	rail  *rail
	svc   *rewards.Service
}

func newEnv() *env {
	e := &env{repo: rewardstest.New(), clock: &clock{t0}, rail: &rail{}}
	e.svc = &rewards.Service{Repo: e.repo, Rails: map[string]rewards.Rail{"bank": e.rail}, Now: e.clock.Now}
	return e
}

// seed is a stored reward of the test referral.
func seed(milestone, party string, st rewards.Status, mod func(*rewards.Reward)) rewards.Reward {
	rw := rewards.Reward{ID: rewards.RewardID(refID, milestone, party), ReferralID: refID, ProgramID: "partners",
		Milestone: milestone, Party: party, ReferrerCode: "ann-42", Kind: program.KindCash, AmountMinor: 50000,
		Currency: "USD", Status: st, HoldUntil: t0.Add(-time.Hour), CreatedAt: t0.Add(-31 * 24 * time.Hour)}
	rw.IdempotencyKey = rewards.IdempotencyKey(rw.ID)
	if mod != nil {
		mod(&rw)
	}
	return rw
}

// summary is "party status[ amount][ approval][: reason]".
func summary(rw rewards.Reward, amount bool) string {
	s := rw.Party + " " + string(rw.Status)
	if amount {
		s += " " + strconv.FormatInt(rw.AmountMinor, 10)
	}
	if rw.NeedsApproval {
		s += " approval"
	}
	if rw.StatusReason != "" {
		s += ": " + rw.StatusReason
	}
	return s
}

func summaries(rws []rewards.Reward, amount bool) []string {
	out := []string{}
	for _, rw := range rws {
		out = append(out, summary(rw, amount))
	}
	return out
}

// eventLines is "type party" of each event (party from its data).
func eventLines(evs []events.Event) []string {
	out := []string{}
	for _, ev := range evs {
		out = append(out, strings.TrimSpace(string(ev.Type)+" "+ev.Get("party")))
	}
	return out
}

// checkRewardEvent: a reward event names the reward and carries its
// milestone, party, kind and amount, and nothing personal.
func checkRewardEvent(t *testing.T, ev events.Event, rw rewards.Reward, actor string, at time.Time) {
	t.Helper()
	if ev.ReferralID != rw.ReferralID || ev.ProgramID != rw.ProgramID || ev.RewardID != rw.ID || ev.Actor != actor ||
		!ev.At.Equal(at) || ev.Version != events.SchemaVersion {
		t.Errorf("%s event %+v of reward %s by %s at %s", ev.Type, ev, rw.ID, actor, at)
	}
	want := map[string]string{"milestone": rw.Milestone, "party": rw.Party, "kind": rw.Kind,
		"amount_minor": strconv.FormatInt(rw.AmountMinor, 10), "currency": rw.Currency}
	for k, v := range want {
		if ev.Get(k) != v {
			t.Errorf("%s event data %s = %q, want %q", ev.Type, k, ev.Get(k), v)
		}
	}
	allowed := []string{"milestone", "party", "kind", "amount_minor", "currency", "reason", "rank", "method", "reference", "override", "paid_later"}
	for k := range ev.Data {
		if !slices.Contains(allowed, k) {
			t.Errorf("%s event carries %s", ev.Type, k)
		}
	}
}

type holdCase struct {
	name      string
	milestone string
	prog      func(*program.Program)
	ref       func(*referral.Referral)
	before    func(*rewardstest.Repo)
	err       error
	want      []string // the stored rewards by party: "party status amount[ approval][: reason]"
	left      int64    // HoldSecondsLeft
	rank      int
	spent     map[string]int64 // spending counters afterwards
}

func tiers(p *program.Program) {
	p.Tiers = []program.Tier{{From: 1, MultiplierBP: 10000, Period: "month", CountsMilestone: "won"},
		{From: 2, MultiplierBP: 20000, Period: "month", CountsMilestone: "won"}}
}

func holdCases() []holdCase {
	budget, capCounter := rewards.BudgetCounter("2026-11"), rewards.ReferrerCapCounter("ann-42", "2026-11")
	return []holdCase{
		{name: "no holding period: pending, paid at once", milestone: "qualified", want: []string{"referrer pending 10000"}},
		{name: "holding period: on hold; at the threshold it needs approval", milestone: "won", left: holdSecs,
			want: []string{"referee on_hold 100000 approval", "referrer on_hold 50000"}},
		{name: "a milestone that pays nothing", milestone: "renewed", want: []string{}},
		{name: "percent of the deal", milestone: "won", left: holdSecs,
			prog: func(p *program.Program) {
				p.Milestones[1].Rewards[0] = program.Reward{Party: program.PartyReferrer, Kind: program.KindCash, PercentBasisPoints: 250}
			},
			ref:  func(r *referral.Referral) { r.DealAmountMinor, r.DealCurrency = 1000000, "USD" },
			want: []string{"referee on_hold 100000 approval", "referrer on_hold 25000"}},
		{name: "tiers: the referrer's second referral in the period the milestone was reached pays 2x, never the referee's",
			milestone: "won", left: holdSecs, rank: 2, prog: tiers,
			ref: func(r *referral.Referral) { r.Milestones["won"] = time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC) },
			before: func(repo *rewardstest.Repo) {
				_, _ = repo.RankReferral(context.Background(), "ref_earlier", "partners", "ann-42", "2026-10", t0)
			},
			want: []string{"referee on_hold 100000 approval", "referrer on_hold 100000 approval"}},
		{name: "tiers: a milestone before the counted one is not ranked", milestone: "qualified", prog: tiers,
			want: []string{"referrer pending 10000"}},
		{name: "budget: the later reward that does not fit is left out for a person", milestone: "won", left: holdSecs,
			prog: func(p *program.Program) {
				p.Caps = program.Caps{Period: "month", BudgetMinor: 120000, OnExhausted: "review"}
			},
			want:  []string{"referee pending 100000 approval: budget exhausted", "referrer on_hold 50000"},
			spent: map[string]int64{budget: 50000}},
		{name: "referrer cap reached by earlier rewards; the referee has no cap", milestone: "won", left: holdSecs,
			prog: func(p *program.Program) {
				p.Caps = program.Caps{Period: "month", BudgetMinor: 1000000, PerReferrerMinor: 60000, OnExhausted: "review"}
			},
			before: func(repo *rewardstest.Repo) { repo.SetSpent("partners", capCounter, 20000) },
			want:   []string{"referee on_hold 100000 approval", "referrer pending 50000 approval: cap reached"},
			spent:  map[string]int64{budget: 100000, capCounter: 20000}},
		{name: "next-period policy: pending, still held until the hold ends", milestone: "won", left: holdSecs,
			prog: func(p *program.Program) {
				p.Caps = program.Caps{Period: "quarter", BudgetMinor: 40000, OnExhausted: program.OnExhaustedNextPeriod}
			},
			want:  []string{"referee pending 100000 approval: waits for the next period", "referrer pending 50000 approval: waits for the next period"},
			spent: map[string]int64{rewards.BudgetCounter("2026-Q4"): 0}},
		{name: "deal lost before: nothing computed", milestone: "won", err: rewards.ErrDealLost,
			ref: func(r *referral.Referral) { lost := t0; r.LostAt, r.LostReason = &lost, "deleted" }},
		{name: "unknown milestone", milestone: "nope", err: rewards.ErrUnknownMilestone},
	}
}

// TestHold: what each milestone records, with its events, reservations
// and rank; a repeat an hour later changes nothing and never restarts the
// hold.
func TestHold(t *testing.T) {
	for _, c := range holdCases() {
		t.Run(c.name, func(t *testing.T) {
			e, p, r := newEnv(), testProgram(), testReferral()
			if c.prog != nil {
				c.prog(p)
			}
			if c.ref != nil {
				c.ref(r)
			}
			if c.before != nil {
				c.before(e.repo)
			}
			held, err := e.svc.Hold(context.Background(), r, p, c.milestone)
			if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if c.err != nil {
				if n := len(e.repo.All()) + len(e.repo.AllEvents()); n != 0 || e.repo.Created() != 0 {
					t.Fatalf("a refused hold wrote %d rewards and events", n)
				}
				return
			}
			checkHeld(t, e, c, held)
			before := len(e.repo.AllEvents())
			e.clock.t = t0.Add(time.Hour)
			again, err := e.svc.Hold(context.Background(), r, p, c.milestone)
			if err != nil || e.repo.Created() != len(c.want) || len(e.repo.AllEvents()) != before ||
				!slices.Equal(summaries(again.Rewards, true), c.want) || again.OnHold != held.OnHold || again.Rank != held.Rank {
				t.Fatalf("repeated hold: %+v %v", again, err)
			}
			if want := max(c.left-3600, 0); again.HoldSecondsLeft != want {
				t.Fatalf("repeated an hour later: %d s left, want %d", again.HoldSecondsLeft, want)
			}
			for counter, v := range c.spent {
				if got := e.repo.Spent("partners", counter); got != v {
					t.Fatalf("after the repeat %s = %d, want %d", counter, got, v)
				}
			}
		})
	}
}

func checkHeld(t *testing.T, e *env, c holdCase, held rewards.Held) {
	t.Helper()
	stored, _ := e.repo.MilestoneRewards(context.Background(), refID, c.milestone)
	if got := summaries(held.Rewards, true); !slices.Equal(got, c.want) || !slices.Equal(summaries(stored, true), got) {
		t.Fatalf("rewards %q (stored %q), want %q", got, summaries(stored, true), c.want)
	}
	onHold := 0
	for _, rw := range held.Rewards {
		if rw.Status == rewards.StatusOnHold {
			onHold++
		}
		id := rewards.RewardID(refID, c.milestone, rw.Party)
		hold := time.Duration(testProgram().Milestones[testProgram().MilestoneIndex(c.milestone)].HoldSeconds) * time.Second
		if rw.ID != id || rw.IdempotencyKey != rewards.IdempotencyKey(id) || rw.ReferralID != refID || rw.ProgramID != "partners" ||
			rw.Milestone != c.milestone || rw.ReferrerCode != "ann-42" || rw.Currency != "USD" || !rw.CreatedAt.Equal(t0) ||
			!rw.HoldUntil.Equal(t0.Add(hold)) || rw.Description == "" {
			t.Errorf("reward %+v", rw)
		}
		if rw.StatusReason != "" && len(rw.Reserved) != 0 {
			t.Errorf("%s was left out of a limit but reserves %v", rw.Party, rw.Reserved)
		}
	}
	if _, ranked := e.repo.Rank(refID); ranked != (c.rank > 0) {
		t.Errorf("referral ranked: %v, want %v", ranked, c.rank > 0)
	}
	if held.OnHold != onHold || held.HoldSecondsLeft != c.left || held.Rank != c.rank {
		t.Fatalf("held %d, %d s left, rank %d; want %d, %d, %d", held.OnHold, held.HoldSecondsLeft, held.Rank, onHold, c.left, c.rank)
	}
	evs := e.repo.AllEvents()
	if len(evs) != len(held.Rewards) {
		t.Fatalf("%d events for %d rewards", len(evs), len(held.Rewards))
	}
	byID := map[string]rewards.Reward{}
	for _, rw := range held.Rewards {
		byID[rw.ID] = rw
	}
	for i, ev := range evs { // written in program order
		rw := byID[ev.RewardID]
		if want := testProgram().Milestones[testProgram().MilestoneIndex(c.milestone)].Rewards[i].Party; rw.Party != want {
			t.Errorf("event %d is about the %s, want the %s", i, rw.Party, want)
		}
		checkRewardEvent(t, ev, rw, events.ActorWorkflow, t0)
		wantRank := ""
		if c.rank > 0 && rw.Party == program.PartyReferrer {
			wantRank = strconv.Itoa(c.rank)
		}
		if ev.Type != events.RewardCreated || ev.Status != string(rw.Status) || ev.Get("reason") != rw.StatusReason || ev.Get("rank") != wantRank {
			t.Errorf("event %+v for reward %s", ev, summary(rw, false))
		}
	}
	for counter, v := range c.spent {
		if got := e.repo.Spent("partners", counter); got != v {
			t.Errorf("%s = %d, want %d", counter, got, v)
		}
	}
}

// TestHoldRanksOncePerPeriod: the rank is counted in the period the
// referral reached the counted milestone, once however often the step runs.
func TestHoldRanksOncePerPeriod(t *testing.T) {
	e, p, r := newEnv(), testProgram(), testReferral()
	tiers(p)
	r.Milestones["won"] = time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		if _, err := e.svc.Hold(context.Background(), r, p, "won"); err != nil {
			t.Fatal(err)
		}
	}
	if rank, _ := e.repo.Rank(refID); rank != 1 || e.repo.Count("partners", "ann-42", "2026-10") != 1 || e.repo.Count("partners", "ann-42", "2026-11") != 0 {
		t.Fatalf("rank %d, October %d, November %d", rank, e.repo.Count("partners", "ann-42", "2026-10"), e.repo.Count("partners", "ann-42", "2026-11"))
	}
}

type payCase struct {
	name      string
	milestone string
	before    func(e *env, r *referral.Referral)
	err       error
	paid      []string // parties this call paid
	voided    int
	want      []string // the milestone's rewards afterwards
	events    []string // the events of this call: "type party"
	method    string   // of the ledger entries and paid events
	ledger    bool     // the program pays through the ledger rail
}

func putStatus(e *env, milestone, party string, st rewards.Status, reason string) {
	rw, _ := e.repo.Get(refID, milestone, party)
	rw.Status, rw.StatusReason = st, reason
	e.repo.Put(rw)
}

func payCases() []payCase {
	return []payCase{
		{name: "no holding period: paid at once", milestone: "qualified", paid: []string{"referrer"},
			want: []string{"referrer paid"}, events: []string{"reward.paid referrer"}, method: "bank"},
		{name: "after the hold: the reward needing approval waits for a person, the other is paid", milestone: "won",
			paid: []string{"referrer"}, want: []string{"referee pending approval: awaiting approval", "referrer paid"},
			events: []string{"reward.awaiting_approval referee", "reward.paid referrer"}, method: "bank"},
		{name: "approved by a person during the hold: paid", milestone: "won", paid: []string{"referee", "referrer"},
			before: func(e *env, _ *referral.Referral) {
				putStatus(e, "won", "referee", rewards.StatusApproved, "approved by an admin")
			},
			want:   []string{"referee paid approval: approved by an admin", "referrer paid"},
			events: []string{"reward.paid referee", "reward.paid referrer"}, method: "bank"},
		{name: "the ledger rail: paid to the ledger", milestone: "qualified", paid: []string{"referrer"}, ledger: true,
			want: []string{"referrer paid"}, events: []string{"reward.paid referrer"}, method: rewards.MethodLedger},
		{name: "deal lost during the hold: the unpaid are voided, the paid stay", milestone: "won", err: rewards.ErrDealLost, voided: 1,
			before: func(e *env, r *referral.Referral) {
				putStatus(e, "won", "referrer", rewards.StatusPaid, "")
				lost := t0.Add(time.Hour)
				r.LostAt, r.LostReason = &lost, "refunded"
			},
			want:   []string{"referee voided approval: deal refunded during the holding period", "referrer paid"},
			events: []string{"reward.voided referee"}},
		{name: "the payout rail fails: nothing is marked paid; the reward stays sending", milestone: "qualified", err: errBank,
			before: func(e *env, _ *referral.Referral) { e.rail.err = errBank },
			want:   []string{"referrer sending"}, events: []string{}},
		{name: "left out of a limit: stays pending for a person", milestone: "qualified",
			before: func(e *env, _ *referral.Referral) {
				rw, _ := e.repo.Get(refID, "qualified", "referrer")
				rw.NeedsApproval, rw.StatusReason = true, rewards.ReasonBudget
				e.repo.Put(rw)
			},
			want: []string{"referrer pending approval: budget exhausted"}, events: []string{}},
		{name: "voided and failed rewards are never paid", milestone: "won",
			before: func(e *env, _ *referral.Referral) {
				putStatus(e, "won", "referee", rewards.StatusFailed, "rail refused")
				putStatus(e, "won", "referrer", rewards.StatusVoided, "referral lost")
			},
			want: []string{"referee failed approval: rail refused", "referrer voided: referral lost"}, events: []string{}},
	}
}

var errBank = errors.New("bank down")

// TestPay: after the hold, each reward is paid exactly once through the
// rail (with its idempotency key) and its ledger entry, waits for a person,
// or is voided when the deal was lost; a repeat pays nothing again.
func TestPay(t *testing.T) {
	for _, c := range payCases() {
		t.Run(c.name, func(t *testing.T) {
			e, r, p := newEnv(), testReferral(), testProgram()
			if c.ledger {
				p.Payout.Method = program.PayoutLedger
			}
			if _, err := e.svc.Hold(context.Background(), r, p, c.milestone); err != nil {
				t.Fatal(err)
			}
			if c.before != nil {
				c.before(e, r)
			}
			e.clock.t = t0.Add(holdSecs * time.Second)
			n := len(e.repo.AllEvents())
			out, err := e.svc.Pay(context.Background(), r, p, c.milestone)
			if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			var paid []string
			for _, rw := range out.Paid {
				paid = append(paid, rw.Party)
			}
			after, _ := e.repo.MilestoneRewards(context.Background(), refID, c.milestone)
			if !slices.Equal(paid, c.paid) || out.Voided != c.voided || len(out.Rewards) != len(after) {
				t.Fatalf("paid %v voided %d of %d; want %v, %d", paid, out.Voided, len(out.Rewards), c.paid, c.voided)
			}
			if got := summaries(after, false); !slices.Equal(got, c.want) {
				t.Fatalf("rewards %q, want %q", got, c.want)
			}
			evs := e.repo.AllEvents()[n:]
			if got := eventLines(evs); !slices.Equal(got, c.events) {
				t.Fatalf("events %q, want %q", got, c.events)
			}
			checkPaid(t, e, c, out, evs)
			entries, keys := len(e.repo.Entries()), len(e.rail.keys)
			again, err := e.svc.Pay(context.Background(), r, p, c.milestone)
			if !errors.Is(err, c.err) || len(again.Paid) != 0 || again.Voided != 0 || len(e.repo.AllEvents()) != n+len(evs) ||
				len(e.repo.Entries()) != entries || (c.err == nil && len(e.rail.keys) != keys) {
				t.Fatalf("repeated pay: %+v %v, %d entries, %d rail calls", again, err, len(e.repo.Entries()), len(e.rail.keys))
			}
		})
	}
}

func checkPaid(t *testing.T, e *env, c payCase, out rewards.Paid, evs []events.Event) {
	t.Helper()
	now := t0.Add(holdSecs * time.Second)
	if len(e.repo.Entries()) != len(c.paid) {
		t.Fatalf("%d ledger entries, want %d", len(e.repo.Entries()), len(c.paid))
	}
	for _, rw := range out.Paid {
		entry, ok := e.repo.Entry(rw.ID, rewards.EntryPayable)
		stored, _ := e.repo.Get(refID, rw.Milestone, rw.Party)
		if !ok || entry.ID != rw.ID+":payable" || entry.AmountMinor != rw.AmountMinor || entry.Currency != "USD" ||
			entry.Period != "2026-12" || entry.Method != c.method || !entry.CreatedAt.Equal(now) {
			t.Errorf("entry %+v of %s", entry, rw.ID)
		}
		if stored.PaidAt == nil || !stored.PaidAt.Equal(now) {
			t.Errorf("%s paid at %v", rw.ID, stored.PaidAt)
		}
		if c.method == "bank" && (!slices.Contains(e.rail.keys, rw.IdempotencyKey) || entry.Reference != "tr_"+rw.ID) {
			t.Errorf("rail called with %v, entry reference %q", e.rail.keys, entry.Reference)
		}
	}
	for _, ev := range evs {
		rw, _ := e.repo.Get(refID, c.milestone, ev.Get("party"))
		checkRewardEvent(t, ev, rw, events.ActorWorkflow, now)
		switch ev.Type {
		case events.RewardPaid:
			if ev.Status != "paid" || ev.Get("method") != c.method || ev.Get("override") != "" {
				t.Errorf("paid event %+v", ev)
			}
		case events.RewardAwaitingApproval:
			if ev.Status != "pending" {
				t.Errorf("awaiting event %+v", ev)
			}
		case events.RewardVoided:
			if ev.Status != "voided" || ev.Get("reason") != rw.StatusReason {
				t.Errorf("voided event %+v", ev)
			}
		}
	}
}

type approveCase struct {
	name     string
	reward   rewards.Reward
	err      error
	want     string   // the reward afterwards
	events   []string // "type[ override=…][ paid_later=…]"
	override string
}

func approveCases() []approveCase {
	past, future := t0.Add(-time.Minute), t0.Add(time.Hour)
	rw := func(st rewards.Status, needs bool, holdUntil time.Time, reason string, reserved bool) rewards.Reward {
		return seed("won", "referrer", st, func(r *rewards.Reward) {
			r.AmountMinor, r.NeedsApproval, r.HoldUntil, r.StatusReason = 300000, needs, holdUntil, reason
			r.Limited = limitedBy(reason)
			if reserved {
				r.Reserved = []rewards.Reservation{{Counter: rewards.BudgetCounter("2026-11"), AmountMinor: 300000}}
			}
		})
	}
	return []approveCase{
		{name: "awaiting approval after the hold: paid now", reward: rw(rewards.StatusPending, true, past, rewards.ReasonAwaitingApproval, true),
			want: "referrer paid approval: awaiting approval", events: []string{"reward.paid"}},
		{name: "awaiting approval, program without limits: paid, not an override", reward: rw(rewards.StatusPending, true, past, rewards.ReasonAwaitingApproval, false),
			want: "referrer paid approval: awaiting approval", events: []string{"reward.paid"}},
		{name: "left out by the budget: paid as an override", reward: rw(rewards.StatusPending, true, past, rewards.ReasonBudget, false),
			want: "referrer paid approval: budget exhausted", events: []string{"reward.paid override=budget exhausted"}, override: "budget exhausted"},
		{name: "still in its hold: approved, the workflow pays it", reward: rw(rewards.StatusOnHold, true, future, "", true),
			want: "referrer approved approval: approved by an admin", events: []string{"reward.approved paid_later=true"}},
		{name: "left out by the cap, still in its hold: approved", reward: rw(rewards.StatusPending, true, future, rewards.ReasonCap, false),
			want: "referrer approved approval: approved by an admin", events: []string{"reward.approved paid_later=true"}},
		{name: "approved already, still in its hold: nothing changes", reward: rw(rewards.StatusApproved, true, future, "approved by an admin", true),
			want: "referrer approved approval: approved by an admin", events: []string{}},
		{name: "paid already: nothing changes", reward: rw(rewards.StatusPaid, true, past, "", true),
			want: "referrer paid approval", events: []string{}},
		{name: "voided: not payable", reward: rw(rewards.StatusVoided, true, past, "deal lost", true), err: rewards.ErrNotPayable,
			want: "referrer voided approval: deal lost", events: []string{}},
		{name: "failed: not payable", reward: rw(rewards.StatusFailed, true, past, "rail refused", true), err: rewards.ErrNotPayable,
			want: "referrer failed approval: rail refused", events: []string{}},
		{name: "needs no approval: the workflow pays it", reward: rw(rewards.StatusOnHold, false, future, "", true), err: rewards.ErrApprovalNotRequired,
			want: "referrer on_hold", events: []string{}},
	}
}

func approveLines(evs []events.Event) []string {
	out := []string{}
	for _, ev := range evs {
		s := string(ev.Type)
		for _, k := range []string{"override", "paid_later"} {
			if v := ev.Get(k); v != "" {
				s += " " + k + "=" + v
			}
		}
		out = append(out, s)
	}
	return out
}

// TestApprove: a person's approval pays a reward after its hold (an
// override when it did not fit a limit), approves it during the hold, and
// refuses what is not payable or needs no approval; a repeat changes
// nothing.
func TestApprove(t *testing.T) {
	for _, c := range approveCases() {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv()
			e.repo.Put(c.reward)
			for i := 0; i < 2; i++ {
				cur, _ := e.repo.Get(refID, "won", "referrer")
				if err := e.svc.Approve(context.Background(), testReferral(), testProgram(), cur, events.ActorAdmin); !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
					t.Fatalf("call %d: err = %v, want %v", i+1, err, c.err)
				}
			}
			after, _ := e.repo.Get(refID, "won", "referrer")
			if summary(after, false) != c.want {
				t.Fatalf("reward %q, want %q", summary(after, false), c.want)
			}
			evs := e.repo.AllEvents()
			if got := approveLines(evs); !slices.Equal(got, c.events) {
				t.Fatalf("events %q, want %q", got, c.events)
			}
			paid := slices.Contains(c.events, "reward.paid") || c.override != ""
			if _, ok := e.repo.Entry(after.ID, rewards.EntryPayable); ok != paid || len(e.repo.Entries()) != len(e.rail.keys) {
				t.Fatalf("ledger entry %v, want %v (%d rail calls)", ok, paid, len(e.rail.keys))
			}
			for _, ev := range evs {
				checkRewardEvent(t, ev, c.reward, events.ActorAdmin, t0)
				line := activity.Describe(ev).Detail
				if strings.Contains(line, "override") != (c.override != "") || (c.override != "" && !strings.Contains(line, c.override)) {
					t.Errorf("activity line %q; override %q expected", line, c.override)
				}
			}
		})
	}
}

// TestApproveKeepsOverride: whether a paid reward is an override depends
// on whether it fitted the program's limits, not on when a person approved
// it. (Both failed when the override was read from the status reason,
// which approval during the hold overwrites.)
func TestApproveKeepsOverride(t *testing.T) {
	t.Run("left out by the budget, approved during the hold, paid by the workflow: an override", func(t *testing.T) {
		e, r := newEnv(), testReferral()
		e.repo.Put(seed("won", "referrer", rewards.StatusPending, func(rw *rewards.Reward) {
			rw.NeedsApproval, rw.StatusReason, rw.Limited, rw.HoldUntil = true, rewards.ReasonBudget, rewards.ReasonBudget, t0.Add(time.Hour)
		}))
		cur, _ := e.repo.Get(refID, "won", "referrer")
		if err := e.svc.Approve(context.Background(), testReferral(), testProgram(), cur, events.ActorAdmin); err != nil {
			t.Fatal(err)
		}
		e.clock.t = t0.Add(2 * time.Hour)
		if out, err := e.svc.Pay(context.Background(), r, testProgram(), "won"); err != nil || len(out.Paid) != 1 {
			t.Fatalf("pay: %+v %v", out, err)
		}
		if ev := lastEvent(e.repo); ev.Type != events.RewardPaid || ev.Get("override") != rewards.ReasonBudget {
			t.Errorf("paid event %s data %v: the override is lost", ev.Type, ev.Data)
		}
	})
	t.Run("within its limits, approved during the hold and again after it: not an override", func(t *testing.T) {
		e := newEnv()
		e.repo.Put(seed("won", "referrer", rewards.StatusOnHold, func(rw *rewards.Reward) {
			rw.NeedsApproval, rw.HoldUntil = true, t0.Add(time.Hour)
		}))
		for _, at := range []time.Time{t0, t0.Add(2 * time.Hour)} {
			e.clock.t = at
			cur, _ := e.repo.Get(refID, "won", "referrer")
			if err := e.svc.Approve(context.Background(), testReferral(), testProgram(), cur, events.ActorAdmin); err != nil {
				t.Fatal(err)
			}
		}
		if ev := lastEvent(e.repo); ev.Type != events.RewardPaid || ev.Get("override") != "" {
			t.Errorf("paid event %s data %v: paid as an override", ev.Type, ev.Data)
		}
	})
}

func lastEvent(repo *rewardstest.Repo) events.Event {
	evs := repo.AllEvents()
	if len(evs) == 0 {
		return events.Event{}
	}
	return evs[len(evs)-1]
}

type voidCase struct {
	name   string
	seed   []rewards.Reward
	voided []string // rewards voided, "milestone/party"
	spent  int64    // the budget counter afterwards
}

func voidCases() []voidCase {
	budget := []rewards.Reservation{{Counter: rewards.BudgetCounter("2026-11"), AmountMinor: 50000}}
	withBudget := func(r *rewards.Reward) { r.Reserved = budget }
	other := seed("won", "referrer", rewards.StatusOnHold, withBudget)
	other.ReferralID, other.ID = "ref_other", rewards.RewardID("ref_other", "won", "referrer")
	return []voidCase{
		{name: "every unpaid reward is voided and gives its reservation back; the paid, failed and voided stay",
			seed: []rewards.Reward{
				seed("qualified", "referrer", rewards.StatusPaid, withBudget),
				seed("won", "referrer", rewards.StatusApproved, withBudget),
				seed("won", "referee", rewards.StatusOnHold, withBudget),
				seed("renewed", "referrer", rewards.StatusPending, nil),
				seed("renewed", "referee", rewards.StatusFailed, nil),
				seed("upsold", "referrer", rewards.StatusVoided, nil),
				other,
			},
			voided: []string{"renewed/referrer", "won/referee", "won/referrer"}, spent: 100000},
		{name: "nothing unpaid", seed: []rewards.Reward{seed("won", "referrer", rewards.StatusPaid, withBudget)}, voided: []string{}, spent: 50000},
		{name: "no rewards", voided: []string{}},
	}
}

// TestVoidUnpaid: a referral that ended without completing voids each of
// its unpaid rewards once, releasing their reservations, and no one else's.
func TestVoidUnpaid(t *testing.T) {
	for _, c := range voidCases() {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv()
			e.repo.Put(c.seed...)
			n, err := e.svc.VoidUnpaid(context.Background(), refID, "referral expired", events.ActorWorkflow)
			if err != nil || n != len(c.voided) {
				t.Fatalf("voided %d (%v), want %d", n, err, len(c.voided))
			}
			var got []string
			for _, rw := range e.repo.All() {
				if rw.Status == rewards.StatusVoided && rw.StatusReason == "referral expired" {
					got = append(got, rw.Milestone+"/"+rw.Party)
				}
				if want := seedStatus(c.seed, rw, c.voided); rw.Status != want {
					t.Errorf("%s/%s/%s is %s, want %s", rw.ReferralID, rw.Milestone, rw.Party, rw.Status, want)
				}
			}
			if !slices.Equal(append([]string{}, got...), c.voided) { // append: nil and empty compare equal
				t.Fatalf("voided %v, want %v", got, c.voided)
			}
			if s := e.repo.Spent("partners", rewards.BudgetCounter("2026-11")); s != c.spent {
				t.Fatalf("budget counter %d, want %d", s, c.spent)
			}
			evs := e.repo.AllEvents()
			if len(evs) != len(c.voided) {
				t.Fatalf("%d events for %d voided", len(evs), len(c.voided))
			}
			for i, ev := range evs {
				rw, _ := e.repo.Get(refID, ev.Get("milestone"), ev.Get("party"))
				checkRewardEvent(t, ev, rw, events.ActorWorkflow, t0)
				if ev.Type != events.RewardVoided || ev.Status != "voided" || ev.Get("reason") != "referral expired" ||
					c.voided[i] != rw.Milestone+"/"+rw.Party || activity.Describe(ev).Detail != "Reward "+rw.ID+" voided: referral expired" {
					t.Errorf("event %+v", ev)
				}
			}
			if n, err := e.svc.VoidUnpaid(context.Background(), refID, "referral expired", events.ActorWorkflow); err != nil || n != 0 ||
				len(e.repo.AllEvents()) != len(evs) || e.repo.Spent("partners", rewards.BudgetCounter("2026-11")) != c.spent {
				t.Fatalf("repeated: voided %d (%v)", n, err)
			}
		})
	}
}

// seedStatus is what a seeded reward should be after VoidUnpaid.
func seedStatus(seeded []rewards.Reward, rw rewards.Reward, voided []string) rewards.Status {
	if rw.ReferralID == refID && slices.Contains(voided, rw.Milestone+"/"+rw.Party) {
		return rewards.StatusVoided
	}
	for _, s := range seeded {
		if s.ID == rw.ID {
			return s.Status
		}
	}
	return ""
}

type reverseCase struct {
	name     string
	reached  []string
	seed     []rewards.Reward
	reversed []string // "milestone/party"
}

func reverseCases() []reverseCase {
	paidQualified := seed("qualified", "referrer", rewards.StatusPaid, func(r *rewards.Reward) { r.AmountMinor = 10000 })
	return []reverseCase{
		{name: "refund after payout: the paid rewards of the last milestone reached", reached: []string{"qualified", "won"},
			seed:     []rewards.Reward{paidQualified, seed("won", "referrer", rewards.StatusPaid, nil), seed("won", "referee", rewards.StatusVoided, nil)},
			reversed: []string{"won/referrer"}},
		{name: "the last milestone is the last in program order", reached: []string{"qualified"},
			seed:     []rewards.Reward{paidQualified, seed("won", "referrer", rewards.StatusPaid, nil)},
			reversed: []string{"qualified/referrer"}},
		{name: "the last milestone's rewards are not paid yet", reached: []string{"qualified", "won"},
			seed:     []rewards.Reward{paidQualified, seed("won", "referrer", rewards.StatusOnHold, nil), seed("won", "referee", rewards.StatusPending, nil)},
			reversed: []string{}},
		{name: "no milestone reached", seed: []rewards.Reward{paidQualified}, reversed: []string{}},
	}
}

// TestReverse: a refund claws back the paid rewards of the last milestone
// reached with one negative reversal entry each, at most once; the paid
// rewards themselves never change.
func TestReverse(t *testing.T) {
	for _, c := range reverseCases() {
		t.Run(c.name, func(t *testing.T) {
			e, r := newEnv(), testReferral()
			r.Milestones = map[string]time.Time{}
			for _, m := range c.reached {
				r.Milestones[m] = t0.Add(-40 * 24 * time.Hour)
			}
			e.repo.Put(c.seed...)
			actor := events.ActorWebhook("hubspot")
			for i := 0; i < 2; i++ { // reported twice: reversed once
				n, err := e.svc.Reverse(context.Background(), r, testProgram(), actor)
				if want := len(c.reversed) * (1 - i); err != nil || n != want {
					t.Fatalf("call %d: reversed %d (%v), want %d", i+1, n, err, want)
				}
			}
			for _, s := range c.seed {
				if got, _ := e.repo.Get(refID, s.Milestone, s.Party); got.Status != s.Status || got.StatusReason != s.StatusReason || got.AmountMinor != s.AmountMinor {
					t.Errorf("%s changed to %s", s.ID, summary(got, true))
				}
			}
			entries, evs := e.repo.Entries(), e.repo.AllEvents()
			if len(entries) != len(c.reversed) || len(evs) != len(c.reversed) {
				t.Fatalf("%d entries and %d events, want %d", len(entries), len(evs), len(c.reversed))
			}
			for i, mp := range c.reversed {
				m, p, _ := strings.Cut(mp, "/")
				rw, _ := e.repo.Get(refID, m, p)
				x := entries[i]
				if x.Type != rewards.EntryReversal || x.ID != rw.ID+":reversal" || x.RewardID != rw.ID || x.AmountMinor != -rw.AmountMinor ||
					x.Period != "2026-11" || !x.CreatedAt.Equal(t0) {
					t.Errorf("reversal entry %+v of %s", x, rw.ID)
				}
				checkRewardEvent(t, evs[i], rw, actor, t0)
				if evs[i].Type != events.RewardReversed {
					t.Errorf("event %s", evs[i].Type)
				}
			}
		})
	}
}

// TestRepositoryErrorsPropagate: an outage of the repository fails every
// operation with its error, and nothing is paid through the rail.
func TestRepositoryErrorsPropagate(t *testing.T) {
	boom := errors.New("throttled")
	ops := map[string]func(e *env) error{
		"hold": func(e *env) error {
			_, err := e.svc.Hold(context.Background(), testReferral(), testProgram(), "won")
			return err
		},
		"pay": func(e *env) error {
			_, err := e.svc.Pay(context.Background(), testReferral(), testProgram(), "won")
			return err
		},
		"approve": func(e *env) error {
			rw := seed("won", "referee", rewards.StatusPending, func(r *rewards.Reward) { r.NeedsApproval = true })
			return e.svc.Approve(context.Background(), testReferral(), testProgram(), rw, events.ActorAdmin)
		},
		"void": func(e *env) error {
			_, err := e.svc.VoidUnpaid(context.Background(), refID, "referral lost", events.ActorWorkflow)
			return err
		},
		"reverse": func(e *env) error {
			_, err := e.svc.Reverse(context.Background(), testReferral(), testProgram(), events.ActorAdmin)
			return err
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			e := newEnv()
			e.repo.Fail(boom)
			if err := op(e); !errors.Is(err, boom) {
				t.Fatalf("err = %v", err)
			}
			if name != "approve" && len(e.rail.keys) != 0 {
				t.Fatal("the rail was called during an outage")
			}
		})
	}
}

// limitedBy is what the store records of a reward left out by a limit: the
// limit's reason (rewards.Plan sets it with the status reason).
func limitedBy(reason string) string {
	switch reason {
	case rewards.ReasonBudget, rewards.ReasonCap, rewards.ReasonNextPeriod:
		return reason
	}
	return ""
}

// A reward that needs approval on a milestone without a holding period is
// created pending; when the workflow reaches "Pay rewards" it is marked as
// awaiting a person once, like a reward whose hold ended (it was left
// unmarked before).
func TestPayMarksANoHoldRewardAwaitingApprovalOnce(t *testing.T) {
	e, r := newEnv(), testReferral()
	e.repo.Put(seed("won", "referrer", rewards.StatusPending, func(rw *rewards.Reward) {
		rw.NeedsApproval, rw.HoldUntil = true, t0
	}))
	for i := 0; i < 2; i++ {
		if out, err := e.svc.Pay(context.Background(), r, testProgram(), "won"); err != nil || len(out.Paid) != 0 {
			t.Fatalf("pay %d: %+v %v", i, out, err)
		}
	}
	got, _ := e.repo.Get(refID, "won", "referrer")
	if got.Status != rewards.StatusPending || got.StatusReason != rewards.ReasonAwaitingApproval {
		t.Fatalf("reward %s: %q", got.Status, got.StatusReason)
	}
	n := 0
	for _, ev := range e.repo.AllEvents() {
		if ev.Type == events.RewardAwaitingApproval {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d awaiting-approval events, want 1", n)
	}
}
