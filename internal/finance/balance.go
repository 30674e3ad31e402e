package finance

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rewards"
)

// Balance is what was earned in one currency (amounts of different
// currencies are never added). The *Minor fields are minor units
// (internal/money); the others are the same amounts in major units with
// the currency's decimals ("500.00", JPY "500", BHD "1.250").
//
//   - ToPay: cleared and not paid yet (approved, or being sent: sending);
//   - OnHold: not cleared (pending, on hold, or failed and waiting for an
//     operator);
//   - Paid: paid (a payable ledger entry exists);
//   - Reversed: clawed back after payment (the whole amount of each
//     reversed payment; it stays counted in Paid too);
//   - Earned: Paid + ToPay.
//
// Voided rewards count nowhere.
type Balance struct {
	Currency      string `json:"currency"`
	EarnedMinor   int64  `json:"earned_minor"`
	ToPayMinor    int64  `json:"to_pay_minor"`
	OnHoldMinor   int64  `json:"on_hold_minor"`
	PaidMinor     int64  `json:"paid_minor"`
	ReversedMinor int64  `json:"reversed_minor"`
	Earned        string `json:"earned"`
	ToPay         string `json:"to_pay"`
	OnHold        string `json:"on_hold"`
	Paid          string `json:"paid"`
	Reversed      string `json:"reversed"`
}

// balances adds amounts up per currency.
type balances map[string]*Balance

func (bs balances) of(currency string) *Balance {
	b := bs[currency]
	if b == nil {
		b = &Balance{Currency: currency}
		bs[currency] = b
	}
	return b
}

// addReward counts a reward by its status (see Balance).
func (bs balances) addReward(rw rewards.Reward) {
	b := bs.of(rw.Currency)
	switch rw.Status {
	case rewards.StatusApproved, rewards.StatusSending:
		b.ToPayMinor += rw.AmountMinor
	case rewards.StatusPending, rewards.StatusOnHold, rewards.StatusFailed:
		b.OnHoldMinor += rw.AmountMinor
	case rewards.StatusPaid:
		b.PaidMinor += rw.AmountMinor
		if rw.ReversedAt != nil {
			b.ReversedMinor += rw.AmountMinor
		}
	}
}

