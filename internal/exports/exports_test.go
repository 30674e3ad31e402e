package exports

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

var now = time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC)

func TestNewChecksThePeriodAndKind(t *testing.T) {
	tests := []struct {
		kind, from, to string
		field          string
		steps          int
	}{
		{Referrals, "2026-03-01", "2026-03-18", "", 18},
		{Rewards, "2026-03-18", "2026-03-18", "", 1},
		{Ledger, "2026-01-31", "2026-03-01", "", 3},
		{"people", "2026-03-01", "2026-03-18", "kind", 0},
		{Referrals, "March", "2026-03-18", "from", 0},
		{Referrals, "2026-03-01", "", "to", 0},
		{Referrals, "2026-03-18", "2026-03-01", "to", 0},
		{Referrals, "2016-01-01", "2026-03-01", "to", 0},
	}
	for _, tt := range tests {
		j, err := New("exp_1", tt.kind, " B2B ", tt.from, tt.to, "admin", now)
		var inv *Invalid
		switch {
		case tt.field == "" && (err != nil || j.Steps != tt.steps || j.Program != "b2b" || !j.ExpiresAt.Equal(now.Add(TTL))):
			t.Errorf("%s %s..%s: %+v, %v", tt.kind, tt.from, tt.to, j, err)
		case tt.field != "" && (!errors.As(err, &inv) || inv.Fields[tt.field] == ""):
			t.Errorf("%s %s..%s: %v, want a problem with %s", tt.kind, tt.from, tt.to, err, tt.field)
		}
	}
}

// fakeSource serves events by day, `per` at a time, and the ledger by month.
type fakeSource struct {
	evs     map[string][]events.Event
	ledger  map[string][]rewards.Entry
	refs    map[string]*referral.Referral
	rewards map[string]*rewards.Reward
	pages   int
}

func slicePage[T any](all []T, limit int, cursor string) ([]T, string) {
	from := 0
	fmt.Sscan(cursor, &from)
	to := min(from+limit, len(all))
	if to == len(all) {
		return all[from:to], ""
	}
	return all[from:to], fmt.Sprint(to)
}

func (f *fakeSource) EventsOn(_ context.Context, day string, t events.Type, limit int, cursor string) ([]events.Event, string, error) {
	f.pages++
	got, next := slicePage(f.evs[day], limit, cursor)
	var out []events.Event
	for _, ev := range got {
		if ev.Type == t {
			out = append(out, ev)
		}
	}
	return out, next, nil
}

func (f *fakeSource) LedgerPage(_ context.Context, period string, limit int, cursor string) ([]rewards.Entry, string, error) {
	f.pages++
	got, next := slicePage(f.ledger[period], limit, cursor)
	return got, next, nil
}

func (f *fakeSource) ReferralsByID(_ context.Context, ids []string) (map[string]*referral.Referral, error) {
	out := map[string]*referral.Referral{}
	for _, id := range ids {
		if r := f.refs[id]; r != nil {
			out[id] = r
		}
	}
	return out, nil
}

func (f *fakeSource) Reward(_ context.Context, referralID, milestone, party string) (*rewards.Reward, error) {
	if rw := f.rewards[referralID+milestone+party]; rw != nil {
		return rw, nil
	}
	return nil, referral.ErrNotFound
}

// world: on each of three days, two referrals of b2b and one of another
// program, each with a reward and a ledger entry, among other events.
func world() *fakeSource {
	f := &fakeSource{evs: map[string][]events.Event{}, ledger: map[string][]rewards.Entry{}, refs: map[string]*referral.Referral{}, rewards: map[string]*rewards.Reward{}}
	for d := range 3 {
		at := now.AddDate(0, 0, d-2)
		day := at.Format(time.DateOnly)
		for i, prog := range []string{"b2b", "b2b", "other"} {
			id := fmt.Sprintf("ref_%d_%d", d, i)
			f.refs[id] = &referral.Referral{ID: id, ProgramID: prog, ProgramVersion: 2, Status: referral.StatusInProgress, ReferrerCode: "ACME",
				RefereeEmail: "x@y.example", RefereeName: "Name", RefereeCompany: "@risky", CreatedAt: at,
				Milestones: map[string]time.Time{"won": at.Add(time.Hour), "qualified": at}, DealAmountMinor: 1234500, DealCurrency: "EUR"}
			rw := &rewards.Reward{ID: "rw_" + id, ReferralID: id, ProgramID: prog, Milestone: "won", Party: "referrer", Kind: "cash",
				AmountMinor: 50000, Currency: "EUR", Status: rewards.StatusPaid, CreatedAt: at}
			f.rewards[id+"wonreferrer"] = rw
			rec := events.New(events.ReferralReceived, id, events.ActorIntake, at)
			rec.ProgramID = prog
			verifying := events.New(events.ReferralVerifying, id, events.ActorWorkflow, at)
			created := rewards.Event(events.RewardCreated, *rw, events.ActorWorkflow, at)
			f.evs[day] = append(f.evs[day], rec, verifying, created)
			f.ledger[at.Format("2006-01")] = append(f.ledger[at.Format("2006-01")], rewards.Entry{ID: rw.ID + ":payable", Type: rewards.EntryPayable,
				RewardID: rw.ID, ReferralID: id, ProgramID: prog, AmountMinor: -50000, Currency: "EUR", CreatedAt: at})
		}
	}
	return f
}

