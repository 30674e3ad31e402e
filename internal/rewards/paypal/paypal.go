// Package paypal pays rewards in cash through PayPal Payouts
// (POST /v1/payments/payouts), one single-item payout per reward, to the
// payee's PayPal email. It is a small net/http client: PayPal's official
// Go SDK is archived and no maintained one covers Payouts.
//
// Exactly once: the payout's sender_batch_id is the reward's idempotency
// key, and the request carries the same key as PayPal-Request-Id. PayPal
// completes a payment only once per sender_batch_id used within 30 days
// (Window): a repeat is refused with USER_BUSINESS_ERROR and a HATEOAS link
// to the original payout, which Send follows and reports, so a repeated
// Send never pays twice. A 5xx, 409, 429, a timeout or a hang-up is an
// unknown outcome (rewards.ErrUnknownOutcome).
//
// PayPal has no read by sender_batch_id, so Find asks with a request that
// cannot pay: the same sender_batch_id and PayPal-Request-Id with no item.
// PayPal answers a used PayPal-Request-Id with the latest state of the
// request that used it, and a used sender_batch_id with the duplicate
// error and its link: either way Find reads the original payout
// (GET /v1/payments/payouts/{payout_batch_id}). An unused key meets PayPal's
// validation (a payout needs at least one item) and nothing is created:
// found is false. Past Window PayPal remembers neither key and sending
// again would pay again: for a reward claimed (sending) Window - Margin
// ago or more, Find answers rewards.ErrUnknownOutcome instead of not
// found, so the reward stays sending for a person to settle (the payout is
// in PayPal's activity, with the reward id as sender_item_id).
//
// Item statuses: SUCCESS is paid; PENDING, UNCLAIMED and ONHOLD are sent
// and count as paid (the money has left the PayPal balance and is reserved
// for the receiver; an UNCLAIMED payout is returned after 30 days when the
// receiver never claims it, which Find then reports as a refusal to
// reconcile); FAILED, RETURNED, BLOCKED and a DENIED batch are definite
// refusals (rewards.ErrRefused with PayPal's reason); REFUNDED and
// REVERSED are rewards.ErrReversed.
package paypal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/rewards"
)

// Method is the payout method the rail reports (Transfer.Method).
const Method = "paypal"

// PayPal's API hosts.
const (
	DefaultBaseURL = "https://api-m.paypal.com"
	SandboxBaseURL = "https://api-m.sandbox.paypal.com"
)

// Settings holding the rail's base URL and credentials.
const (
	SettingAPIURL       = "REFERFLOW_PAYPAL_API_URL"
	SettingClientID     = "REFERFLOW_PAYPAL_CLIENT_ID"
	SettingClientSecret = "REFERFLOW_PAYPAL_CLIENT_SECRET"
)

// Window is how long PayPal remembers a sender_batch_id (and a
// PayPal-Request-Id) and refuses to pay it again.
const Window = 30 * 24 * time.Hour

// Payee is where a reward is paid: the receiver's PayPal email.
type Payee struct {
	Email string
}

// Payees tells the rail who a reward goes to (the payees store). An error
// stops Send before anything is sent.
type Payees interface {
	Payee(ctx context.Context, programID, party, referralID string) (Payee, error)
}

// Config configures a Rail.
type Config struct {
	// BaseURL defaults to DefaultBaseURL (SandboxBaseURL for the sandbox,
	// the local fake's URL locally).
	BaseURL      string
	ClientID     string
	ClientSecret string
	// EmailSubject is the subject of the email PayPal sends the receiver
	// (default "You have a reward").
	EmailSubject string
}

// Rail pays rewards through PayPal Payouts. It implements rewards.Rail and
// is safe for concurrent use.
type Rail struct {
	base    string
	subject string
	payees  Payees
	http    *http.Client
	now     func() time.Time

	id, secret string
	mu         sync.Mutex
	token      string
	expires    time.Time
}

var _ rewards.Rail = (*Rail)(nil)

// New returns a Rail calling PayPal with hc (its Timeout and Transport
// apply; nil means http.DefaultClient) and reading the time from now (for
// the access token's expiry; nil means time.Now).
func New(cfg Config, payees Payees, hc *http.Client, now func() time.Time) (*Rail, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("paypal: new: the client id and secret are required")
	}
	if payees == nil {
		return nil, errors.New("paypal: new: payees are required")
	}
	r := &Rail{base: strings.TrimRight(cfg.BaseURL, "/"), subject: cfg.EmailSubject, payees: payees,
		http: hc, now: now, id: cfg.ClientID, secret: cfg.ClientSecret}
	if r.base == "" {
		r.base = DefaultBaseURL
	}
	if r.subject == "" {
		r.subject = "You have a reward"
	}
	if r.http == nil {
		r.http = http.DefaultClient
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r, nil
}

