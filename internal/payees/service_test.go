package payees_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/payees"
)

// memStore keeps payees in maps; partners maps a code to its key.
type memStore struct {
	partners  map[string]string // program/code -> key
	referrals map[string]bool
	byPartner map[string]payees.Record // program/key
	byReferee map[string]payees.Record
	writes    int
}

func newMemStore() *memStore {
	return &memStore{partners: map[string]string{"p1/ANNA": "ANN42", "p1/ANN42": "ANN42"}, referrals: map[string]bool{"ref_1": true},
		byPartner: map[string]payees.Record{}, byReferee: map[string]payees.Record{}}
}

func (m *memStore) PartnerKey(_ context.Context, programID, code string) (string, error) {
	if k, ok := m.partners[programID+"/"+code]; ok {
		return k, nil
	}
	return "", payees.ErrNotFound
}
func (m *memStore) PutPartnerPayee(_ context.Context, programID, key string, r payees.Record) error {
	m.writes++
	m.byPartner[programID+"/"+key] = r
	return nil
}
func (m *memStore) PartnerPayee(_ context.Context, programID, key string) (*payees.Record, error) {
	return get(m.byPartner, programID+"/"+key)
}
func (m *memStore) DeletePartnerPayee(_ context.Context, programID, key string) error {
	return del(m.byPartner, programID+"/"+key)
}
func (m *memStore) PutRefereePayee(_ context.Context, id string, r payees.Record) error {
	if !m.referrals[id] {
		return payees.ErrNotFound
	}
	m.writes++
	m.byReferee[id] = r
	return nil
}
func (m *memStore) RefereePayee(_ context.Context, id string) (*payees.Record, error) {
	return get(m.byReferee, id)
}
func (m *memStore) DeleteRefereePayee(_ context.Context, id string) error {
	return del(m.byReferee, id)
}

func get(m map[string]payees.Record, k string) (*payees.Record, error) {
	if r, ok := m[k]; ok {
		return &r, nil
	}
	return nil, payees.ErrNotFound
}

func del(m map[string]payees.Record, k string) error {
	if _, ok := m[k]; !ok {
		return payees.ErrNotFound
	}
	delete(m, k)
	return nil
}

var t0 = time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC)

// A partner's payee is recorded under its lifelong key (a changed code
// finds it), with who changed it and when; bad input writes nothing.
func TestServiceRecordsAPartnersPayee(t *testing.T) {
	ctx := context.Background()
	m := newMemStore()
	now := t0
	svc := &payees.Service{Store: m, Now: func() time.Time { return now }}
	r, err := svc.SetPartner(ctx, "p1", "ANN42", payees.Payee{Method: "paypal", Details: payees.Details{Email: "Ann@Agency.example"}}, "admin")
	if err != nil || r.Details.Email != "ann@agency.example" || !r.UpdatedAt.Equal(t0) || r.UpdatedBy != "admin" {
		t.Fatalf("set: %+v %v", r, err)
	}
	now = t0.Add(time.Hour)
	if _, err := svc.SetPartner(ctx, "p1", "ANNA", payees.Payee{Method: "stripe", Details: payees.Details{Account: "acct_9"}}, "operator"); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Partner(ctx, "p1", "ANN42")
	if err != nil || got.Method != payees.MethodStripe || got.UpdatedBy != "operator" || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after a change under the new code: %+v %v", got, err)
	}
	var inv *payees.Invalid
	if _, err := svc.SetPartner(ctx, "p1", "ANN42", payees.Payee{Method: "stripe", Details: payees.Details{Account: "bad"}}, "admin"); !errors.As(err, &inv) || m.writes != 2 {
		t.Fatalf("invalid: %v, %d writes", err, m.writes)
	}
	if _, err := svc.SetPartner(ctx, "p1", "NOBODY", payees.Payee{Method: "stripe", Details: payees.Details{Account: "acct_1"}}, "admin"); !errors.Is(err, payees.ErrNotFound) || m.writes != 2 {
		t.Fatalf("unknown partner: %v, %d writes", err, m.writes)
	}
	if err := svc.RemovePartner(ctx, "p1", "ANNA"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Partner(ctx, "p1", "ANN42"); !errors.Is(err, payees.ErrNotFound) {
		t.Fatalf("after removal: %v", err)
	}
	if err := svc.RemovePartner(ctx, "p1", "ANNA"); !errors.Is(err, payees.ErrNotFound) {
		t.Fatalf("second removal: %v", err)
	}
}

