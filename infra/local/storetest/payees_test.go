package storetest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/payees"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

var annIBAN = payees.Payee{Method: "manual", Details: payees.Details{AccountHolder: "Ann Lee", IBAN: "DE89 3704 0044 0532 0130 00", BIC: "COBADEFFXXX"}}

// A partner's payee is kept under its lifelong key: changing the code
// keeps it, the referrals filed under the partner find it, and no key,
// event or other item holds its details.
func TestPartnerPayeeFollowsThePartnersKey(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	svc := &payees.Service{Store: st, Now: func() time.Time { return t0 }}
	must(t, st.CreateReferrer(ctx, referral.Referrer{ProgramID: "p1", Code: "ANN42", Email: "ann@referrer.io", CreatedAt: t0}))
	r := newReferral("ref_A", "jane@acme.example", "acme.example")
	r.ReferrerCode = "ANN42"
	must(t, st.CreateReferral(ctx, store.NewReferral{Referral: r, Event: events.New(events.ReferralReceived, r.ID, "test", t0), PartnerKey: "ANN42"}))

	if _, err := payees.ForStripe(st).Payee(ctx, "p1", program.PartyReferrer, "ref_A"); !errors.Is(err, payees.ErrNoPayoutMethod) {
		t.Fatalf("before any payee: %v", err)
	}
	if _, err := svc.SetPartner(ctx, "p1", "ANN42", annIBAN, events.ActorAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ChangeCode(ctx, "p1", "ANN42", "ANNA"); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Partner(ctx, "p1", "ANNA")
	if err != nil || got.Method != payees.MethodManual || got.Details.IBAN != "DE89370400440532013000" || got.UpdatedBy != events.ActorAdmin || !got.UpdatedAt.Equal(t0) {
		t.Fatalf("payee under the new code: %+v, %v", got, err)
	}
	if rec, err := st.PayeeOf(ctx, "p1", program.PartyReferrer, "ref_A"); err != nil || rec.Details.AccountHolder != "Ann Lee" {
		t.Fatalf("PayeeOf the referral's partner: %+v, %v", rec, err)
	}
	// A manual payee is no Stripe destination; a Stripe one is.
	if _, err := payees.ForStripe(st).Payee(ctx, "p1", program.PartyReferrer, "ref_A"); !errors.Is(err, payees.ErrNoPayoutMethod) {
		t.Fatalf("stripe rail, manual payee: %v", err)
	}
	if _, err := svc.SetPartner(ctx, "p1", "ANNA", payees.Payee{Method: "stripe", Details: payees.Details{Account: "acct_1Ann"}}, events.ActorOperator); err != nil {
		t.Fatal(err)
	}
	if d, err := payees.ForStripe(st).Payee(ctx, "p1", program.PartyReferrer, "ref_A"); err != nil || d.Account != "acct_1Ann" {
		t.Fatalf("stripe rail: %+v, %v", d, err)
	}
	for _, it := range items(t, st) {
		pk, sk := str(it["PK"]), str(it["SK"])
		if strings.Contains(pk+sk, "acct_") || strings.Contains(pk+sk, "DE89") {
			t.Errorf("key %s / %s holds a payee's detail", pk, sk)
		}
		if strings.HasPrefix(sk, "EVENT#") && (strings.Contains(str(it["type"]), "payee")) {
			t.Errorf("changing a payee recorded an event: %s", sk)
		}
	}
	if it := item(t, st, "PROGRAM#p1", "PAYEE#ANN42"); str(it["updated_by"]) != events.ActorOperator {
		t.Fatalf("payee item: %v", it)
	}
	must(t, svc.RemovePartner(ctx, "p1", "ANNA"))
	if _, err := payees.ForStripe(st).Payee(ctx, "p1", program.PartyReferrer, "ref_A"); !errors.Is(err, payees.ErrNoPayoutMethod) {
		t.Fatalf("after removal: %v", err)
	}
	if err := svc.RemovePartner(ctx, "p1", "ANNA"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second removal: %v", err)
	}
	if _, err := svc.SetPartner(ctx, "p1", "NOBODY", annIBAN, events.ActorAdmin); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown partner: %v", err)
	}
}

// A referee's payee (its Stripe customer) is written only for a referral
// that exists, and the Stripe rail finds it for the referee's rewards.
func TestRefereePayeeNeedsItsReferral(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	svc := &payees.Service{Store: st, Now: func() time.Time { return t0 }}
	cus := payees.Payee{Method: "stripe", Details: payees.Details{Customer: "cus_NffrFeUfNV2Hib"}}
	if _, err := svc.SetReferee(ctx, "ref_nope", cus, events.ActorAdmin); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown referral: %v", err)
	}
	if n := len(items(t, st)); n != 0 {
		t.Fatalf("%d items written for an unknown referral", n)
	}
	create(t, st, newReferral("ref_A", "jane@acme.example", "acme.example"))
	if _, err := svc.SetReferee(ctx, "ref_A", cus, events.ActorAdmin); err != nil {
		t.Fatal(err)
	}
	if d, err := payees.ForStripe(st).Payee(ctx, "p1", program.PartyReferee, "ref_A"); err != nil || d.Customer != "cus_NffrFeUfNV2Hib" || d.Account != "" {
		t.Fatalf("stripe rail, referee: %+v, %v", d, err)
	}
	// The referrer of the same referral has none (its partner DEMO has no payee).
	if _, err := payees.ForStripe(st).Payee(ctx, "p1", program.PartyReferrer, "ref_A"); !errors.Is(err, payees.ErrNoPayoutMethod) {
		t.Fatalf("referrer without a payee: %v", err)
	}
	must(t, svc.RemoveReferee(ctx, "ref_A"))
	if _, err := st.RefereePayee(ctx, "ref_A"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after removal: %v", err)
	}
}

// Erasing a person removes their payee with the rest of their personal
// data; a partner's payee is not theirs and stays.
func TestErasePersonRemovesTheRefereesPayee(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	svc := &payees.Service{Store: st, Now: func() time.Time { return t0 }}
	create(t, st, personalReferral("ref_A", "p1"))
	must(t, st.CreateReferrer(ctx, referral.Referrer{ProgramID: "p1", Code: "DEMO", Email: "demo@referrer.io", CreatedAt: t0}))
	if _, err := svc.SetReferee(ctx, "ref_A", payees.Payee{Method: "gift_card", Details: payees.Details{Name: "Jane Doe", Email: "jane@acme.example"}}, events.ActorAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetPartner(ctx, "p1", "DEMO", payees.Payee{Method: "paypal", Details: payees.Details{Email: "demo@referrer.io"}}, events.ActorAdmin); err != nil {
		t.Fatal(err)
	}
	if n, err := st.ErasePerson(ctx, "jane@acme.example", events.ActorAdmin, t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("ErasePerson = %d, %v", n, err)
	}
	if _, err := st.RefereePayee(ctx, "ref_A"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the referee's payee survived the erasure: %v", err)
	}
	for _, it := range items(t, st) {
		if p := holdsPersonalData(it); len(p) > 0 {
			t.Errorf("%s / %s still holds personal data in %v", str(it["PK"]), str(it["SK"]), p)
		}
	}
	if p, err := st.PayeeOf(ctx, "p1", program.PartyReferrer, "ref_A"); err != nil || p.Details.Email != "demo@referrer.io" {
		t.Fatalf("the partner's payee: %+v, %v", p, err)
	}
}