// list is the balances in currency order, Earned and the major-unit
// amounts filled in.
func (bs balances) list() []Balance {
	out := make([]Balance, 0, len(bs))
	for _, b := range bs {
		b.EarnedMinor = b.PaidMinor + b.ToPayMinor
		f := func(minor int64) string { return money.FormatMinor(minor, b.Currency) }
		b.Earned, b.ToPay, b.OnHold, b.Paid, b.Reversed = f(b.EarnedMinor), f(b.ToPayMinor), f(b.OnHoldMinor), f(b.PaidMinor), f(b.ReversedMinor)
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}

// PartnerBalances adds up a partner's referrer rewards (as
// RewardsByPartner lists them) per currency: the one implementation of a
// partner's balance, shown by the partner portal and the admin API. Other
// parties' rewards are left out.
func PartnerBalances(rws []rewards.Reward) []Balance {
	bs := balances{}
	for _, rw := range rws {
		if rw.Party == program.PartyReferrer {
			bs.addReward(rw)
		}
	}
	return bs.list()
}

// BalanceStore is what balances read (the DynamoDB store).
type BalanceStore interface {
	// PartnerKey is the lifelong key of the partner holding code now;
	// ErrNotFound when there is none.
	PartnerKey(ctx context.Context, programID, code string) (string, error)
	RewardsByPartner(ctx context.Context, programID, partnerKey string) ([]rewards.Reward, error)
	// PartnerKeys lists the keys of every partner of a program.
	PartnerKeys(ctx context.Context, programID string) ([]string, error)
	LedgerPeriod(ctx context.Context, period string) ([]rewards.Entry, error)
}

// PartnerBalance is the balance of the partner holding code in program:
// PartnerBalances over its rewards, read in one paged query of the
// partner's rewards index (eventually consistent: a reward changed a
// moment ago may show its previous status). ErrNotFound: no such partner.
func (s *Service) PartnerBalance(ctx context.Context, programID, code string) ([]Balance, error) {
	key, err := s.Store.PartnerKey(ctx, programID, code)
	if err != nil {
		return nil, err
	}
	rws, err := s.Store.RewardsByPartner(ctx, programID, key)
	if err != nil {
		return nil, fmt.Errorf("finance: partner balance: %w", err)
	}
	return PartnerBalances(rws), nil
}

// ProgramBalance is a program's balance per currency.
type ProgramBalance struct {
	Program string `json:"program"`
	// From and To are the months ("YYYY-MM") whose ledger entries Paid
	// and Reversed count.
	From     string    `json:"from"`
	To       string    `json:"to"`
	Partners int       `json:"partners"` // partners whose rewards were read
	Balances []Balance `json:"balances"`
}

// MaxMonths is the most months one program balance reads.
const MaxMonths = 36

// ProgramBalance adds up a program's money without scanning the table:
//
//   - Paid and Reversed: the program's ledger entries of the months from
//     to to ("YYYY-MM", at most MaxMonths; to defaults to this month, from
//     to 11 months before to): payable entries count as paid, reversal
//     entries as reversed, every party. It costs one paged query of the
//     ledger's period index per month, which reads every program's
//     entries of that month (the index is by period only);
//   - ToPay and OnHold: the referrer rewards of every partner of the
//     program, as they stand now whatever the months: one paged query of
//     the partners list per 200 partners and one of each partner's
//     rewards index (PartnerBalance's). Referee rewards not paid yet are
//     not counted (no index lists them by program).
func (s *Service) ProgramBalance(ctx context.Context, programID, from, to string) (*ProgramBalance, error) {
	months, err := s.months(from, to)
	if err != nil {
		return nil, err
	}
	bs := balances{}
	for _, m := range months {
		entries, err := s.Store.LedgerPeriod(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("finance: program balance: ledger %s: %w", m, err)
		}
		for _, e := range entries {
			if e.ProgramID != programID {
				continue
			}
			if e.Type == rewards.EntryReversal {
				bs.of(e.Currency).ReversedMinor -= e.AmountMinor
			} else {
				bs.of(e.Currency).PaidMinor += e.AmountMinor
			}
		}
	}
	keys, err := s.Store.PartnerKeys(ctx, programID)
	if err != nil {
		return nil, fmt.Errorf("finance: program balance: partners: %w", err)
	}
	for _, k := range keys {
		rws, err := s.Store.RewardsByPartner(ctx, programID, k)
		if err != nil {
			return nil, fmt.Errorf("finance: program balance: partner rewards: %w", err)
		}
		for _, rw := range rws {
			if rw.Party == program.PartyReferrer && rw.Status != rewards.StatusPaid {
				bs.addReward(rw)
			}
		}
	}
	return &ProgramBalance{Program: programID, From: months[0], To: months[len(months)-1], Partners: len(keys), Balances: bs.list()}, nil
}

// months lists the months from..to, defaulted and checked.
func (s *Service) months(from, to string) ([]string, error) {
	bad := map[string]string{}
	if to == "" {
		to = s.Now().UTC().Format("2006-01")
	} else if !ValidPeriod(to) {
		bad["to"] = "must be a month, YYYY-MM"
	}
	end, _ := time.Parse("2006-01", to)
	if from == "" {
		from = end.AddDate(0, -11, 0).Format("2006-01")
	} else if !ValidPeriod(from) {
		bad["from"] = "must be a month, YYYY-MM"
	}
	start, _ := time.Parse("2006-01", from)
	if len(bad) == 0 && start.After(end) {
		bad["from"] = "must not be after to"
	}
	if len(bad) == 0 && start.AddDate(0, MaxMonths-1, 0).Before(end) {
		bad["from"] = fmt.Sprintf("must be at most %d months before to", MaxMonths)
	}
	if len(bad) > 0 {
		return nil, &Invalid{Fields: bad}
	}
	var out []string
	for m := start; !m.After(end); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out, nil
}
