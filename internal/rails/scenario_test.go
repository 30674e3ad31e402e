package rails_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/rewards"
)

// The payout failure scenarios (docs: ../shared/design/payouts.md,
// "Failure cases to prove"), each a subtest, for every rail and reward
// kind: stripe cash, credit and discount, paypal cash, tremendous gift
// cards. Each runs against a fresh fake; what it proves is read from the
// fake's own state.
func TestPayoutScenarios(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"1 the pay step run twice", payStepTwice},
		{"1 PayOne twice", payOneTwice},
		{"2 the ledger write lost after the provider paid", ledgerWriteLost},
		{"3 ambiguous: " + hangUpAfter.String(), ambiguous(hangUpAfter)},
		{"3 ambiguous: " + status500After.String(), ambiguous(status500After)},
		{"3 ambiguous: " + status500.String(), ambiguous(status500)},
		{"3 ambiguous: " + status429.String(), ambiguous(status429)},
		{"3 ambiguous: " + status409.String(), ambiguous(status409)},
		{"4 past the idempotency window", pastTheWindow},
		{"5 re-arm: a payment found is recorded paid instead", rearmFound},
		{"5 re-arm: refused while a payment cannot be ruled out", rearmUnknown},
		{"5 re-arm: nothing at the rail, a new key pays once", rearmPays},
		{"6 a definite refusal fails and is never retried", definiteRefusal},
		{"7 voided before the call", voidedBeforeTheCall},
		{"7 payee removed before the call", payeeRemoved},
		{"8 two executors at once", concurrentExecutors},
		{"9 a reversed payment is never recorded as paid", reversed},
		{"10 refund before payment voids", refundBeforePayment},
		{"10 refund after payment reverses", refundAfterPayment},
	}
	for _, c := range railCases() {
		t.Run(c.name, func(t *testing.T) {
			for _, s := range scenarios {
				t.Run(s.name, func(t *testing.T) { s.run(t, newEnv(t, c)) })
			}
		})
	}
}

// 1. The workflow's pay step runs again (a retried or redriven step):
// the paid reward is not paid again, and the rail is not even asked.
func payStepTwice(t *testing.T, e *env) {
	wantErr(t, "first pay", e.pay(), nil)
	n := e.fake.requests()
	wantErr(t, "second pay", e.pay(), nil)
	if got := e.fake.requests(); got != n {
		t.Errorf("the second pay step made %d requests to the provider", got-n)
	}
	e.wantPaidOnce(t)
}

// 1. PayOne twice with the reward as read before either (the runner and
// an operator): one payment.
func payOneTwice(t *testing.T, e *env) {
	stale := e.reward(t)
	for i := range 2 {
		rw, err := e.payOne(stale)
		wantErr(t, "PayOne", err, nil)
		if rw.Status != rewards.StatusPaid {
			t.Fatalf("PayOne %d returned a %s reward", i+1, rw.Status)
		}
	}
	e.wantPaidOnce(t)
}

// 2. The provider paid, the ledger write was lost: the retry (the payouts
// runner, once the claim's grace is over) finds the payment and records it.
func ledgerWriteLost(t *testing.T, e *env) {
	e.repo.lose.Store(1)
	wantErr(t, "pay", e.pay(), errLedgerLost)
	e.wantStatus(t, rewards.StatusSending)
	e.wantPayments(t, 1)
	e.advance(t, rewards.SendingGrace)
	if errs := e.runner(t); len(errs) > 0 {
		t.Fatalf("runner: %v", errs)
	}
	e.wantPaidOnce(t)
}

// 3. An ambiguous answer leaves the reward sending with no second
// payment; the next attempt resolves it by lookup and records it once. A
// provider that replays the ambiguous answer for its key (Stripe keeps a
// 500 for 24 h) may keep it sending until its window passes; then it
// pays once.
func ambiguous(f fault) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		e.inject(t, e.fake.fail(f))
		first := e.pay()
		if first == nil && e.c.name == "stripe discount" && f.processed() {
			// The coupon was made: the rail sees it by its id at once and
			// goes on to the promotion code (the call's unknown outcome
			// settled inside Send).
			e.wantPaidOnce(t)
			return
		}
		wantErr(t, "pay", first, rewards.ErrUnknownOutcome)
		e.wantStatus(t, rewards.StatusSending)
		if n := len(e.fake.payments(t)); n > 1 || (n == 1) != f.processed() && e.c.name != "stripe discount" {
			t.Fatalf("after the %s the fake holds %d payments", f, n)
		}
		err := e.pay()
		if e.c.stuck[f] && errors.Is(err, rewards.ErrUnknownOutcome) {
			e.wantStatus(t, rewards.StatusSending)
			if n := len(e.fake.payments(t)); n > 1 {
				t.Fatalf("the fake holds %d payments", n)
			}
			e.advance(t, e.fake.window+time.Second)
			err = e.pay()
		}
		wantErr(t, "pay again", err, nil)
		e.wantPaidOnce(t)
	}
}

