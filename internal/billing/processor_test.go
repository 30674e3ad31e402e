package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/rewardstest"
)

// memStore is the billing part of the table in memory, with the store's
// guarantees: first link wins, the start is the earliest paid invoice,
// invoice marks are written once with their event.
type memStore struct {
	mu        sync.Mutex
	applied   map[string]string
	referrals map[string]*referral.Referral
	byEmail   map[string][]string
	programs  map[string]*program.Program
	links     map[string]Link
	invoices  map[string]InvoiceRecord
	history   []events.Event
}

func newMemStore() *memStore {
	return &memStore{applied: map[string]string{}, referrals: map[string]*referral.Referral{}, byEmail: map[string][]string{},
		programs: map[string]*program.Program{}, links: map[string]Link{}, invoices: map[string]InvoiceRecord{}}
}

func (m *memStore) ClaimEvent(_ context.Context, _, id string, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.applied[id]
	return ok, nil
}

func (m *memStore) FinishEvent(_ context.Context, _, id, outcome, _ string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.applied[id] = outcome
	return nil
}

func (m *memStore) Referral(_ context.Context, id string) (*referral.Referral, error) {
	if r, ok := m.referrals[id]; ok {
		c := *r
		return &c, nil
	}
	return nil, fmt.Errorf("referral %s: %w", id, ErrNotFound)
}

func (m *memStore) ProgramVersion(_ context.Context, id string, v int) (*program.Program, error) {
	return m.programs[fmt.Sprintf("%s@%d", id, v)], nil
}

func (m *memStore) ReferralsByEmail(_ context.Context, email string) ([]string, error) {
	return m.byEmail[email], nil
}

func (m *memStore) StripeLink(_ context.Context, c string) (Link, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.links[c]; ok {
		return l, nil
	}
	return Link{}, ErrNotFound
}

func (m *memStore) PutStripeLink(ctx context.Context, c, referralID string, _ time.Time) (Link, error) {
	m.mu.Lock()
	if _, ok := m.links[c]; !ok {
		m.links[c] = Link{CustomerID: c, ReferralID: referralID}
	}
	m.mu.Unlock()
	return m.StripeLink(ctx, c)
}

func (m *memStore) StartStripeSubscription(ctx context.Context, c string, at time.Time) (Link, error) {
	m.mu.Lock()
	if l, ok := m.links[c]; ok && (l.StartedAt.IsZero() || l.StartedAt.After(at)) {
		l.StartedAt = at
		m.links[c] = l
	}
	m.mu.Unlock()
	return m.StripeLink(ctx, c)
}

func (m *memStore) EndStripeSubscription(_ context.Context, c string, at time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.links[c]
	if ok && l.EndedAt == nil {
		l.EndedAt = &at
		m.links[c] = l
	}
	return ok, nil
}

func (m *memStore) StripeInvoice(_ context.Context, id string) (InvoiceRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.invoices[id]
	r.InvoiceID = id
	return r, nil
}

func (m *memStore) MarkInvoicePaid(_ context.Context, id, referralID string, at time.Time, ev events.Event) (bool, error) {
	return m.mark(id, referralID, at, &ev, func(r *InvoiceRecord) **time.Time { return &r.PaidAt })
}

func (m *memStore) MarkInvoiceRefunded(_ context.Context, id, referralID string, at time.Time, ev *events.Event) (bool, error) {
	return m.mark(id, referralID, at, ev, func(r *InvoiceRecord) **time.Time { return &r.RefundedAt })
}

func (m *memStore) mark(id, referralID string, at time.Time, ev *events.Event, field func(*InvoiceRecord) **time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.invoices[id]
	if *field(&r) != nil {
		return false, nil
	}
	*field(&r) = &at
	if r.ReferralID == "" {
		r.ReferralID = referralID
	}
	m.invoices[id] = r
	if ev != nil {
		m.history = append(m.history, *ev)
	}
	return true, nil
}

const (
	refID   = "ref_01JS0000000000000000000000"
	secret  = "whsec_test"
	custID  = "cus_1"
	refMail = "ann@example.com"
)

type fixture struct {
	store *memStore
	repo  *rewardstest.Repo
	now   time.Time
	h     *Handler
}

func newFixture(link string) *fixture {
	f := &fixture{store: newMemStore(), repo: rewardstest.New(), now: t0}
	days := 14
	p := &program.Program{ID: "saas", Version: 2, Currency: "USD",
		Milestones: []program.Milestone{{Name: "won"}},
		Subscription: &program.Subscription{Months: 12, PercentBasisPoints: 2000, CapMinor: 10000, RefundWindowDays: &days,
			Link: link, Party: program.PartyReferrer, Kind: program.KindCash}}
	f.store.programs["saas@2"] = p
	f.store.referrals[refID] = &referral.Referral{ID: refID, ProgramID: "saas", ProgramVersion: 2, ReferrerCode: "ann-42", Status: referral.StatusInProgress}
	f.store.byEmail[refMail] = []string{refID}
	clock := func() time.Time { return f.now }
	f.h = &Handler{
		Secrets:   func(context.Context) ([]string, error) { return []string{secret}, nil },
		Processor: &Processor{Store: f.store, Rewards: &rewards.Service{Repo: f.repo, Now: clock}, Now: clock},
		Now:       clock,
		Metrics:   metrics.New(&strings.Builder{}, "billing", clock),
		Log:       slog.New(slog.DiscardHandler),
	}
	return f
}

