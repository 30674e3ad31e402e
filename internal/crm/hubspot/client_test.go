package hubspot_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/crm/hubspot/hubspottest"
	"github.com/referflow/referflow/internal/money"
)

func newFake(t *testing.T) (*hubspottest.Server, *hubspot.Client) {
	t.Helper()
	fake := hubspottest.NewServer()
	t.Cleanup(fake.Close)
	fake.RequireToken("pat-test")
	fake.AddDeal(hubspottest.Deal{ID: "1001", Pipeline: "default", Stage: "closedwon", Amount: "12500.50", Currency: "EUR",
		Properties: map[string]string{"referral_id": "ref_1"}, ContactIDs: []string{"501", "502"}})
	fake.AddDeal(hubspottest.Deal{ID: "1002", Pipeline: "777", Stage: "888"}) // no amount, no contact
	fake.AddDeal(hubspottest.Deal{ID: "1003", Stage: "s", ContactIDs: []string{"599"}})
	fake.AddContact("501", "Ann@Example.com")
	c := hubspot.NewClient(hubspot.ClientConfig{BaseURL: fake.URL, AccessToken: "pat-test"}, &http.Client{Timeout: 5 * time.Second})
	return fake, c
}

func TestClientDeal(t *testing.T) {
	fake, c := newFake(t)
	ctx := context.Background()
	tests := []struct {
		id   string
		want hubspot.Deal
		reqs int
	}{
		{"1001", hubspot.Deal{ID: "1001", Pipeline: "default", Stage: "closedwon", Amount: &money.Money{Minor: 1250050, Currency: "EUR"}, ReferralID: "ref_1", ContactID: "501", Email: "ann@example.com"}, 2},
		{"1002", hubspot.Deal{ID: "1002", Pipeline: "777", Stage: "888"}, 1},
		{"1003", hubspot.Deal{ID: "1003", Stage: "s", ContactID: "599"}, 2}, // contact gone: no email, no error
	}
	for _, tt := range tests {
		before := fake.Requests()
		got, err := c.Deal(ctx, tt.id)
		if err != nil {
			t.Fatalf("Deal(%s): %v", tt.id, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Deal(%s) = %+v, want %+v", tt.id, got, tt.want)
		}
		if n := fake.Requests() - before; n != tt.reqs {
			t.Errorf("Deal(%s) made %d requests, want %d", tt.id, n, tt.reqs)
		}
	}
}

func TestClientErrors(t *testing.T) {
	fake, c := newFake(t)
	ctx := context.Background()

	if _, err := c.Deal(ctx, "404404"); !errors.Is(err, hubspot.ErrNotFound) || hubspot.IsRetryable(err) {
		t.Errorf("unknown deal: %v", err)
	}
	if _, err := c.Deal(ctx, "../contacts/501"); err == nil {
		t.Error("non-numeric id accepted")
	}
	for _, status := range []int{429, 500, 502, 503} {
		fake.FailNext(1, status)
		_, err := c.Deal(ctx, "1001")
		var re *hubspot.RetryableError
		if !hubspot.IsRetryable(err) || !errors.As(err, &re) || re.StatusCode != status {
			t.Errorf("HTTP %d: err = %v, want retryable", status, err)
		}
		if status == 429 && re.RetryAfter != time.Second {
			t.Errorf("Retry-After = %v", re.RetryAfter)
		}
	}
	fake.FailNext(1, 401)
	if _, err := c.Deal(ctx, "1001"); err == nil || hubspot.IsRetryable(err) {
		t.Errorf("401: err = %v, want permanent", err)
	}
	// The contact look-up failing transiently fails the whole call.
	fake.FailAll(0)
	bad := hubspot.NewClient(hubspot.ClientConfig{BaseURL: fake.URL, AccessToken: "wrong"}, nil)
	if _, err := bad.Deal(ctx, "1001"); err == nil || hubspot.IsRetryable(err) {
		t.Errorf("wrong token: err = %v", err)
	}
	fake.Close()
	if _, err := c.Deal(ctx, "1001"); !hubspot.IsRetryable(err) {
		t.Errorf("server down: err = %v, want retryable", err)
	}
}

func TestEnrich(t *testing.T) {
	fake, c := newFake(t)
	ctx := context.Background()
	tests := []struct {
		name string
		in   crm.Event
		want crm.Event
		reqs int
	}{
		{
			name: "stage change gets pipeline, amount, referral and email; keeps its stage",
			in:   crm.Event{Kind: crm.KindStageChanged, RecordID: "1001", Stage: "appointmentscheduled"},
			want: crm.Event{Kind: crm.KindStageChanged, RecordID: "1001", Pipeline: "default", Stage: "appointmentscheduled", Amount: &money.Money{Minor: 1250050, Currency: "EUR"}, ReferralID: "ref_1", Email: "ann@example.com"},
			reqs: 2,
		},
		{
			name: "amount change gets its currency",
			in:   crm.Event{Kind: crm.KindAmountChanged, RecordID: "1001", Amount: &money.Money{Minor: 900}},
			want: crm.Event{Kind: crm.KindAmountChanged, RecordID: "1001", Pipeline: "default", Amount: &money.Money{Minor: 900, Currency: "EUR"}, ReferralID: "ref_1", Email: "ann@example.com"},
			reqs: 2,
		},
		{
			name: "deleted events are not looked up",
			in:   crm.Event{Kind: crm.KindDeleted, RecordID: "1001"},
			want: crm.Event{Kind: crm.KindDeleted, RecordID: "1001"},
		},
		{
			name: "complete events are not looked up",
			in:   crm.Event{Kind: crm.KindStageChanged, RecordID: "1", Pipeline: "p", Stage: "s", Amount: &money.Money{}, ReferralID: "r", Email: "e"},
			want: crm.Event{Kind: crm.KindStageChanged, RecordID: "1", Pipeline: "p", Stage: "s", Amount: &money.Money{}, ReferralID: "r", Email: "e"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fake.Requests()
			ev := tt.in
			if err := hubspot.Enrich(ctx, c, &ev); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ev, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", ev, tt.want)
			}
			if n := fake.Requests() - before; n != tt.reqs {
				t.Errorf("%d requests, want %d", n, tt.reqs)
			}
		})
	}
	ev := crm.Event{Kind: crm.KindStageChanged, RecordID: "1001"}
	fake.FailNext(1, 503)
	if err := hubspot.Enrich(ctx, c, &ev); !hubspot.IsRetryable(err) {
		t.Errorf("err = %v, want retryable", err)
	}
	if err := hubspot.Enrich(ctx, c, &crm.Event{Kind: crm.KindCreated}); err == nil {
		t.Error("event without deal id enriched")
	}
}

func TestFakeListen(t *testing.T) {
	fake, err := hubspottest.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	fake.AddDeal(hubspottest.Deal{ID: "1", Stage: "s"})
	d, err := hubspot.NewClient(hubspot.ClientConfig{BaseURL: fake.URL}, nil).Deal(context.Background(), "1")
	if err != nil || d.Stage != "s" {
		t.Fatalf("Deal = %+v, %v", d, err)
	}
}
