package stripe

import (
	"context"
	"errors"
	"fmt"
	"strings"

	stripego "github.com/stripe/stripe-go/v84"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rewards"
)

// MetaReversalKey is the metadata key carrying rewards.ReversalKey(r) on
// what a reversal creates or changes (a transfer reversal, a balance
// debit, a deactivated promotion code), besides the reward's own keys.
const MetaReversalKey = "reversal_key"

var _ rewards.Reverser = (*Rail)(nil)

// Reverse takes the payment of paid reward r (r.Reference: its transfer,
// balance transaction or promotion code) back at Stripe, idempotently on
// rewards.ReversalKey(r), and returns the reversal's reference:
//   - cash: the whole transfer reversed ("trr_..."); a transfer reversed in
//     full already (the dashboard, an expired key's call) is success with
//     its newest reversal, and no new one;
//   - credit: the new customer's balance debited ("cbtxn_...") by the
//     credit still unused, up to the reward's amount (never charging the
//     customer); rewards.ErrRefused when all of it was used;
//   - discount: the promotion code deactivated (its id);
//     rewards.ErrRefused when it was redeemed (finance recovers it).
//
// Each kind looks its reversal up first (the reversal key in Stripe's
// metadata, or the code's state), so a repeat never reverses twice, also
// past Stripe's 24 hour idempotency window or after an unknown outcome.
// Errors wrap rewards.ErrRefused or rewards.ErrUnknownOutcome exactly as
// Send's do, or ErrNoDestination (credit: no customer recorded).
func (s *Rail) Reverse(ctx context.Context, r rewards.Reward) (string, error) {
	if r.ID == "" || r.Reference == "" {
		return "", errors.New("stripe: reverse: the reward has no id or reference")
	}
	var ref string
	var err error
	switch r.Kind {
	case program.KindCash:
		ref, err = s.reverseTransfer(ctx, r)
	case program.KindCredit:
		var d Details
		if d, err = s.payees.Payee(ctx, r.ProgramID, r.Party, r.ReferralID); err != nil {
			return "", fmt.Errorf("stripe: reverse: payee: %w", err)
		}
		ref, err = s.reverseCredit(ctx, r, d)
	case program.KindDiscount:
		ref, err = s.reverseDiscount(ctx, r)
	default:
		err = fmt.Errorf("%w: a %q reward is not paid through Stripe", rewards.ErrRefused, r.Kind)
	}
	if err != nil {
		return "", fmt.Errorf("stripe: reverse %s: %w", r.ID, err)
	}
	return ref, nil
}

// reverseTransfer reverses the reward's transfer whole. Stripe refuses a
// transfer reversed in full; that refusal is success with the transfer's
// newest reversal once the transfer says it is reversed.
func (s *Rail) reverseTransfer(ctx context.Context, r rewards.Reward) (string, error) {
	mine, newest, err := s.transferReversals(ctx, r)
	if err != nil || mine != "" {
		return mine, err
	}
	p := &stripego.TransferReversalCreateParams{
		ID:          stripego.String(r.Reference),
		Description: description(r),
		Metadata:    reversalMetadata(r),
	}
	p.SetIdempotencyKey(rewards.ReversalKey(r))
	rv, err := s.sc.V1TransferReversals.Create(ctx, p)
	if err == nil {
		return rv.ID, nil
	}
	refusal := classify("transfer reversal", err)
	if !errors.Is(refusal, rewards.ErrRefused) {
		return "", refusal
	}
	t, err := s.sc.V1Transfers.Retrieve(ctx, r.Reference, nil)
	switch {
	case err != nil && missing(err):
		return "", refusal
	case err != nil:
		return "", fmt.Errorf("retrieve transfer: %w: %w", rewards.ErrUnknownOutcome, err)
	case !t.Reversed:
		return "", refusal
	}
	if newest == "" {
		if _, newest, err = s.transferReversals(ctx, r); err != nil {
			return "", err
		}
	}
	if newest == "" {
		return "", refusal
	}
	return newest, nil
}

