package finance

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/referflow/referflow/internal/rewards"
)

// Kinds of difference the reconciliation lists.
const (
	// MissingAtRail: paid in the ledger through a provider rail, and the
	// rail has no payment for the reward's idempotency key.
	MissingAtRail = "missing_at_rail"
	// PaidNotRecorded: the rail paid a reward Referflow holds as sending
	// or failed: money out without a ledger line.
	PaidNotRecorded = "paid_not_recorded"
	// ReversedNotRecorded: the rail reversed a payment the ledger has no
	// reversal entry for.
	ReversedNotRecorded = "reversed_not_recorded"
	// AmountDiffers, CurrencyDiffers: the rail paid another amount or
	// currency than the ledger entry (rails that report them: Payments).
	AmountDiffers   = "amount_differs"
	CurrencyDiffers = "currency_differs"
	// ReferenceDiffers: the rail's id for the payment is not the one the
	// ledger entry recorded.
	ReferenceDiffers = "reference_differs"
	// NotChecked: the payment could not be compared: no rail configured
	// for its method, its reward is missing, or the rail's lookup failed.
	NotChecked = "not_checked"
)

// ReconcileStore is what the reconciliation reads (the DynamoDB store).
type ReconcileStore interface {
	LedgerPeriod(ctx context.Context, period string) ([]rewards.Entry, error)
	// Reward reads one reward; ErrNotFound when there is none.
	Reward(ctx context.Context, referralID, milestone, party string) (*rewards.Reward, error)
	// Unsettled lists the rewards in status sending or failed.
	Unsettled(ctx context.Context) ([]rewards.Reward, error)
}

// Payment is what a rail reports about a reward's payment, amount
// included.
type Payment struct {
	rewards.Transfer
	AmountMinor int64
	Currency    string
}

// Payments is a Rail that also reports the amount and currency of the
// payment it finds (same contract as rewards.Rail.Find). The
// reconciliation compares amounts and currencies with rails that
// implement it; with the others, presence, reversal and reference.
type Payments interface {
	FindPayment(ctx context.Context, r rewards.Reward) (Payment, bool, error)
}

// Side is one side of a difference: what the ledger (or Referflow)
// recorded, or what the rail reports.
type Side struct {
	Reference   string `json:"reference,omitempty"`
	AmountMinor int64  `json:"amount_minor"`
	Currency    string `json:"currency,omitempty"`
	Status      string `json:"status,omitempty"`
}

// Difference is one disagreement between the ledger and a rail. It names
// ids only, never a payee.
type Difference struct {
	Kind       string `json:"kind"`
	Rail       string `json:"rail"`
	RewardID   string `json:"reward_id"`
	ReferralID string `json:"referral_id"`
	EntryID    string `json:"entry_id,omitempty"`
	Ledger     *Side  `json:"ledger,omitempty"`
	AtRail     *Side  `json:"at_rail,omitempty"`
	Detail     string `json:"detail,omitempty"`
}

// Report is the reconciliation of one month.
type Report struct {
	Period string `json:"period"`
	// Checked counts the ledger entries and unsettled rewards looked up.
	Checked     int          `json:"checked"`
	Differences []Difference `json:"differences"`
}

// Reconcile compares, for the ledger month period ("YYYY-MM"), each
// payable entry paid through a provider rail (stripe, paypal, tremendous)
// and each reward now sending or failed for such a rail with what the rail
// reports for the reward's idempotency key (Rail.Find, or
// Payments.FindPayment; never Send), and lists every difference, oldest
// entry first. A reversal entry of the month, or the reward's ReversedAt,
// records a reversal. It costs one paged ledger query, one reward read
// per provider entry, the Unsettled read, and one rail lookup each.
func (s *Service) Reconcile(ctx context.Context, period string) (*Report, error) {
	if !ValidPeriod(period) {
		return nil, &Invalid{Fields: map[string]string{"period": "must be a month, YYYY-MM"}}
	}
	entries, err := s.Store.LedgerPeriod(ctx, period)
	if err != nil {
		return nil, fmt.Errorf("finance: reconcile: %w", err)
	}
	rep := &Report{Period: period, Differences: []Difference{}}
	reversed := map[string]bool{}
	for _, e := range entries {
		if e.Type == rewards.EntryReversal {
			reversed[e.RewardID] = true
		}
	}
	for _, e := range entries {
		if e.Type != rewards.EntryPayable || !providerRail(e.Method) {
			continue
		}
		rep.Checked++
		d, err := s.checkEntry(ctx, e, reversed[e.RewardID])
		if err != nil {
			return nil, err
		}
		rep.Differences = append(rep.Differences, d...)
	}
	unsettled, err := s.Store.Unsettled(ctx)
	if err != nil {
		return nil, fmt.Errorf("finance: reconcile: unsettled rewards: %w", err)
	}
	sort.Slice(unsettled, func(i, j int) bool { return unsettled[i].ID < unsettled[j].ID })
	for _, rw := range unsettled {
		if !providerRail(rw.Rail) || (rw.Status != rewards.StatusSending && rw.Status != rewards.StatusFailed) {
			continue
		}
		rep.Checked++
		if d, ok := s.checkUnsettled(ctx, rw); ok {
			rep.Differences = append(rep.Differences, d)
		}
	}
	return rep, nil
}