// A referee's payee is its Stripe customer, on an existing referral only.
func TestServiceRecordsARefereesPayee(t *testing.T) {
	ctx := context.Background()
	m := newMemStore()
	svc := &payees.Service{Store: m, Now: func() time.Time { return t0 }}
	if _, err := svc.SetReferee(ctx, "ref_1", payees.Payee{Method: "stripe", Details: payees.Details{Customer: "cus_1"}}, "admin"); err != nil {
		t.Fatal(err)
	}
	if r, err := svc.Referee(ctx, "ref_1"); err != nil || r.Details.Customer != "cus_1" || !r.UpdatedAt.Equal(t0) {
		t.Fatalf("read: %+v %v", r, err)
	}
	if _, err := svc.SetReferee(ctx, "ref_nope", payees.Payee{Method: "stripe", Details: payees.Details{Customer: "cus_1"}}, "admin"); !errors.Is(err, payees.ErrNotFound) {
		t.Fatalf("unknown referral: %v", err)
	}
	var inv *payees.Invalid
	if _, err := svc.SetReferee(ctx, "ref_1", payees.Payee{Method: "stripe", Details: payees.Details{Account: "acct_1"}}, "admin"); !errors.As(err, &inv) || m.writes != 1 {
		t.Fatalf("a connected account for a referee: %v, %d writes", err, m.writes)
	}
	if err := svc.RemoveReferee(ctx, "ref_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Referee(ctx, "ref_1"); !errors.Is(err, payees.ErrNotFound) {
		t.Fatalf("after removal: %v", err)
	}
}

// waking records which parties' waiting rewards were made due, and when.
type waking struct{ woken []string }

func (w *waking) WakePartner(_ context.Context, programID, key string, now time.Time) error {
	w.woken = append(w.woken, "partner "+programID+"/"+key+" "+now.Format(time.RFC3339))
	return nil
}

func (w *waking) WakeReferee(_ context.Context, referralID string, now time.Time) error {
	w.woken = append(w.woken, "referee "+referralID+" "+now.Format(time.RFC3339))
	return errors.New("table busy") // best effort: the payee is recorded anyway
}

// TestRecordingAPayeeWakesItsWaitingRewards: a payee recorded makes the
// party's rewards waiting for a payout method due at once; invalid input
// wakes nothing.
func TestRecordingAPayeeWakesItsWaitingRewards(t *testing.T) {
	m, w := newMemStore(), &waking{}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	svc := &payees.Service{Store: m, Now: func() time.Time { return now }, Waiting: w}
	ctx := context.Background()
	if _, err := svc.SetPartner(ctx, "p1", "ANNA", payees.Payee{Method: payees.MethodStripe, Details: payees.Details{Account: "acct_1"}}, "ops"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetReferee(ctx, "ref_1", payees.Payee{Method: payees.MethodStripe, Details: payees.Details{Customer: "cus_1"}}, "ops"); err != nil {
		t.Fatalf("a failed wake must not fail the recording: %v", err)
	}
	if _, err := svc.SetPartner(ctx, "p1", "ANNA", payees.Payee{Method: payees.MethodStripe}, "ops"); err == nil {
		t.Fatal("invalid payee accepted")
	}
	want := []string{"partner p1/ANN42 2026-12-01T09:00:00Z", "referee ref_1 2026-12-01T09:00:00Z"}
	if len(w.woken) != 2 || w.woken[0] != want[0] || w.woken[1] != want[1] {
		t.Fatalf("woken %q, want %q", w.woken, want)
	}
}
