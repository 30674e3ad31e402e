// Package tremendous pays rewards as gift cards through Tremendous
// (POST /api/v2/orders), one order of one reward per Referflow reward,
// delivered by email to the payee. It is a small net/http client:
// Tremendous publishes no Go SDK.
//
// Exactly once: the order's external_id is the reward's idempotency key.
// Tremendous documents external_id as making the order idempotent: a
// repeat answers with the original order and creates nothing, so a
// repeated Send never pays twice. Find lists the orders with that
// external_id (GET /api/v2/orders?external_id=), never paying. A 5xx,
// 409, 429, a timeout or a hang-up is rewards.ErrUnknownOutcome; another
// 4xx is rewards.ErrRefused with Tremendous's message.
//
// Statuses: an EXECUTED order whose reward's delivery SUCCEEDED, or is
// PENDING or SCHEDULED, is paid (the funds have left the balance); an
// order PENDING APPROVAL is sent and in progress; a FAILED order or a
// FAILED delivery is a refusal; a CANCELED order (its funds returned) is
// rewards.ErrReversed.
package tremendous

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/rewards"
)

// Method is the payout method the rail reports (Transfer.Method).
const Method = "tremendous"

// Tremendous's API base URLs.
const (
	DefaultBaseURL = "https://www.tremendous.com/api/v2"
	SandboxBaseURL = "https://testflight.tremendous.com/api/v2"
)

// Settings holding the rail's base URL and key.
const (
	SettingAPIURL = "REFERFLOW_TREMENDOUS_API_URL"
	SettingAPIKey = "REFERFLOW_TREMENDOUS_API_KEY"
)

// Recipient is who receives the gift card.
type Recipient struct {
	Name  string
	Email string
}

// Payees tells the rail who a reward goes to (the payees store). An error
// stops Send before anything is sent.
type Payees interface {
	Payee(ctx context.Context, programID, party, referralID string) (Recipient, error)
}

// Config configures a Rail.
type Config struct {
	// BaseURL defaults to DefaultBaseURL (SandboxBaseURL for the sandbox).
	BaseURL string
	APIKey  string
	// FundingSource defaults to "balance" (the account's balance).
	FundingSource string
	// Products the recipient chooses from, or CampaignID: one is required.
	Products   []string
	CampaignID string
}

// Rail orders gift cards through Tremendous. It implements rewards.Rail
// and is safe for concurrent use.
type Rail struct {
	cfg    Config
	payees Payees
	http   *http.Client
}

var _ rewards.Rail = (*Rail)(nil)

