// Package stripe is the Stripe payout rail (rewards.Rail) over stripe-go:
// cash as a Connect transfer to a partner's connected account, account
// credit as a customer balance transaction of the new customer, and a
// discount as a coupon with a promotion code only that customer can redeem.
//
// Every call carries the reward's idempotency key (Stripe replays the first
// result for 24 hours), and every object carries the reward in its
// metadata (and a transfer its group, a coupon its id), so Find can look a
// reward's payment up without paying, also past that window. stripe-go is
// given no retries: an unknown outcome is returned (rewards.ErrUnknownOutcome)
// for the caller to resolve with Find, never by calling again.
//
// Only ids (rewards, referrals, programs, Stripe objects) go to Stripe's
// metadata and into errors: no names or emails.
package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	stripego "github.com/stripe/stripe-go/v84"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rewards"
)

// Method is the payout method of this rail (rewards.Transfer.Method).
const Method = "stripe"

// Settings of the rail (environment / SSM, read by the composition root).
const (
	SettingAPIURL = "REFERFLOW_STRIPE_API_URL"
	SettingAPIKey = "REFERFLOW_STRIPE_API_KEY"
	// DefaultAPIURL is Stripe's API; a test mode key uses it too.
	DefaultAPIURL = "https://api.stripe.com"
)

// Metadata keys written on every object the rail creates.
const (
	MetaRewardID       = "reward_id"
	MetaReferralID     = "referral_id"
	MetaProgramID      = "program_id"
	MetaIdempotencyKey = "idempotency_key"
)

// ErrNoDestination: the payee has no Stripe destination for the reward's
// kind (no connected account for cash, no customer for credit or a
// discount). Nothing was sent.
var ErrNoDestination = errors.New("stripe: the payee has no Stripe destination for this reward")

// Details say where a party's reward goes at Stripe.
type Details struct {
	// Account is the partner's connected account ("acct_..."): cash.
	Account string
	// Customer is the new customer ("cus_..."): credit and discounts.
	Customer string
}

// Payees tells the rail where a reward goes (the payees store).
type Payees interface {
	Payee(ctx context.Context, programID, party, referralID string) (Details, error)
}

// Config is how the rail reaches Stripe.
type Config struct {
	APIURL string // base URL; "" means DefaultAPIURL
	APIKey string // secret key, required
	// HTTPClient makes the calls; nil means one with a 30 s timeout.
	HTTPClient *http.Client
}

// Rail pays rewards through Stripe. It is safe for concurrent use.
type Rail struct {
	sc     *stripego.Client
	payees Payees
}

var _ rewards.Rail = (*Rail)(nil)

// New returns the rail for cfg, reading payees' details for each reward.
func New(cfg Config, payees Payees) (*Rail, error) {
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("stripe: new: %s is required", SettingAPIKey)
	}
	if payees == nil {
		return nil, errors.New("stripe: new: payees are required")
	}
	base := cfg.APIURL
	if base == "" {
		base = DefaultAPIURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("stripe: new: %s must be an http(s) URL, got %q", SettingAPIURL, base)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	backends := stripego.NewBackendsWithConfig(&stripego.BackendConfig{
		URL:               stripego.String(base),
		HTTPClient:        hc,
		MaxNetworkRetries: stripego.Int64(0),
		LeveledLogger:     &stripego.LeveledLogger{Level: stripego.LevelNull},
	})
	return &Rail{sc: stripego.NewClient(cfg.APIKey, stripego.WithBackends(backends)), payees: payees}, nil
}

// Send pays r through Stripe, idempotently on r.IdempotencyKey: a repeat
// within Stripe's 24 hour window gets the first result back. Errors wrap
// rewards.ErrRefused (nothing was paid, with Stripe's reason),
// rewards.ErrUnknownOutcome (resolve with Find) or ErrNoDestination.
// Call Find first when a previous Send's outcome is unknown.
func (s *Rail) Send(ctx context.Context, r rewards.Reward) (rewards.Transfer, error) {
	if r.IdempotencyKey == "" || r.ID == "" {
		return rewards.Transfer{}, fmt.Errorf("stripe: send: the reward has no id or idempotency key")
	}
	d, err := s.payees.Payee(ctx, r.ProgramID, r.Party, r.ReferralID)
	if err != nil {
		return rewards.Transfer{}, fmt.Errorf("stripe: send: payee: %w", err)
	}
	var ref string
	switch r.Kind {
	case program.KindCash:
		ref, err = s.transfer(ctx, r, d)
	case program.KindCredit:
		ref, err = s.credit(ctx, r, d)
	case program.KindDiscount:
		ref, err = s.discount(ctx, r, d)
	default:
		err = fmt.Errorf("%w: a %q reward is not paid through Stripe", rewards.ErrRefused, r.Kind)
	}
	if err != nil {
		return rewards.Transfer{}, fmt.Errorf("stripe: send %s: %w", r.ID, err)
	}
	return rewards.Transfer{Method: Method, Reference: ref}, nil
}

// Find looks the payment of r up at Stripe without paying: the transfers
// of its group (carrying its reward id), the customer's balance
// transactions carrying its idempotency key, or its coupon and promotion
// code. found is false when Stripe has none. A transfer found but fully
// reversed returns found, its id, and an error wrapping
// rewards.ErrReversed. Errors reaching Stripe wrap rewards.ErrUnknownOutcome.
func (s *Rail) Find(ctx context.Context, r rewards.Reward) (rewards.Transfer, bool, error) {
	var ref string
	var found bool
	var err error
	var d Details
	if r.Kind == program.KindCredit || r.Kind == program.KindDiscount {
		if d, err = s.payees.Payee(ctx, r.ProgramID, r.Party, r.ReferralID); err != nil {
			return rewards.Transfer{}, false, fmt.Errorf("stripe: find: payee: %w", err)
		}
	}
	switch r.Kind {
	case program.KindCash:
		ref, found, err = s.findTransfer(ctx, r)
	case program.KindCredit:
		ref, found, err = s.findCredit(ctx, r, d)
	case program.KindDiscount:
		ref, found, err = s.findDiscount(ctx, r, d)
	default:
		return rewards.Transfer{}, false, nil
	}
	if !found && err == nil {
		return rewards.Transfer{}, false, nil
	}
	t := rewards.Transfer{Method: Method, Reference: ref}
	if err != nil {
		return t, found, fmt.Errorf("stripe: find %s: %w", r.ID, err)
	}
	return t, true, nil
}

func metadata(r rewards.Reward) map[string]string {
	return map[string]string{
		MetaRewardID:       r.ID,
		MetaReferralID:     r.ReferralID,
		MetaProgramID:      r.ProgramID,
		MetaIdempotencyKey: r.IdempotencyKey,
	}
}