// Send pays reward r to its payee's PayPal email, once: a repeat finds the
// first payout (by its sender_batch_id) and reports it. The Transfer's
// Reference is PayPal's payout_batch_id. A failure before the payout
// request is sent (no payee, no access token, an invalid reward) wraps
// neither rewards.ErrRefused nor rewards.ErrUnknownOutcome: nothing left.
func (p *Rail) Send(ctx context.Context, r rewards.Reward) (rewards.Transfer, error) {
	if err := check(r); err != nil {
		return rewards.Transfer{}, fmt.Errorf("paypal: send: %w", err)
	}
	payee, err := p.payees.Payee(ctx, r.ProgramID, r.Party, r.ReferralID)
	if err != nil {
		return rewards.Transfer{}, fmt.Errorf("paypal: send: payee: %w", err)
	}
	if !strings.Contains(payee.Email, "@") {
		return rewards.Transfer{}, errors.New("paypal: send: the payee has no PayPal email")
	}
	body := payoutRequest{
		Header: senderHeader{SenderBatchID: r.IdempotencyKey, RecipientType: "EMAIL", EmailSubject: p.subject},
		Items: []payoutItem{{
			RecipientType: "EMAIL",
			Amount:        amount{Value: money.FormatMinor(r.AmountMinor, r.Currency), Currency: r.Currency},
			Receiver:      payee.Email,
			SenderItemID:  r.ID,
			Note:          note(r),
		}},
	}
	batchID, err := p.create(ctx, r.IdempotencyKey, body)
	if err != nil {
		return rewards.Transfer{}, fmt.Errorf("paypal: send: %w", err)
	}
	t, err := p.settle(ctx, r, batchID)
	if err != nil {
		return t, fmt.Errorf("paypal: send: %w", err)
	}
	return t, nil
}

// Find looks the payout of reward r up without paying (see the package
// comment): found is false when PayPal has no payout with r's key. A
// payout found but refused or reversed is returned with found true and an
// error wrapping rewards.ErrRefused or rewards.ErrReversed. PayPal's
// "none" cannot be trusted for a reward claimed (sending since its
// UpdatedAt) Window - Margin ago or more: PayPal may have forgotten the
// key of a payout it made, so Find answers an error wrapping
// rewards.ErrUnknownOutcome instead (a person settles it), never a
// not-found that would be sent again.
func (p *Rail) Find(ctx context.Context, r rewards.Reward) (rewards.Transfer, bool, error) {
	if r.IdempotencyKey == "" {
		return rewards.Transfer{}, false, errors.New("paypal: find: the reward has no idempotency key")
	}
	probe := payoutRequest{Header: senderHeader{SenderBatchID: r.IdempotencyKey}, Items: []payoutItem{}}
	batchID, err := p.create(ctx, r.IdempotencyKey, probe)
	var ae *apiError
	if errors.As(err, &ae) && ae.Name == "VALIDATION_ERROR" {
		if p.forgotten(r) {
			return rewards.Transfer{}, false, fmt.Errorf("paypal: find: PayPal has no payout under %s, and the reward was sent over %s ago, when PayPal may have forgotten it: "+
				"look for sender_item_id %s in PayPal's activity: %w", r.IdempotencyKey, Window-Margin, r.ID, rewards.ErrUnknownOutcome)
		}
		return rewards.Transfer{}, false, nil // an unused key: the empty probe was refused, nothing created
	}
	if err != nil {
		return rewards.Transfer{}, false, fmt.Errorf("paypal: find: %w", err)
	}
	t, err := p.settle(ctx, r, batchID)
	if errors.Is(err, errNoItem) {
		return rewards.Transfer{}, false, nil
	}
	if err != nil {
		return t, true, fmt.Errorf("paypal: find: %w", err)
	}
	return t, true, nil
}

// Margin is taken off Window before PayPal's "no payout under this key"
// stops ruling a payment out (clocks differ; the payout is made a little
// after the claim).
const Margin = 24 * time.Hour

// forgotten reports whether r was claimed (sending) so long ago that
// PayPal may no longer know its key.
func (p *Rail) forgotten(r rewards.Reward) bool {
	return r.Status == rewards.StatusSending && !r.UpdatedAt.IsZero() && p.now().Sub(r.UpdatedAt) >= Window-Margin
}

// check refuses a reward PayPal cannot be asked to pay.
func check(r rewards.Reward) error {
	if r.IdempotencyKey == "" || len(r.IdempotencyKey) > 256 {
		return errors.New("the reward's idempotency key must be 1 to 256 characters (sender_batch_id)")
	}
	if _, ok := money.Exponent(r.Currency); !ok {
		return fmt.Errorf("unknown currency %q", r.Currency)
	}
	if r.AmountMinor <= 0 {
		return errors.New("the amount must be positive")
	}
	return nil
}

// note is the item's note the receiver reads: the reward's description,
// or its kind and milestone; never the payee's name.
func note(r rewards.Reward) string {
	n := r.Description
	if n == "" {
		n = "Referral reward: " + r.Milestone
	}
	if len(n) > 1000 {
		n = n[:1000]
	}
	return n
}