// transferReversals lists the reversals of the reward's transfer: mine is
// the one made with the reward's reversal key, newest the latest of all.
// A transfer Stripe does not know has none (its reversal is refused).
func (s *Rail) transferReversals(ctx context.Context, r rewards.Reward) (mine, newest string, err error) {
	p := &stripego.TransferReversalListParams{ID: stripego.String(r.Reference)}
	p.Limit = stripego.Int64(100)
	for rv, err := range s.sc.V1TransferReversals.List(ctx, p) {
		if err != nil {
			if missing(err) {
				return "", "", nil
			}
			return "", "", lookupError("transfer reversals", err)
		}
		if newest == "" {
			newest = rv.ID
		}
		if rv.Metadata[MetaReversalKey] == rewards.ReversalKey(r) {
			return rv.ID, newest, nil
		}
	}
	return "", newest, nil
}

// reverseCredit debits the customer's balance by the reward's credit
// still unused: the newest balance transaction's ending balance is the
// customer's balance (negative: credit), as every change makes one.
func (s *Rail) reverseCredit(ctx context.Context, r rewards.Reward, d Details) (string, error) {
	if d.Customer == "" {
		return "", ErrNoDestination
	}
	mine, balance, err := s.creditReversal(ctx, r, d.Customer)
	if err != nil || mine != "" {
		return mine, err
	}
	if balance >= 0 {
		return "", fmt.Errorf("%w: the customer's credit was used: none is left to take back", rewards.ErrRefused)
	}
	p := &stripego.CustomerBalanceTransactionCreateParams{
		Customer:    stripego.String(d.Customer),
		Amount:      stripego.Int64(min(r.AmountMinor, -balance)),
		Currency:    stripego.String(strings.ToLower(r.Currency)),
		Description: description(r),
		Metadata:    reversalMetadata(r),
	}
	p.SetIdempotencyKey(rewards.ReversalKey(r))
	t, err := s.sc.V1CustomerBalanceTransactions.Create(ctx, p)
	if err != nil {
		return "", classify("balance transaction", err)
	}
	return t.ID, nil
}

// creditReversal lists the customer's balance transactions, newest first:
// mine is the debit made with the reward's reversal key, balance the
// customer's balance now.
func (s *Rail) creditReversal(ctx context.Context, r rewards.Reward, customer string) (mine string, balance int64, err error) {
	p := &stripego.CustomerBalanceTransactionListParams{Customer: stripego.String(customer)}
	p.Limit = stripego.Int64(100)
	first := true
	for t, err := range s.sc.V1CustomerBalanceTransactions.List(ctx, p) {
		if err != nil {
			return "", 0, lookupError("balance transactions", err)
		}
		if first {
			balance, first = t.EndingBalance, false
		}
		if t.Metadata[MetaReversalKey] == rewards.ReversalKey(r) {
			return t.ID, balance, nil
		}
	}
	return "", balance, nil
}

// reverseDiscount deactivates the reward's promotion code, unless it was
// redeemed (before, or while it was being deactivated).
func (s *Rail) reverseDiscount(ctx context.Context, r rewards.Reward) (string, error) {
	pc, err := s.sc.V1PromotionCodes.Retrieve(ctx, r.Reference, nil)
	if err != nil {
		return "", classify("promotion code", err)
	}
	if pc.Metadata[MetaRewardID] != r.ID {
		return "", fmt.Errorf("%w: promotion code %s is not reward %s's", rewards.ErrRefused, pc.ID, r.ID)
	}
	if !pc.Active && pc.TimesRedeemed == 0 {
		return pc.ID, nil
	}
	if pc.Active {
		p := &stripego.PromotionCodeUpdateParams{
			Active:   stripego.Bool(false),
			Metadata: map[string]string{MetaReversalKey: rewards.ReversalKey(r)},
		}
		p.SetIdempotencyKey(rewards.ReversalKey(r))
		if pc, err = s.sc.V1PromotionCodes.Update(ctx, r.Reference, p); err != nil {
			return "", classify("promotion code", err)
		}
	}
	if pc.TimesRedeemed > 0 {
		return "", fmt.Errorf("%w: promotion code %s was redeemed: the discount cannot be taken back", rewards.ErrRefused, pc.ID)
	}
	return pc.ID, nil
}

// reversalMetadata is the reward's metadata and its reversal key.
func reversalMetadata(r rewards.Reward) map[string]string {
	m := metadata(r)
	m[MetaReversalKey] = rewards.ReversalKey(r)
	return m
}
