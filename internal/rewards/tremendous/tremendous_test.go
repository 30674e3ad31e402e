package tremendous_test

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
	"github.com/referflow/referflow/internal/rewards/tremendous"
)

type payees map[string]tremendous.Recipient

func (p payees) Payee(_ context.Context, _, party, _ string) (tremendous.Recipient, error) {
	r, ok := p[party]
	if !ok {
		return tremendous.Recipient{}, errors.New("no payout method")
	}
	return r, nil
}

func setup(t *testing.T) (*fakes.Tremendous, *tremendous.Rail) {
	t.Helper()
	f := fakes.NewTremendous("key")
	t.Cleanup(f.Close)
	rail, err := tremendous.New(tremendous.Config{BaseURL: f.URL(), APIKey: "key", Products: []string{"OKMHM2X2OHYV"}},
		payees{"referee": {Name: "Jane Doe", Email: "jane@example.com"}}, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return f, rail
}

func reward(id string) rewards.Reward {
	return rewards.Reward{ID: id, ReferralID: "ref-1", ProgramID: "p", Milestone: "won", Party: "referee",
		AmountMinor: 5000, Currency: "USD", IdempotencyKey: rewards.IdempotencyKey(id)}
}

func control(t *testing.T, f *fakes.Tremendous, path, body string) {
	t.Helper()
	rec := httptest.NewRecorder()
	f.Admin().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	if rec.Code != http.StatusOK {
		b, _ := io.ReadAll(rec.Body)
		t.Fatalf("control %s = %d %s", path, rec.Code, b)
	}
}

// A repeated order with the same external_id answers the first order and
// creates nothing; Find lists it by external_id.
func TestARepeatedSendOrdersOnce(t *testing.T) {
	f, rail := setup(t)
	ctx := context.Background()
	first, err := rail.Send(ctx, reward("rw_1"))
	if err != nil || first.Method != tremendous.Method || first.Reference == "" {
		t.Fatalf("send = %+v, %v", first, err)
	}
	again, err := rail.Send(ctx, reward("rw_1"))
	if err != nil || again != first {
		t.Fatalf("repeat = %+v, %v", again, err)
	}
	found, ok, err := rail.Find(ctx, reward("rw_1"))
	if err != nil || !ok || found != first {
		t.Fatalf("find = %+v %v %v", found, ok, err)
	}
	if _, ok, err := rail.Find(ctx, reward("rw_other")); ok || err != nil {
		t.Errorf("find of an unsent reward = %v %v", ok, err)
	}
	if f.Orders() != 1 {
		t.Errorf("orders = %d, want 1", f.Orders())
	}
}

func TestAmbiguousAnswersAreUnknownUntilFound(t *testing.T) {
	for _, tc := range []struct {
		name, fault string
		paid        bool
	}{
		{"hang-up after processing", `{"hang_up":true}`, true},
		{"502 after processing", `{"status":502,"after":true}`, true},
		{"500 before processing", `{"status":500}`, false},
		{"409", `{"status":409}`, false},
		{"429", `{"status":429}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, rail := setup(t)
			ctx := context.Background()
			control(t, f, "/failures", tc.fault)
			if _, err := rail.Send(ctx, reward("rw_2")); !errors.Is(err, rewards.ErrUnknownOutcome) {
				t.Fatalf("send err = %v", err)
			}
			tr, found, err := rail.Find(ctx, reward("rw_2"))
			if err != nil || found != tc.paid || tc.paid && tr.Reference == "" {
				t.Fatalf("find = %+v %v %v, want found %v", tr, found, err, tc.paid)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.paid]; f.Orders() != want {
				t.Errorf("orders = %d, want %d", f.Orders(), want)
			}
		})
	}
}

func TestADefinite4xxIsRefusedWithItsReason(t *testing.T) {
	f, rail := setup(t)
	control(t, f, "/failures", `{"status":402,"code":"Insufficient funds in the balance"}`)
	if _, err := rail.Send(context.Background(), reward("rw_3")); !errors.Is(err, rewards.ErrRefused) || !strings.Contains(err.Error(), "Insufficient funds") {
		t.Fatalf("err = %v", err)
	}
	bad, _ := tremendous.New(tremendous.Config{BaseURL: f.URL(), APIKey: "key", CampaignID: "C1"},
		payees{"referee": {Name: "Jane", Email: "not-an-email"}}, nil)
	if _, err := bad.Send(context.Background(), reward("rw_4")); err == nil || errors.Is(err, rewards.ErrUnknownOutcome) {
		t.Errorf("invalid payee: err = %v", err)
	}
	if f.Orders() != 0 {
		t.Errorf("orders = %d", f.Orders())
	}
}

func TestOrderStatuses(t *testing.T) {
	for _, tc := range []struct {
		status, delivery string
		want             error
	}{
		{"EXECUTED", "SUCCEEDED", nil}, {"EXECUTED", "PENDING", nil}, {"PENDING APPROVAL", "", nil},
		{"EXECUTED", "FAILED", rewards.ErrRefused}, {"FAILED", "", rewards.ErrRefused},
		{"CANCELED", "", rewards.ErrReversed},
	} {
		t.Run(tc.status+"/"+tc.delivery, func(t *testing.T) {
			f, rail := setup(t)
			ctx := context.Background()
			first, err := rail.Send(ctx, reward("rw_5"))
			if err != nil {
				t.Fatal(err)
			}
			control(t, f, "/orders", `{"external_id":"`+rewards.IdempotencyKey("rw_5")+`","status":"`+tc.status+`","delivery":"`+tc.delivery+`"}`)
			tr, found, err := rail.Find(ctx, reward("rw_5"))
			if !found || tr != first || !errors.Is(err, tc.want) || tc.want == nil && err != nil {
				t.Errorf("find = %+v %v %v, want %v", tr, found, err, tc.want)
			}
			if _, err := rail.Send(ctx, reward("rw_5")); !errors.Is(err, tc.want) || tc.want == nil && err != nil {
				t.Errorf("send again: %v, want %v", err, tc.want)
			}
			if f.Orders() != 1 {
				t.Errorf("orders = %d", f.Orders())
			}
		})
	}
}
