package rails_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/fakes"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/payees"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rails"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/paypal"
	"github.com/referflow/referflow/internal/rewards/rewardstest"
	"github.com/referflow/referflow/internal/rewards/stripe"
	"github.com/referflow/referflow/internal/rewards/tremendous"
)

// The scenarios run rewards.Service over the in-memory repository, with
// the real rails built by rails.New, pointed at the stateful local fakes
// of their providers, and an injected clock. Payments are counted in the
// fakes' own state, never from what a rail answers.

const refID = "ref_01JS0000000000000000000000"

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// errMissing is what the test getter wraps for a setting not configured.
var errMissing = errors.New("setting not configured")

// getter reads settings from m.
func getter(m map[string]string) rails.Getter {
	return func(_ context.Context, name string) (string, error) {
		v, ok := m[name]
		if !ok {
			return "", errMissing
		}
		return v, nil
	}
}

// clock is the injected clock, shared by the service, the rails and the
// Stripe fake.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// payeeSource is an in-memory payees.Source: one payee per party.
type payeeSource struct {
	mu sync.Mutex
	m  map[string]payees.Payee
}

func (s *payeeSource) PayeeOf(_ context.Context, _, party, _ string) (*payees.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[party]
	if !ok {
		return nil, payees.ErrNoPayee
	}
	return &payees.Record{Payee: p, UpdatedAt: t0, UpdatedBy: "test"}, nil
}

func (s *payeeSource) set(party string, p *payees.Payee) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == nil {
		delete(s.m, party)
		return
	}
	s.m[party] = *p
}

// errLedgerLost is the outage that loses a ledger write.
var errLedgerLost = errors.New("the ledger write was lost (injected)")

// flakyRepo is the in-memory repository (which serialises every write
// and makes each conditional on the reward's status, as DynamoDB's
// conditional writes do) that loses the next lose ledger writes
// (PayReward) after the rail was called.
type flakyRepo struct {
	*rewardstest.Repo
	lose atomic.Int32
}

func (r *flakyRepo) PayReward(ctx context.Context, rw rewards.Reward, e rewards.Entry, ev events.Event, now time.Time, check rewards.DealCheck) (bool, error) {
	if r.lose.Add(-1) >= 0 {
		return false, errLedgerLost
	}
	r.lose.Store(0)
	return r.Repo.PayReward(ctx, rw, e, ev, now, check)
}

// fault is an ambiguous answer a fake gives one request.
type fault int

const (
	hangUpAfter    fault = iota // processed, then the connection dropped
	status500After              // processed, then 500
	status500                   // 500, not processed
	status429
	status409
)

func (f fault) String() string {
	return [...]string{"hang-up after processing", "500 after processing", "500", "429", "409"}[f]
}

func (f fault) processed() bool { return f == hangUpAfter || f == status500After }

// fake is a running fake of one rail's provider, as the scenarios see it.
type fake struct {
	settings map[string]string
	admin    http.Handler
	requests func() int
	// payments lists the references of the payments the fake holds for
	// the case's reward kind (transfers, balance transactions, promotion
	// codes, payouts, orders).
	payments func(t *testing.T) []string
	// fail is the control body making the next request fail with f;
	// refusal the one of a definite refusal (its reason contains reason).
	fail    func(f fault) any
	refusal any
	reason  string
	// window is how long the provider keeps an idempotency key (0: for
	// ever); advance moves the fake's clock.
	window  time.Duration
	advance func(t *testing.T, d time.Duration)
	// reverse reverses (cancels) the payment of rw at the provider; nil
	// when the provider has no reversal of this kind of payment.
	reverse func(t *testing.T, rw rewards.Reward, ref string)
}

// railCase is one rail and reward kind the scenarios run for.
type railCase struct {
	name  string
	rail  string
	kind  string
	party string
	payee payees.Payee
	start func(t *testing.T, c *clock) *fake
	// stuck lists the faults after which the provider may replay its
	// ambiguous answer for the key until its window passes (Stripe
	// keeps a 500 for 24 h), so the reward may stay sending until then.
	stuck map[fault]bool
	// findsPastWindow: a payment is still found once the provider's
	// idempotency window has passed.
	findsPastWindow bool
}