// New returns a Rail calling Tremendous with hc (nil means
// http.DefaultClient).
func New(cfg Config, payees Payees, hc *http.Client) (*Rail, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("tremendous: new: the API key is required")
	}
	if len(cfg.Products) == 0 && cfg.CampaignID == "" {
		return nil, errors.New("tremendous: new: products or a campaign id is required")
	}
	if payees == nil {
		return nil, errors.New("tremendous: new: payees are required")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.FundingSource == "" {
		cfg.FundingSource = "balance"
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Rail{cfg: cfg, payees: payees, http: hc}, nil
}

// Send orders reward r's gift card for its payee, once: a repeat answers
// with the first order. The Transfer's Reference is Tremendous's order
// id. A failure before the order is sent (no payee, an invalid reward)
// wraps neither rewards.ErrRefused nor rewards.ErrUnknownOutcome.
func (t *Rail) Send(ctx context.Context, r rewards.Reward) (rewards.Transfer, error) {
	if r.IdempotencyKey == "" || r.AmountMinor <= 0 {
		return rewards.Transfer{}, errors.New("tremendous: send: the reward needs an idempotency key and a positive amount")
	}
	if _, ok := money.Exponent(r.Currency); !ok {
		return rewards.Transfer{}, fmt.Errorf("tremendous: send: unknown currency %q", r.Currency)
	}
	to, err := t.payees.Payee(ctx, r.ProgramID, r.Party, r.ReferralID)
	if err != nil {
		return rewards.Transfer{}, fmt.Errorf("tremendous: send: payee: %w", err)
	}
	if to.Name == "" || !strings.Contains(to.Email, "@") {
		return rewards.Transfer{}, errors.New("tremendous: send: the payee needs a name and an email")
	}
	var ans struct {
		Order order `json:"order"`
	}
	if err := t.call(ctx, http.MethodPost, "/orders", t.orderBody(r, to), &ans); err != nil {
		return rewards.Transfer{}, fmt.Errorf("tremendous: send: %w", err)
	}
	tr, err := ans.Order.outcome()
	if err != nil {
		return tr, fmt.Errorf("tremendous: send: %w", err)
	}
	return tr, nil
}

// Find lists the orders with r's external_id, never ordering: found is
// false when there is none. An order found but failed or canceled is
// returned with found true and an error wrapping rewards.ErrRefused or
// rewards.ErrReversed.
func (t *Rail) Find(ctx context.Context, r rewards.Reward) (rewards.Transfer, bool, error) {
	if r.IdempotencyKey == "" {
		return rewards.Transfer{}, false, errors.New("tremendous: find: the reward has no idempotency key")
	}
	var ans struct {
		Orders []order `json:"orders"`
	}
	if err := t.call(ctx, http.MethodGet, "/orders?external_id="+queryEscape(r.IdempotencyKey), nil, &ans); err != nil {
		return rewards.Transfer{}, false, fmt.Errorf("tremendous: find: %w", err)
	}
	for _, o := range ans.Orders {
		if o.ExternalID != r.IdempotencyKey {
			continue // the filter is exact; never trust a near match
		}
		tr, err := o.outcome()
		if err != nil {
			return tr, true, fmt.Errorf("tremendous: find: %w", err)
		}
		return tr, true, nil
	}
	return rewards.Transfer{}, false, nil
}

func (t *Rail) orderBody(r rewards.Reward, to Recipient) map[string]any {
	reward := map[string]any{
		"value":     map[string]any{"denomination": jsonNumber(money.FormatMinor(r.AmountMinor, r.Currency)), "currency_code": r.Currency},
		"delivery":  map[string]string{"method": "EMAIL"},
		"recipient": map[string]string{"name": to.Name, "email": to.Email},
	}
	if len(t.cfg.Products) > 0 {
		reward["products"] = t.cfg.Products
	}
	if t.cfg.CampaignID != "" {
		reward["campaign_id"] = t.cfg.CampaignID
	}
	return map[string]any{"external_id": r.IdempotencyKey, "payment": map[string]string{"funding_source_id": t.cfg.FundingSource}, "reward": reward}
}

// order is an order as Tremendous reports it.
type order struct {
	ID         string `json:"id"`
	ExternalID string `json:"external_id"`
	Status     string `json:"status"`
	Rewards    []struct {
		Delivery struct {
			Status string `json:"status"`
		} `json:"delivery"`
	} `json:"rewards"`
}

// outcome maps the order's status (see the package comment).
func (o order) outcome() (rewards.Transfer, error) {
	t := rewards.Transfer{Method: Method, Reference: o.ID}
	if o.ID == "" {
		return rewards.Transfer{}, fmt.Errorf("the answer has no order id: %w", rewards.ErrUnknownOutcome)
	}
	switch o.Status {
	case "EXECUTED", "PENDING APPROVAL", "PENDING INTERNAL PAYMENT APPROVAL":
		for _, rw := range o.Rewards {
			if rw.Delivery.Status == "FAILED" {
				return t, fmt.Errorf("order %s: delivery FAILED: %w", o.ID, rewards.ErrRefused)
			}
		}
		return t, nil
	case "FAILED":
		return t, fmt.Errorf("order %s: FAILED: %w", o.ID, rewards.ErrRefused)
	case "CANCELED":
		return t, fmt.Errorf("order %s: CANCELED: %w", o.ID, rewards.ErrReversed)
	}
	return t, fmt.Errorf("order %s: status %q: %w", o.ID, o.Status, rewards.ErrUnknownOutcome)
}