// checkEntry compares one provider entry with its rail. Only a failure to
// read the store is an error; a rail's is a NotChecked difference.
func (s *Service) checkEntry(ctx context.Context, e rewards.Entry, reversedInLedger bool) ([]Difference, error) {
	base := Difference{Rail: e.Method, RewardID: e.RewardID, ReferralID: e.ReferralID, EntryID: e.ID,
		Ledger: &Side{Reference: e.Reference, AmountMinor: e.AmountMinor, Currency: e.Currency}}
	rw, err := s.Store.Reward(ctx, e.ReferralID, e.Milestone, e.Party)
	switch {
	case errors.Is(err, ErrNotFound):
		return []Difference{with(base, NotChecked, "the ledger entry's reward is missing: its idempotency key is unknown")}, nil
	case err != nil:
		return nil, fmt.Errorf("finance: reconcile: reward %s: %w", e.RewardID, err)
	}
	reversedInLedger = reversedInLedger || rw.ReversedAt != nil
	p, found, revAtRail, d, ok := s.find(ctx, e.Method, *rw, base)
	if !ok {
		return []Difference{d}, nil
	}
	if !found {
		return []Difference{with(base, MissingAtRail, "the rail has no payment for the reward's idempotency key")}, nil
	}
	base.AtRail = &Side{Reference: p.Reference, AmountMinor: p.AmountMinor, Currency: p.Currency}
	var out []Difference
	if revAtRail && !reversedInLedger {
		out = append(out, with(base, ReversedNotRecorded, "the rail reversed the payment; the ledger has no reversal entry"))
	}
	if p.Reference != e.Reference {
		out = append(out, with(base, ReferenceDiffers, "the rail's id for the payment is not the ledger entry's reference"))
	}
	if p.Currency != "" && p.Currency != e.Currency {
		out = append(out, with(base, CurrencyDiffers, "the rail paid in another currency"))
	} else if p.Currency != "" && p.AmountMinor != e.AmountMinor {
		out = append(out, with(base, AmountDiffers, "the rail paid another amount"))
	}
	return out, nil
}

// checkUnsettled reports a payment the rail made for a sending or failed
// reward (a reversed one moved no money).
func (s *Service) checkUnsettled(ctx context.Context, rw rewards.Reward) (Difference, bool) {
	base := Difference{Rail: rw.Rail, RewardID: rw.ID, ReferralID: rw.ReferralID,
		Ledger: &Side{AmountMinor: rw.AmountMinor, Currency: rw.Currency, Status: string(rw.Status)}}
	p, found, reversed, d, ok := s.find(ctx, rw.Rail, rw, base)
	switch {
	case !ok:
		return d, true
	case !found || reversed:
		return Difference{}, false
	}
	base.AtRail = &Side{Reference: p.Reference, AmountMinor: p.AmountMinor, Currency: p.Currency}
	return with(base, PaidNotRecorded, fmt.Sprintf("the rail paid the reward; Referflow holds it as %s with no ledger entry", rw.Status)), true
}

// find asks the rail named name for rw's payment. ok=false: it could not
// be asked (d is the NotChecked difference).
func (s *Service) find(ctx context.Context, name string, rw rewards.Reward, base Difference) (p Payment, found, reversed bool, d Difference, ok bool) {
	rails := s.Rails
	if s.Load != nil {
		var err error
		if rails, err = s.Load(ctx); err != nil {
			return p, false, false, with(base, NotChecked, "the rails could not be built: "+err.Error()), false
		}
	}
	rail := rails[name]
	if rail == nil {
		return p, false, false, with(base, NotChecked, "no "+name+" rail is configured (its credentials are not set)"), false
	}
	var err error
	if pr, can := rail.(Payments); can {
		p, found, err = pr.FindPayment(ctx, rw)
	} else {
		p.Transfer, found, err = rail.Find(ctx, rw)
	}
	switch {
	case errors.Is(err, rewards.ErrReversed):
		return p, found, true, Difference{}, true
	case err != nil:
		return p, false, false, with(base, NotChecked, "the rail's lookup failed: "+err.Error()), false
	}
	return p, found, false, Difference{}, true
}

func with(d Difference, kind, detail string) Difference {
	d.Kind, d.Detail = kind, detail
	return d
}