// post delivers a signed event and returns the status and outcome.
func (f *fixture) post(t *testing.T, body string) (int, string) {
	t.Helper()
	resp, err := f.h.Handle(context.Background(), apigw.Request{Body: body,
		Headers: map[string]string{"stripe-signature": sign([]byte(body), secret, f.now)}})
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	_ = json.Unmarshal([]byte(resp.Body), &res)
	return resp.StatusCode, res.Outcome
}

func invoicePaid(evt, invoice string, amount int64, paidAt time.Time, metadata string) string {
	return fmt.Sprintf(`{"id":%q,"object":"event","type":"invoice.paid","created":%d,"data":{"object":{"id":%q,"customer":%q,"customer_email":%q,"amount_paid":%d,"currency":"usd","status_transitions":{"paid_at":%d},"parent":{"subscription_details":{"metadata":%s}}}}}`,
		evt, paidAt.Unix(), invoice, custID, refMail, amount, paidAt.Unix(), metadata)
}

func chargeRefunded(evt, invoice string) string {
	return fmt.Sprintf(`{"id":%q,"object":"event","type":"charge.refunded","created":%d,"data":{"object":{"id":"ch_%s","object":"charge","customer":%q,"invoice":%q,"amount_refunded":1500,"currency":"usd"}}}`,
		evt, t0.Unix(), invoice, custID, invoice)
}

const meta = `{"referral_id":"` + refID + `"}`

func (f *fixture) statuses() map[string]rewards.Status {
	out := map[string]rewards.Status{}
	for _, rw := range f.repo.All() {
		out[rw.InvoiceID] = rw.Status
	}
	return out
}

// Three monthly invoices, each invoice.paid delivered three times (under
// new event ids, as Stripe's retries of different events may be) and out
// of order, the third refunded before one of its deliveries: one reward
// per invoice, the third voided; each invoice once in the history.
func TestInvoicesThreeTimesOutOfOrderWithRefund(t *testing.T) {
	f := newFixture(program.LinkMetadata)
	months := []time.Time{t0, t0.AddDate(0, 1, 0), t0.AddDate(0, 2, 0)}
	paid := func(i, n int) string {
		return invoicePaid(fmt.Sprintf("evt_paid_%d_%d", i, n), fmt.Sprintf("in_%d", i+1), 4900, months[i], meta)
	}
	f.now = months[2]
	for _, body := range []string{paid(2, 0), paid(0, 0), paid(2, 0), chargeRefunded("evt_refund", "in_3"), paid(1, 0), paid(2, 1), paid(0, 1), paid(1, 1), paid(2, 2), paid(0, 2), paid(1, 2)} {
		if code, outcome := f.post(t, body); code != http.StatusOK {
			t.Fatalf("status %d (%s) for %s", code, outcome, body)
		}
	}
	got := f.statuses()
	// in_1 and in_2 were delivered after their refund window: payable at once.
	if len(f.repo.All()) != 3 || got["in_1"] != rewards.StatusPending || got["in_2"] != rewards.StatusPending || got["in_3"] != rewards.StatusVoided {
		t.Fatalf("rewards %v", got)
	}
	for _, rw := range f.repo.All() {
		if rw.AmountMinor != 980 || rw.Milestone != "invoice:"+rw.InvoiceID || rw.ID != rewards.RewardID(refID, rw.Milestone, "referrer") {
			t.Errorf("reward %+v", rw)
		}
	}
	kinds := map[events.Type]int{}
	for _, ev := range f.store.history {
		kinds[ev.Type]++
		for k, v := range ev.Data {
			if strings.Contains(v, "@") || strings.Contains(v, custID) {
				t.Errorf("event %s carries %s=%s", ev.Type, k, v)
			}
		}
	}
	if kinds[events.InvoicePaid] != 3 || kinds[events.InvoiceRefunded] != 1 {
		t.Fatalf("history %v", kinds)
	}
	for _, ev := range f.store.history {
		if ev.Type == events.InvoiceRefunded && (ev.Get("amount_minor") != "1500" || ev.Get("currency") != "USD") {
			t.Errorf("invoice.refunded %v: want what the refund gave back, 1500 USD (the KPIs' revenue)", ev.Data)
		}
	}
	if l := f.store.links[custID]; !l.StartedAt.Equal(t0) || l.ReferralID != refID {
		t.Fatalf("link %+v: the start is the earliest paid invoice", l)
	}
}