// Run goes through the period in bounded steps: every row of the
// program's period comes out once, whatever the budget.
func TestRunExportsEveryRowOnceInBoundedSteps(t *testing.T) {
	for _, kind := range Kinds {
		for _, b := range []Budget{{Pages: 1, Items: 1, Bytes: 1 << 20}, {Pages: 3, Items: 2, Bytes: 1 << 20}, {Pages: 100, Items: 100, Bytes: 10}, DefaultBudget} {
			t.Run(fmt.Sprintf("%s/%d-%d-%d", kind, b.Pages, b.Items, b.Bytes), func(t *testing.T) {
				f := world()
				j, err := New("exp_1", kind, "b2b", now.AddDate(0, 0, -1).Format(time.DateOnly), now.Format(time.DateOnly), "admin", now)
				if err != nil {
					t.Fatal(err)
				}
				var all strings.Builder
				for runs := 0; !j.Done; runs++ {
					before := f.pages
					var chunk []byte
					if j, chunk, _, err = Run(context.Background(), f, j, b, time.Now); err != nil || runs > 100 {
						t.Fatalf("run %d: %v", runs, err)
					}
					if f.pages-before > b.Pages {
						t.Fatalf("a run read %d pages, budget %d", f.pages-before, b.Pages)
					}
					all.Write(chunk)
				}
				rows, err := csv.NewReader(strings.NewReader(all.String())).ReadAll()
				if err != nil || len(rows) != 4 || j.Rows != 4 || j.Percent() != 100 {
					t.Fatalf("%d rows (%v), job %+v:\n%s", len(rows), err, j, all.String())
				}
				seen := map[string]bool{}
				for _, r := range rows {
					if seen[r[0]] || strings.Contains(r[0], "_0_") || strings.HasSuffix(r[0], "_2") && kind != Ledger {
						t.Errorf("row %v: twice, outside the period or another program's", r)
					}
					seen[r[0]] = true
					if len(r) != len(j.Header()) {
						t.Errorf("row %v has %d cells, the header %d", r, len(r), len(j.Header()))
					}
				}
			})
		}
	}
}

func TestRowsQuoteFormulasAndCarryNoPersonalData(t *testing.T) {
	f := world()
	r := f.refs["ref_1_0"]
	row := ReferralRow(r)
	want := []string{"ref_1_0", "2026-03-17T10:00:00Z", "b2b", "2", "in_progress", "ACME", "'@risky",
		"qualified 2026-03-17T10:00:00Z; won 2026-03-17T11:00:00Z", "12345.00", "EUR", ""}
	if strings.Join(row, "|") != strings.Join(want, "|") {
		t.Fatalf("referral row\n%q\nwant\n%q", row, want)
	}
	if strings.Contains(strings.Join(row, ","), "x@y.example") || strings.Contains(strings.Join(row, ","), "Name") {
		t.Fatal("a name or an email in the row")
	}
	if got := LedgerRow(f.ledger["2026-03"][0]); got[9] != "-500.00" {
		t.Fatalf("a negative amount must stay a number: %q", got[9])
	}
}

func TestPartsAndProgress(t *testing.T) {
	j := Job{Chunks: 0, Steps: 4}
	if j.Parts() != 1 || j.Percent() != 0 {
		t.Fatalf("empty: %d parts, %d%%", j.Parts(), j.Percent())
	}
	j = Job{Chunks: 45, Steps: 4, StepsDone: 3}
	if j.Parts() != 3 || j.Percent() != 75 {
		t.Fatalf("%d parts, %d%%", j.Parts(), j.Percent())
	}
	for p, want := range map[int][2]int{1: {1, 20}, 2: {21, 40}, 3: {41, 45}} {
		if a, b := j.PartRange(p); a != want[0] || b != want[1] {
			t.Errorf("part %d: %d..%d, want %v", p, a, b, want)
		}
	}
	if (Job{Kind: Rewards, Program: "b2b", From: "2026-03-01", To: "2026-03-31"}).Filename() != "b2b-rewards-2026-03-01-to-2026-03-31.csv" {
		t.Fatal("filename")
	}
}
