package paypal_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/fakes"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/paypal"
)

type payees map[string]string // party -> email

func (p payees) Payee(_ context.Context, _, party, _ string) (paypal.Payee, error) {
	e, ok := p[party]
	if !ok {
		return paypal.Payee{}, errors.New("no payout method")
	}
	return paypal.Payee{Email: e}, nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(t *testing.T) (*fakes.PayPal, *paypal.Rail, *clock) {
	t.Helper()
	f := fakes.NewPayPal("cid", "secret")
	t.Cleanup(f.Close)
	c := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	rail, err := paypal.New(paypal.Config{BaseURL: f.URL(), ClientID: "cid", ClientSecret: "secret"},
		payees{"referrer": "partner@example.com"}, &http.Client{Timeout: 5 * time.Second}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return f, rail, c
}

func reward(id string) rewards.Reward {
	return rewards.Reward{ID: id, ReferralID: "ref-1", ProgramID: "p", Milestone: "won", Party: "referrer",
		AmountMinor: 12550, Currency: "USD", IdempotencyKey: rewards.IdempotencyKey(id)}
}

func control(t *testing.T, f *fakes.PayPal, path, body string) {
	t.Helper()
	rec := httptest.NewRecorder()
	f.Admin().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	if rec.Code != http.StatusOK {
		b, _ := io.ReadAll(rec.Body)
		t.Fatalf("control %s = %d %s", path, rec.Code, b)
	}
}

// Sending a reward twice pays once: the repeat is refused by PayPal as a
// used sender_batch_id and resolves to the first payout.
func TestARepeatedSendPaysOnce(t *testing.T) {
	f, rail, _ := setup(t)
	ctx := context.Background()
	first, err := rail.Send(ctx, reward("rw_1"))
	if err != nil || first.Method != paypal.Method || first.Reference == "" {
		t.Fatalf("send = %+v, %v", first, err)
	}
	again, err := rail.Send(ctx, reward("rw_1"))
	if err != nil || again != first {
		t.Fatalf("repeat = %+v, %v; want %+v", again, err, first)
	}
	found, ok, err := rail.Find(ctx, reward("rw_1"))
	if err != nil || !ok || found != first {
		t.Fatalf("find = %+v %v %v", found, ok, err)
	}
	if f.Payouts() != 1 {
		t.Errorf("payouts = %d, want 1", f.Payouts())
	}
}

// A hang-up after PayPal processed the payout, a 5xx after processing, and
// a 5xx, 409 or 429 before it are unknown outcomes; Find tells which.
func TestAmbiguousAnswersAreUnknownUntilFound(t *testing.T) {
	for _, tc := range []struct {
		name, fault string
		paid        bool
	}{
		{"hang-up after processing", `{"hang_up":true}`, true},
		{"500 after processing", `{"status":500,"after":true}`, true},
		{"503 before processing", `{"status":503}`, false},
		{"409", `{"status":409}`, false},
		{"429", `{"status":429}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, rail, _ := setup(t)
			ctx := context.Background()
			if _, _, err := rail.Find(ctx, reward("rw_2")); err != nil {
				t.Fatal(err) // gets the token before the fault
			}
			control(t, f, "/failures", tc.fault)
			if _, err := rail.Send(ctx, reward("rw_2")); !errors.Is(err, rewards.ErrUnknownOutcome) {
				t.Fatalf("send err = %v, want unknown outcome", err)
			}
			tr, found, err := rail.Find(ctx, reward("rw_2"))
			if err != nil || found != tc.paid || tc.paid && tr.Reference == "" {
				t.Fatalf("find = %+v %v %v, want found %v", tr, found, err, tc.paid)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.paid]; f.Payouts() != want {
				t.Errorf("payouts = %d, want %d (Find must never pay)", f.Payouts(), want)
			}
		})
	}
}

// A definite refusal carries PayPal's reason and pays nothing.
func TestADefinite4xxIsRefusedWithItsReason(t *testing.T) {
	f, rail, _ := setup(t)
	control(t, f, "/failures", `{"status":422,"code":"INSUFFICIENT_FUNDS"}`)
	_, err := rail.Send(context.Background(), reward("rw_3"))
	if !errors.Is(err, rewards.ErrRefused) || !strings.Contains(err.Error(), "INSUFFICIENT_FUNDS") {
		t.Fatalf("err = %v", err)
	}
	if f.Payouts() != 0 {
		t.Error("a refused payout was created")
	}
	if _, err := rail.Send(context.Background(), rewards.Reward{ID: "rw_x", Party: "nobody", AmountMinor: 1, Currency: "USD", IdempotencyKey: "k"}); err == nil ||
		errors.Is(err, rewards.ErrRefused) || errors.Is(err, rewards.ErrUnknownOutcome) {
		t.Errorf("no payee: err = %v, want a plain error (nothing sent)", err)
	}
}

// Item statuses map to paid, refused or reversed, for Send and Find.
func TestItemStatuses(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   error
	}{
		{"SUCCESS", nil}, {"PENDING", nil}, {"UNCLAIMED", nil}, {"ONHOLD", nil},
		{"FAILED", rewards.ErrRefused}, {"RETURNED", rewards.ErrRefused}, {"BLOCKED", rewards.ErrRefused}, {"DENIED", rewards.ErrRefused},
		{"REVERSED", rewards.ErrReversed}, {"REFUNDED", rewards.ErrReversed},
	} {
		t.Run(tc.status, func(t *testing.T) {
			f, rail, _ := setup(t)
			ctx := context.Background()
			first, err := rail.Send(ctx, reward("rw_4"))
			if err != nil {
				t.Fatal(err)
			}
			control(t, f, "/items", `{"sender_batch_id":"`+rewards.IdempotencyKey("rw_4")+`","status":"`+tc.status+`","error":"RECEIVER_ACCOUNT_LOCKED"}`)
			tr, found, err := rail.Find(ctx, reward("rw_4"))
			if !found || tr != first || !errors.Is(err, tc.want) || tc.want == nil && err != nil {
				t.Errorf("find = %+v %v %v, want %v", tr, found, err, tc.want)
			}
			if _, err := rail.Send(ctx, reward("rw_4")); !errors.Is(err, tc.want) || tc.want == nil && err != nil {
				t.Errorf("send again: err = %v, want %v", err, tc.want)
			}
			if f.Payouts() != 1 {
				t.Errorf("payouts = %d", f.Payouts())
			}
		})
	}
}

// The access token is reused until it is about to expire, renewed then,
// and renewed at once when PayPal stops accepting it.
func TestTheTokenIsCachedAndRenewed(t *testing.T) {
	f, rail, c := setup(t)
	ctx := context.Background()
	for _, id := range []string{"rw_5", "rw_6"} {
		if _, err := rail.Send(ctx, reward(id)); err != nil {
			t.Fatal(err)
		}
	}
	if f.TokensIssued() != 1 {
		t.Fatalf("tokens = %d, want 1 (cached)", f.TokensIssued())
	}
	c.t = c.t.Add(9 * time.Hour) // expires_in 32400 s, less the margin
	if _, err := rail.Send(ctx, reward("rw_7")); err != nil || f.TokensIssued() != 2 {
		t.Fatalf("after expiry: err %v, tokens %d", err, f.TokensIssued())
	}
	control(t, f, "/tokens/expire", ``)
	if _, err := rail.Send(ctx, reward("rw_8")); err != nil || f.TokensIssued() != 3 {
		t.Fatalf("after revocation: err %v, tokens %d", err, f.TokensIssued())
	}
	if f.Payouts() != 4 {
		t.Errorf("payouts = %d, want 4", f.Payouts())
	}
	bad, _ := paypal.New(paypal.Config{BaseURL: f.URL(), ClientID: "cid", ClientSecret: "wrong"}, payees{"referrer": "a@b.c"}, nil, nil)
	if _, err := bad.Send(ctx, reward("rw_9")); err == nil || errors.Is(err, rewards.ErrUnknownOutcome) || errors.Is(err, rewards.ErrRefused) {
		t.Errorf("bad credentials: err = %v, want a plain error", err)
	}
}