// 4. Past the provider's idempotency window a reward left sending is
// looked up (by listing, metadata or external id) and recorded, never
// posted again. A provider that cannot be asked past its window (PayPal:
// sender_batch_id is remembered 30 days, and nothing lists by it) leaves
// the reward sending, for a person, rather than pay again.
func pastTheWindow(t *testing.T, e *env) {
	e.repo.lose.Store(1)
	wantErr(t, "pay", e.pay(), errLedgerLost)
	window := e.fake.window
	if window == 0 {
		window = 365 * 24 * time.Hour // no window: a year later
	}
	e.advance(t, window+time.Hour)
	if !e.c.findsPastWindow {
		wantErr(t, "pay past the window", e.pay(), rewards.ErrUnknownOutcome)
		e.wantStatus(t, rewards.StatusSending)
		e.wantPayments(t, 1)
		return
	}
	wantErr(t, "pay past the window", e.pay(), nil)
	e.wantPaidOnce(t)
}

// failed makes the reward fail at its rail with a definite refusal.
func failed(t *testing.T, e *env) rewards.Reward {
	t.Helper()
	e.inject(t, e.fake.refusal)
	wantErr(t, "pay", e.pay(), nil)
	return e.wantStatus(t, rewards.StatusFailed)
}

// 5. A failed reward whose payment the rail does have (it landed after
// all) is recorded paid by the re-arm, not sent again with a new key.
func rearmFound(t *testing.T, e *env) {
	rw := e.reward(t)
	rw.Status, rw.StatusReason, rw.Rail = rewards.StatusFailed, "refused", e.c.rail
	e.repo.Put(rw)
	if _, err := e.rail.Send(context.Background(), rw); err != nil { // the payment lands under its key after all
		t.Fatal(err)
	}
	_, err := e.svc.Rearm(context.Background(), rw, "ops")
	wantErr(t, "Rearm", err, nil)
	if got := e.reward(t); got.Generation != 0 {
		t.Fatalf("re-armed to generation %d although the rail has the payment", got.Generation)
	}
	e.wantPaidOnce(t)
}

// 5. A re-arm is refused while the rail cannot say whether it holds a
// payment: the reward stays failed, its key unchanged.
func rearmUnknown(t *testing.T, e *env) {
	rw := failed(t, e)
	e.inject(t, e.fake.fail(status500))
	_, err := e.svc.Rearm(context.Background(), rw, "ops")
	wantErr(t, "Rearm", err, rewards.ErrUnknownOutcome)
	if got := e.wantStatus(t, rewards.StatusFailed); got.Generation != 0 || got.IdempotencyKey != rw.IdempotencyKey {
		t.Fatalf("re-armed to generation %d, key %s", got.Generation, got.IdempotencyKey)
	}
	e.wantPayments(t, 0)
}

// 5. With nothing at the rail, the re-arm takes a new generation (the
// rail would replay its refusal for the old key) and the runner pays it
// once.
func rearmPays(t *testing.T, e *env) {
	rw := failed(t, e)
	next, err := e.svc.Rearm(context.Background(), rw, "ops")
	wantErr(t, "Rearm", err, nil)
	if next.Generation != 1 || next.IdempotencyKey != rewards.KeyFor(rw.ID, 1) {
		t.Fatalf("re-armed to generation %d, key %s", next.Generation, next.IdempotencyKey)
	}
	if errs := e.runner(t); len(errs) > 0 {
		t.Fatalf("runner: %v", errs)
	}
	e.wantPaidOnce(t)
	if got := e.reward(t); got.IdempotencyKey != next.IdempotencyKey {
		t.Errorf("paid under key %s, want %s", got.IdempotencyKey, next.IdempotencyKey)
	}
}

// 6. A definite refusal marks the reward failed with the provider's
// reason, filed for a person; neither the pay step, PayOne nor the runner
// calls the provider again.
func definiteRefusal(t *testing.T, e *env) {
	rw := failed(t, e)
	if !contains(rw.StatusReason, e.fake.reason) {
		t.Errorf("reason %q does not keep the provider's %q", rw.StatusReason, e.fake.reason)
	}
	if !slices.Contains(e.repo.Failed(), rw.ID) {
		t.Errorf("not filed for a person: %v", e.repo.Failed())
	}
	n := e.fake.requests()
	wantErr(t, "pay again", e.pay(), nil)
	_, err := e.payOne(rw)
	wantErr(t, "PayOne", err, rewards.ErrNotPayable)
	e.advance(t, 24*time.Hour)
	if errs := e.runner(t); len(errs) > 0 {
		t.Fatalf("runner: %v", errs)
	}
	if got := e.fake.requests(); got != n {
		t.Errorf("%d more requests to the provider after the refusal", got-n)
	}
	e.wantStatus(t, rewards.StatusFailed)
	e.wantPayments(t, 0)
}