// A refund before anything linked the customer is still recorded on the
// invoice: its later invoice.paid creates nothing payable.
func TestRefundOfAnUnlinkedCustomerWinsOverALaterInvoicePaid(t *testing.T) {
	f := newFixture(program.LinkMetadata)
	if code, outcome := f.post(t, chargeRefunded("evt_r", "in_1")); code != 200 || outcome != OutcomeUntracked {
		t.Fatalf("refund first: %d %s", code, outcome)
	}
	f.post(t, invoicePaid("evt_p", "in_1", 4900, t0, meta))
	if got := f.statuses(); got["in_1"] != rewards.StatusVoided {
		t.Fatalf("rewards %v", got)
	}
}

func TestLinkingAndTerm(t *testing.T) {
	t.Run("by email when the program says so", func(t *testing.T) {
		f := newFixture(program.LinkEmail)
		if _, outcome := f.post(t, invoicePaid("e1", "in_1", 4900, t0, `{}`)); outcome != OutcomeRewarded {
			t.Fatalf("outcome %s", outcome)
		}
	})
	t.Run("not by email when the program links by metadata", func(t *testing.T) {
		f := newFixture(program.LinkMetadata)
		if _, outcome := f.post(t, invoicePaid("e1", "in_1", 4900, t0, `{}`)); outcome != OutcomeUntracked || len(f.store.links) != 0 {
			t.Fatalf("outcome %s, links %v", outcome, f.store.links)
		}
	})
	t.Run("a referral id nobody has", func(t *testing.T) {
		f := newFixture(program.LinkMetadata)
		if code, outcome := f.post(t, invoicePaid("e1", "in_1", 4900, t0, `{"referral_id":"ref_nobody"}`)); code != 200 || outcome != OutcomeUntracked || len(f.store.history) != 0 {
			t.Fatalf("%d %s", code, outcome)
		}
	})
	t.Run("the 13th month and after the cancellation earn nothing", func(t *testing.T) {
		f := newFixture(program.LinkMetadata)
		f.post(t, invoicePaid("e1", "in_1", 4900, t0, meta))
		if _, outcome := f.post(t, invoicePaid("e13", "in_13", 4900, t0.AddDate(0, 12, 0), meta)); outcome != OutcomeNoReward {
			t.Fatalf("13th: %s", outcome)
		}
		cancel := fmt.Sprintf(`{"id":"e_del","object":"event","type":"customer.subscription.deleted","created":%d,"data":{"object":{"id":"sub_1","customer":%q}}}`, t0.AddDate(0, 1, 1).Unix(), custID)
		if _, outcome := f.post(t, cancel); outcome != OutcomeEnded {
			t.Fatalf("cancel: %s", outcome)
		}
		if _, outcome := f.post(t, invoicePaid("e3", "in_3", 4900, t0.AddDate(0, 2, 0), meta)); outcome != OutcomeNoReward {
			t.Fatalf("after the cancellation: %s", outcome)
		}
		if n := len(f.repo.All()); n != 1 {
			t.Fatalf("%d rewards, want 1", n)
		}
	})
}

// A bad or stale signature is 401 and writes nothing; a duplicate event id
// is answered 200 and applied once.
func TestHandlerAnswers(t *testing.T) {
	f := newFixture(program.LinkMetadata)
	body := invoicePaid("evt_1", "in_1", 4900, t0, meta)
	for _, c := range []struct {
		name, header string
		want         int
	}{
		{"missing", "", 401},
		{"wrong secret", sign([]byte(body), "whsec_other", t0), 401},
		{"stale", sign([]byte(body), secret, t0.Add(-10*time.Minute)), 401},
	} {
		resp, _ := f.h.Handle(context.Background(), apigw.Request{Body: body, Headers: map[string]string{"stripe-signature": c.header}})
		if resp.StatusCode != c.want || !strings.Contains(resp.Body, "invalid_signature") {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, resp.Body)
		}
	}
	if len(f.store.applied) != 0 || len(f.repo.All()) != 0 || len(f.store.links) != 0 {
		t.Fatal("a rejected delivery wrote something")
	}
	if code, _ := f.post(t, `{"object":"invoice"}`); code != 400 {
		t.Fatalf("not an event: %d", code)
	}
	if _, outcome := f.post(t, body); outcome != OutcomeRewarded {
		t.Fatalf("first: %s", outcome)
	}
	if _, outcome := f.post(t, body); outcome != OutcomeDuplicate {
		t.Fatalf("again: %s", outcome)
	}
	f.h.Secrets = func(context.Context) ([]string, error) { return nil, nil }
	if resp, _ := f.h.Handle(context.Background(), apigw.Request{Body: body, Headers: map[string]string{"stripe-signature": sign([]byte(body), secret, t0)}}); resp.StatusCode != 503 {
		t.Fatalf("no secret configured: %d", resp.StatusCode)
	}
}
