package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rewards"
)

// bank is a rail that refuses the keys it is told to and pays the others
// once per key; it takes payments back when asked.
type bank struct {
	refuse   map[string]bool
	paid     map[string]int
	reversed int
	noBack   bool // refuses to take payments back
}

func (b *bank) Send(_ context.Context, r rewards.Reward) (rewards.Transfer, error) {
	if b.refuse[r.IdempotencyKey] {
		return rewards.Transfer{}, fmt.Errorf("bank: account closed: %w", rewards.ErrRefused)
	}
	b.paid[r.IdempotencyKey]++
	return rewards.Transfer{Method: "bank", Reference: "tr_" + r.IdempotencyKey}, nil
}

func (b *bank) Find(_ context.Context, r rewards.Reward) (rewards.Transfer, bool, error) {
	if b.paid[r.IdempotencyKey] == 0 {
		return rewards.Transfer{}, false, nil
	}
	return rewards.Transfer{Method: "bank", Reference: "tr_" + r.IdempotencyKey}, true, nil
}

func (b *bank) Reverse(context.Context, rewards.Reward) (string, error) {
	if b.noBack {
		return "", fmt.Errorf("bank: balance short: %w", rewards.ErrRefused)
	}
	b.reversed++
	return "trr_1", nil
}

func rewardReq(action, milestone, body string) lambdaevents.APIGatewayV2HTTPRequest {
	return request(http.MethodPost, "/admin/rewards/{referral_id}/{milestone}/{party}/"+action,
		map[string]string{"referral_id": refID, "milestone": milestone, "party": "referrer"}, body)
}

// payoutsEnv is a handler whose rewards pay through a bank rail, with a
// won reward refused once by it.
func payoutsEnv(t *testing.T) (*Handler, *fakeStore, *bank, rewards.Reward) {
	t.Helper()
	f := newFakeStore()
	b := &bank{refuse: map[string]bool{}, paid: map[string]int{}}
	h := newHandler(f, &fakeSFN{outputs: map[string]string{}})
	h.Failed = f.Repo
	h.Rewards.Rails = map[string]rewards.Rail{"bank": b}
	f.payout = program.Payout{Method: "bank"}
	rw := rewards.Reward{ID: "rw_1", ReferralID: refID, ProgramID: "p", Milestone: "won", Party: program.PartyReferrer,
		Kind: program.KindCash, AmountMinor: 30000, Currency: "USD", Status: rewards.StatusSending, Rail: "bank",
		IdempotencyKey: rewards.KeyFor("rw_1", 0), HoldUntil: now.Add(-time.Hour)}
	f.Put(rw)
	ev := rewards.Event(events.RewardFailed, rw, "workflow", now).WithStatus("failed")
	if ok, err := f.FailReward(context.Background(), rw, "bank: account closed", ev, now); !ok || err != nil {
		t.Fatal(ok, err)
	}
	rw.Status = rewards.StatusFailed
	return h, f, b, rw
}

// TestFailedRewardIsListedThenReArmedAndPaidOnce: the failed reward is
// listed; re-arming pays it once under a new key; a repeat is refused.
func TestFailedRewardIsListedThenReArmedAndPaidOnce(t *testing.T) {
	h, f, b, rw := payoutsEnv(t)
	list := call(t, h, request(http.MethodGet, "/admin/rewards/failed", nil, ""))
	if rws, _ := list.body["rewards"].([]any); list.status != 200 || len(rws) != 1 {
		t.Fatalf("failed list: %d %v", list.status, list.body)
	}
	a := call(t, h, rewardReq("rearm", "won", ""))
	if a.status != 200 || a.body["status"] != "paid" || a.body["idempotency_key"] != rw.IdempotencyKey+"-g1" {
		t.Fatalf("rearm: %d %v", a.status, a.body)
	}
	if b.paid[rw.IdempotencyKey+"-g1"] != 1 || len(b.paid) != 1 || f.paid() != 1 {
		t.Fatalf("paid %v, ledger %d", b.paid, f.paid())
	}
	if again := call(t, h, rewardReq("rearm", "won", "")); again.status != 409 || errCode(again) != "not_payable" {
		t.Fatalf("second rearm: %d %v", again.status, again.body)
	}
	if list := call(t, h, request(http.MethodGet, "/admin/rewards/failed", nil, "")); len(list.body["rewards"].([]any)) != 0 {
		t.Fatalf("still listed: %v", list.body)
	}
}

// TestVoidFailedReward: voiding needs a reason; a voided failed reward
// leaves the list; a paid one cannot be voided.
func TestVoidFailedReward(t *testing.T) {
	h, _, _, _ := payoutsEnv(t)
	cases := []struct {
		body   string
		status int
		code   string
	}{
		{`{}`, 400, "invalid_request"},
		{`not json`, 400, "invalid_request"},
		{`{"reason":"partner left the program"}`, 200, ""},
		{`{"reason":"again"}`, 200, ""}, // voided already: changes nothing
	}
	for _, c := range cases {
		a := call(t, h, rewardReq("void", "won", c.body))
		if a.status != c.status || errCode(a) != c.code {
			t.Fatalf("%s: %d %v", c.body, a.status, a.body)
		}
		if c.status == 200 && (a.body["status"] != "voided" || a.body["status_reason"] != "voided: partner left the program") {
			t.Fatalf("%s: %v", c.body, a.body)
		}
	}
	if list := call(t, h, request(http.MethodGet, "/admin/rewards/failed", nil, "")); len(list.body["rewards"].([]any)) != 0 {
		t.Fatalf("still listed: %v", list.body)
	}
}

// TestRefusedReversalIsListedUntilRecovered: a reversal its rail refused
// is listed under reversals until a person records it recovered, once.
func TestRefusedReversalIsListedUntilRecovered(t *testing.T) {
	h, f, b, _ := payoutsEnv(t)
	b.noBack = true
	paid := rewards.Reward{ID: "rw_2", ReferralID: refID, ProgramID: "p", Milestone: "qualified", Party: program.PartyReferrer,
		Kind: program.KindCash, AmountMinor: 10000, Currency: "USD", Status: rewards.StatusPaid, Rail: "bank", Reference: "tr_x"}
	f.Put(paid)
	ev := rewards.Event(events.RewardReversed, paid, "workflow", now)
	if ok, err := f.ReverseReward(context.Background(), paid, rewards.ReversalEntry(paid, now), ev); !ok || err != nil {
		t.Fatal(ok, err)
	}
	paid, _ = f.Get(refID, "qualified", "referrer")
	if err := h.Rewards.ReverseAtRail(context.Background(), paid, "payouts"); err != nil {
		t.Fatal(err)
	}
	list := call(t, h, request(http.MethodGet, "/admin/rewards/failed", nil, ""))
	if revs, _ := list.body["reversals"].([]any); len(revs) != 1 {
		t.Fatalf("reversals: %v", list.body)
	}
	if a := call(t, h, rewardReq("reversal-recovered", "qualified", "")); a.status != 200 || a.body["status"] != "paid" {
		t.Fatalf("recovered: %d %v", a.status, a.body)
	}
	if a := call(t, h, rewardReq("reversal-recovered", "qualified", "")); a.status != 409 {
		t.Fatalf("repeat: %d %v", a.status, a.body)
	}
	if list := call(t, h, request(http.MethodGet, "/admin/rewards/failed", nil, "")); len(list.body["reversals"].([]any)) != 0 {
		t.Fatalf("still listed: %v", list.body)
	}
}