func railCases() []railCase {
	stuckStripe := map[fault]bool{status500: true}
	return []railCase{
		{name: "stripe cash", rail: rewards.RailStripe, kind: program.KindCash, party: program.PartyReferrer,
			payee: payees.Payee{Method: payees.MethodStripe, Details: payees.Details{Account: "acct_1PartnerAnn"}},
			start: startStripe("transfers"), stuck: stuckStripe, findsPastWindow: true},
		{name: "stripe credit", rail: rewards.RailStripe, kind: program.KindCredit, party: program.PartyReferee,
			payee: payees.Payee{Method: payees.MethodStripe, Details: payees.Details{Customer: "cus_1NewCustomer"}},
			start: startStripe("cbtxn:cus_1NewCustomer"), stuck: stuckStripe, findsPastWindow: true},
		{name: "stripe discount", rail: rewards.RailStripe, kind: program.KindDiscount, party: program.PartyReferee,
			payee: payees.Payee{Method: payees.MethodStripe, Details: payees.Details{Customer: "cus_1NewCustomer"}},
			// The fault hits the coupon, the first of two calls: a 500
			// after creating it is replayed for the coupon's key.
			start: startStripe("promotion_codes"), stuck: map[fault]bool{status500: true, status500After: true}, findsPastWindow: true},
		{name: "paypal cash", rail: rewards.RailPayPal, kind: program.KindCash, party: program.PartyReferrer,
			payee: payees.Payee{Method: payees.MethodPayPal, Details: payees.Details{Email: "ann@partner.example"}},
			start: startPayPal, stuck: map[fault]bool{}},
		{name: "tremendous gift card", rail: rewards.RailTremendous, kind: program.KindGiftCard, party: program.PartyReferrer,
			payee: payees.Payee{Method: payees.MethodGiftCard, Details: payees.Details{Name: "Ann Partner", Email: "ann@partner.example"}},
			start: startTremendous, stuck: map[fault]bool{}, findsPastWindow: true},
	}
}

func startStripe(list string) func(t *testing.T, c *clock) *fake {
	return func(t *testing.T, c *clock) *fake {
		f, err := fakes.NewStripe(fakes.LocalStripeAPIKey, c.Now)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(f.Close)
		return &fake{
			settings: map[string]string{stripe.SettingAPIKey: fakes.LocalStripeAPIKey, stripe.SettingAPIURL: f.URL()},
			admin:    f.Admin(), requests: f.Requests,
			payments: func(*testing.T) []string {
				var ids []string
				for _, o := range f.Objects(list) {
					ids = append(ids, o["id"].(string))
				}
				return ids
			},
			fail: func(fl fault) any {
				return [...]fakes.StripeFailure{{Hangup: true, After: true}, {Status: 500, After: true}, {Status: 500}, {Status: 429}, {Status: 409}}[fl]
			},
			refusal: fakes.StripeFailure{Status: 400, Type: "invalid_request_error", Code: "balance_insufficient",
				Message: "You have insufficient available funds in your Stripe account."},
			reason: "balance_insufficient", window: fakes.StripeIdempotencyWindow,
			advance: func(*testing.T, time.Duration) {}, // the fake reads the test's clock
			reverse: reverseStripe(list, f.Admin()),
		}
	}
}

func reverseStripe(list string, admin http.Handler) func(*testing.T, rewards.Reward, string) {
	if list != "transfers" {
		return nil // credit and coupons have no reversal at Stripe
	}
	return func(t *testing.T, _ rewards.Reward, ref string) {
		control(t, admin, "/transfers/"+ref+"/reverse", struct{}{})
	}
}

func railFaults(fl fault) any {
	return [...]fakes.RailFault{{HangUp: true}, {Status: 500, After: true}, {Status: 500}, {Status: 429}, {Status: 409}}[fl]
}