// 7. A reward voided before its pay step is never sent.
func voidedBeforeTheCall(t *testing.T, e *env) {
	wantErr(t, "Void", e.svc.Void(context.Background(), e.reward(t), "duplicate referral", "ops"), nil)
	wantErr(t, "pay", e.pay(), nil)
	_, err := e.payOne(e.reward(t))
	wantErr(t, "PayOne", err, rewards.ErrNotPayable)
	if n := e.fake.requests(); n != 0 {
		t.Errorf("%d requests to the provider for a voided reward", n)
	}
	e.wantStatus(t, rewards.StatusVoided)
}

// 7. A party whose payee was removed is not paid: the reward waits on
// hold, filed for the runner, which pays it once the payee is back.
func payeeRemoved(t *testing.T, e *env) {
	p := e.c.payee
	e.src.set(e.c.party, nil)
	wantErr(t, "pay", e.pay(), nil)
	if rw := e.wantStatus(t, rewards.StatusOnHold); rw.StatusReason != rewards.ReasonNoPayoutMethod {
		t.Fatalf("reason %q", rw.StatusReason)
	}
	if n := e.fake.requests(); n != 0 {
		t.Fatalf("%d requests to the provider without a payee", n)
	}
	e.src.set(e.c.party, &p)
	e.advance(t, rewards.PayeeRetry)
	if errs := e.runner(t); len(errs) > 0 {
		t.Fatalf("runner: %v", errs)
	}
	e.wantPaidOnce(t)
}

// 8. Executors at once on the same reward (pay steps, and PayOne with the
// reward read before any of them or fresh): exactly one payment.
func concurrentExecutors(t *testing.T, e *env) {
	stale := e.reward(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			switch i % 3 {
			case 0:
				errs[i] = e.pay()
			case 1:
				_, errs[i] = e.payOne(stale)
			default:
				rw, _ := e.repo.Get(refID, "won", e.c.party)
				_, errs[i] = e.payOne(rw)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, rewards.ErrNotPayable) && !errors.Is(err, rewards.ErrUnknownOutcome) {
			t.Errorf("executor %d: %v", i, err)
		}
	}
	e.wantPaidOnce(t)
}

// 9. A payment reversed at the provider before the reward was recorded
// is never recorded as paid: the reward fails, and cannot be re-armed
// until a person settles it there.
func reversed(t *testing.T, e *env) {
	if e.fake.reverse == nil {
		t.Skipf("%s has no reversal at the provider", e.c.name)
	}
	e.repo.lose.Store(1)
	wantErr(t, "pay", e.pay(), errLedgerLost)
	ids := e.wantPayments(t, 1)
	e.fake.reverse(t, e.reward(t), ids[0])
	wantErr(t, "pay again", e.pay(), nil)
	rw := e.wantStatus(t, rewards.StatusFailed)
	if _, ok := e.repo.Entry(rw.ID, rewards.EntryPayable); ok {
		t.Fatal("a reversed payment has a payable ledger entry")
	}
	_, err := e.svc.Rearm(context.Background(), rw, "ops")
	wantErr(t, "Rearm", err, rewards.ErrNotPayable)
	e.wantPayments(t, 1)
}

// refund records the referral's deal refunded now.
func refund(e *env) {
	at := e.clock.Now()
	e.ref.LostAt, e.ref.LostReason = &at, "refunded"
	e.repo.Lose(refID, at, "refunded")
}

// 10. A refund before payment voids the reward; nothing is sent.
func refundBeforePayment(t *testing.T, e *env) {
	refund(e)
	loss, err := e.svc.ApplyLoss(context.Background(), e.ref, e.prog, "workflow")
	wantErr(t, "ApplyLoss", err, nil)
	if loss.Voided != 1 {
		t.Fatalf("ApplyLoss = %+v", loss)
	}
	wantErr(t, "pay", e.pay(), rewards.ErrDealLost)
	if n := e.fake.requests(); n != 0 {
		t.Errorf("%d requests to the provider for a refunded deal", n)
	}
	e.wantStatus(t, rewards.StatusVoided)
}

// 10. A refund after payment reverses it with a new ledger entry (once);
// the provider still holds exactly one payment.
func refundAfterPayment(t *testing.T, e *env) {
	wantErr(t, "pay", e.pay(), nil)
	n := e.fake.requests()
	refund(e)
	for i, want := range []int{1, 0} {
		loss, err := e.svc.ApplyLoss(context.Background(), e.ref, e.prog, "workflow")
		wantErr(t, "ApplyLoss", err, nil)
		if loss.Reversed != want {
			t.Fatalf("ApplyLoss %d = %+v, want %d reversed", i+1, loss, want)
		}
	}
	rev, ok := e.repo.Entry(e.reward(t).ID, rewards.EntryReversal)
	if !ok || rev.AmountMinor != -5000 {
		t.Fatalf("reversal entry %+v, %v", rev, ok)
	}
	if got := e.fake.requests(); got != n {
		t.Errorf("%d requests to the provider for the refund", got-n)
	}
	e.wantPaidOnce(t)
}