func startPayPal(t *testing.T, _ *clock) *fake {
	f := fakes.NewPayPal(fakes.LocalPayPalClientID, fakes.LocalPayPalClientSecret)
	t.Cleanup(f.Close)
	return &fake{
		settings: map[string]string{paypal.SettingClientID: fakes.LocalPayPalClientID,
			paypal.SettingClientSecret: fakes.LocalPayPalClientSecret, paypal.SettingAPIURL: f.URL()},
		admin: f.Admin(), requests: f.Requests,
		payments: func(t *testing.T) []string {
			var st struct {
				Payouts []struct {
					Header struct {
						ID string `json:"payout_batch_id"`
					} `json:"batch_header"`
				} `json:"payouts"`
			}
			state(t, f.Admin(), &st)
			var ids []string
			for _, p := range st.Payouts {
				ids = append(ids, p.Header.ID)
			}
			return ids
		},
		fail:    railFaults,
		refusal: fakes.RailFault{Status: 422, Code: "INSUFFICIENT_FUNDS"}, reason: "INSUFFICIENT_FUNDS",
		window: fakes.PayPalIdempotencyWindow,
		advance: func(t *testing.T, d time.Duration) {
			control(t, f.Admin(), "/clock", fakes.StripeClock{AdvanceSeconds: int64(d / time.Second)})
		},
		reverse: func(t *testing.T, rw rewards.Reward, _ string) {
			control(t, f.Admin(), "/items", fakes.PayPalItemStatus{SenderBatchID: rw.IdempotencyKey, Status: "REVERSED"})
		},
	}
}

func startTremendous(t *testing.T, _ *clock) *fake {
	f := fakes.NewTremendous(fakes.LocalTremendousAPIKey)
	t.Cleanup(f.Close)
	return &fake{
		settings: map[string]string{tremendous.SettingAPIKey: fakes.LocalTremendousAPIKey, tremendous.SettingAPIURL: f.URL(),
			rails.SettingTremendousProducts: "OKMHM2X2OHYV"},
		admin: f.Admin(), requests: f.Requests,
		payments: func(t *testing.T) []string {
			var st struct {
				Orders []struct {
					ID string `json:"id"`
				} `json:"orders"`
			}
			state(t, f.Admin(), &st)
			var ids []string
			for _, o := range st.Orders {
				ids = append(ids, o.ID)
			}
			return ids
		},
		fail:    railFaults,
		refusal: fakes.RailFault{Status: 422, Code: "Funding source has insufficient funds"}, reason: "insufficient funds",
		advance: func(*testing.T, time.Duration) {}, // external_id has no window
		reverse: func(t *testing.T, rw rewards.Reward, _ string) {
			control(t, f.Admin(), "/orders", fakes.TremendousOrderStatus{ExternalID: rw.IdempotencyKey, Status: "CANCELED"})
		},
	}
}

// control posts v as JSON to a fake's control API.
func control(t *testing.T, admin http.Handler, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	admin.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(b)))
	if w.Code != http.StatusOK {
		t.Fatalf("control %s: %d %s", path, w.Code, w.Body)
	}
}

// state reads a fake's state from its control API.
func state(t *testing.T, admin http.Handler, into any) {
	t.Helper()
	w := httptest.NewRecorder()
	admin.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if err := json.Unmarshal(w.Body.Bytes(), into); w.Code != http.StatusOK || err != nil {
		t.Fatalf("state: %d %v %s", w.Code, err, w.Body)
	}
}

// env is one scenario's world: a referral that reached "won", whose
// program pays one reward of the case's kind through its rail.
type env struct {
	c     railCase
	fake  *fake
	clock *clock
	repo  *flakyRepo
	src   *payeeSource
	rail  rewards.Rail
	svc   *rewards.Service
	prog  *program.Program
	ref   *referral.Referral
}

func newEnv(t *testing.T, c railCase) *env {
	t.Helper()
	e := &env{c: c, clock: &clock{t: t0}, repo: &flakyRepo{Repo: rewardstest.New()},
		src: &payeeSource{m: map[string]payees.Payee{c.party: c.payee}}}
	e.fake = c.start(t, e.clock)
	built, skipped, err := rails.New(context.Background(), getter(e.fake.settings), errMissing, e.src, e.clock.Now)
	if err != nil || len(skipped) > 0 || built[c.rail] == nil {
		t.Fatalf("rails.New = %v, skipped %v, %v", built, skipped, err)
	}
	e.rail = built[c.rail]
	e.svc = &rewards.Service{Repo: e.repo, Rails: built, Payees: payees.Checker{Src: e.src}, Now: e.clock.Now}
	e.prog = &program.Program{ID: "partners", Version: 1, Currency: "USD", Payout: program.Payout{Method: c.rail},
		Milestones: []program.Milestone{{Name: "won", Rewards: []program.Reward{{Party: c.party, Kind: c.kind, AmountMinor: 5000}}}}}
	e.ref = &referral.Referral{ID: refID, ProgramID: "partners", ProgramVersion: 1, ReferrerCode: "ann-42",
		Status: referral.StatusInProgress, Milestones: map[string]time.Time{"won": t0}}
	held, err := e.svc.Hold(context.Background(), e.ref, e.prog, "won")
	if err != nil || len(held.Rewards) != 1 || held.Rewards[0].Status != rewards.StatusPending {
		t.Fatalf("Hold = %+v, %v", held, err)
	}
	return e
}

// reward is the reward as stored now.
func (e *env) reward(t *testing.T) rewards.Reward {
	t.Helper()
	rw, ok := e.repo.Get(refID, "won", e.c.party)
	if !ok {
		t.Fatal("the reward is not stored")
	}
	return rw
}

// pay runs the workflow's pay step.
func (e *env) pay() error {
	_, err := e.svc.Pay(context.Background(), e.ref, e.prog, "won")
	return err
}

// payOne pays rw as the payouts runner or an operator does.
func (e *env) payOne(rw rewards.Reward) (rewards.Reward, error) {
	return e.svc.PayOne(context.Background(), e.ref, e.prog, rw, "payouts")
}

// runner runs the payouts runner once: every reward filed for it and due
// now is paid with PayOne (as functions/payouts does). It returns the
// errors of the rewards it could not settle.
func (e *env) runner(t *testing.T) []error {
	t.Helper()
	due, err := e.repo.DueRewards(context.Background(), e.clock.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	for _, d := range due {
		rw, ok := e.repo.Get(d.ReferralID, d.Milestone, d.Party)
		if !ok {
			t.Fatalf("filed reward %s is not stored", d.RewardID)
		}
		if _, err := e.payOne(rw); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// inject makes the fake's next request fail with body.
func (e *env) inject(t *testing.T, body any) { t.Helper(); control(t, e.fake.admin, "/failures", body) }

// advance moves the service's, the rail's and the fake's clocks.
func (e *env) advance(t *testing.T, d time.Duration) {
	t.Helper()
	e.clock.advance(d)
	e.fake.advance(t, d)
}

// wantStatus checks the stored reward's status.
func (e *env) wantStatus(t *testing.T, want rewards.Status) rewards.Reward {
	t.Helper()
	rw := e.reward(t)
	if rw.Status != want {
		t.Fatalf("reward is %s (%s), want %s", rw.Status, rw.StatusReason, want)
	}
	return rw
}

// wantPayments checks how many payments the fake holds.
func (e *env) wantPayments(t *testing.T, n int) []string {
	t.Helper()
	ids := e.fake.payments(t)
	if len(ids) != n {
		t.Fatalf("the fake holds %d payments %v, want %d", len(ids), ids, n)
	}
	return ids
}

// wantPaidOnce checks the reward is paid, with one payable ledger entry,
// and the fake holds exactly one payment: the one the ledger references.
func (e *env) wantPaidOnce(t *testing.T) {
	t.Helper()
	rw := e.wantStatus(t, rewards.StatusPaid)
	ids := e.wantPayments(t, 1)
	var payable []rewards.Entry
	for _, en := range e.repo.Entries() {
		if en.Type == rewards.EntryPayable {
			payable = append(payable, en)
		}
	}
	if len(payable) != 1 || payable[0].Method != e.c.rail || payable[0].Reference != ids[0] || rw.Reference != ids[0] {
		t.Fatalf("payable entries %+v, reward reference %q, want one %s entry referencing %s", payable, rw.Reference, e.c.rail, ids[0])
	}
}

// wantErr checks err wraps want (nil: no error).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

// contains reports whether s contains sub, ignoring case.
func contains(s, sub string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(sub)) }
