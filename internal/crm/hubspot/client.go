package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/money"
)

// DefaultBaseURL is HubSpot's API host.
const DefaultBaseURL = "https://api.hubapi.com"

// maxResponse bounds how much of an API answer is read.
const maxResponse = 1 << 20

// ErrNotFound is returned (wrapped) when HubSpot answers 404 for the deal.
var ErrNotFound = errors.New("hubspot: record not found")

// RetryableError is a failure worth retrying later: HubSpot answered 429 or
// 5xx, or the request did not complete. Match it with IsRetryable.
type RetryableError struct {
	StatusCode int           // 0 when no answer was received
	RetryAfter time.Duration // from Retry-After, 0 when absent
	Err        error
}

// Error describes the failure.
func (e *RetryableError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("hubspot: retryable HTTP %d: %v", e.StatusCode, e.Err)
	}
	return fmt.Sprintf("hubspot: retryable: %v", e.Err)
}

// Unwrap returns the underlying error.
func (e *RetryableError) Unwrap() error { return e.Err }

// IsRetryable reports whether err (or any error it wraps) is a RetryableError.
func IsRetryable(err error) bool {
	var r *RetryableError
	return errors.As(err, &r)
}

// ClientConfig configures a Client.
type ClientConfig struct {
	// BaseURL defaults to DefaultBaseURL; tests point it at hubspottest.
	BaseURL string
	// AccessToken is the private app access token (sent as a bearer token).
	AccessToken string
	// ReferralProperty is the deal property read as the referral id
	// (default "referral_id").
	ReferralProperty string
}

// Client reads deals and their contacts through the HubSpot CRM v3 API.
// It is safe for concurrent use.
type Client struct {
	base     string
	token    string
	referral string
	http     *http.Client
	company  *companyCurrency // the account's currency, remembered (currency.go)
}

// NewClient returns a Client using hc for every request (its Timeout and
// Transport apply); hc nil means http.DefaultClient.
func NewClient(cfg ClientConfig, hc *http.Client) *Client {
	c := &Client{base: strings.TrimRight(cfg.BaseURL, "/"), token: cfg.AccessToken, referral: cfg.ReferralProperty, http: hc}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.referral == "" {
		c.referral = DefaultReferralProperty
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	return c
}

// Deal is what Referflow needs to know about a HubSpot deal.
type Deal struct {
	ID         string
	Pipeline   string       // pipeline id
	Stage      string       // dealstage id
	Amount     *money.Money // nil when the deal has no amount
	ReferralID string       // value of the referral property, "" if unset
	ContactID  string       // first associated contact, "" if none
	Email      string       // that contact's email, lower-cased, "" if unknown
}

type objectAnswer struct {
	ID           string                     `json:"id"`
	Properties   map[string]*string         `json:"properties"`
	Associations map[string]associationPage `json:"associations"`
}

type associationPage struct {
	Results []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"results"`
}

// Deal fetches the deal (GET /crm/v3/objects/deals/{id} with dealstage,
// pipeline, amount, deal_currency_code and the referral property, and its
// contact associations), then the first associated contact's email
// (GET /crm/v3/objects/contacts/{id}?properties=email). A missing deal is
// ErrNotFound; a missing contact only leaves Email empty. 429/5xx and
// transport failures are RetryableError.
func (c *Client) Deal(ctx context.Context, dealID string) (Deal, error) {
	if !isDigits(dealID) {
		return Deal{}, fmt.Errorf("hubspot: deal id %q is not numeric", dealID)
	}
	q := url.Values{}
	q.Set("properties", "dealstage,pipeline,amount,deal_currency_code,"+c.referral)
	q.Set("associations", "contacts")
	var ans objectAnswer
	err := c.get(ctx, "/crm/v3/objects/deals/"+dealID+"?"+q.Encode(), &ans)
	if err != nil {
		return Deal{}, fmt.Errorf("hubspot: deal %s: %w", dealID, err)
	}
	prop := func(name string) string {
		if v := ans.Properties[name]; v != nil {
			return strings.TrimSpace(*v)
		}
		return ""
	}
	d := Deal{ID: dealID, Pipeline: prop("pipeline"), Stage: prop("dealstage"), ReferralID: prop(c.referral)}
	currency := prop("deal_currency_code")
	if prop("amount") != "" {
		// A single-currency account sets no deal currency: its amounts
		// are in the company currency (currency.go).
		if currency, err = c.dealCurrency(ctx, currency); err != nil {
			return Deal{}, fmt.Errorf("hubspot: deal %s: %w", dealID, err)
		}
	}
	m, err := money.Parse(prop("amount"), currency)
	if err != nil {
		return Deal{}, fmt.Errorf("hubspot: deal %s: amount %q: %w", dealID, prop("amount"), err)
	}
	d.Amount = m
	for _, r := range ans.Associations["contacts"].Results {
		if isDigits(r.ID) {
			d.ContactID = r.ID
			break
		}
	}
	if d.ContactID == "" {
		return d, nil
	}
	var contact objectAnswer
	err = c.get(ctx, "/crm/v3/objects/contacts/"+d.ContactID+"?properties=email", &contact)
	switch {
	case errors.Is(err, ErrNotFound):
		return d, nil
	case err != nil:
		return Deal{}, fmt.Errorf("hubspot: contact %s of deal %s: %w", d.ContactID, dealID, err)
	}
	if v := contact.Properties["email"]; v != nil {
		d.Email = strings.ToLower(strings.TrimSpace(*v))
	}
	return d, nil
}

func (c *Client) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &RetryableError{Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return &RetryableError{StatusCode: resp.StatusCode, Err: err}
	}
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound:
		return ErrNotFound
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return &RetryableError{StatusCode: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After")), Err: apiError(resp.StatusCode, body)}
	default:
		return apiError(resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	return nil
}

// apiError summarises HubSpot's error answer ({"status":"error","message":..,
// "category":..}) without echoing the whole body.
func apiError(status int, body []byte) error {
	var e struct {
		Message  string `json:"message"`
		Category string `json:"category"`
	}
	_ = json.Unmarshal(body, &e)
	msg := e.Message
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return fmt.Errorf("HTTP %d %s: %s", status, e.Category, msg)
}

func retryAfter(v string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// Deals reads a deal by id: a *Client, or a cache in front of one.
type Deals interface {
	Deal(ctx context.Context, dealID string) (Deal, error)
}

// needsLookup reports whether Enrich would look ev's deal up: it is about a
// deal (not deleted, not ignored) and lacks a field the deal can fill.
func needsLookup(ev *crm.Event) bool {
	if ev == nil || ev.Kind == crm.KindDeleted || ev.Kind == crm.KindIgnored {
		return false
	}
	return ev.Pipeline == "" || ev.Stage == "" || ev.Amount == nil || ev.ReferralID == "" || ev.Email == "" ||
		(ev.Amount.Currency == "" && ev.Amount.Minor != 0)
}

// Enrich fills the fields a webhook event left empty (Pipeline, Stage,
// Amount, ReferralID, Email) from the deal's current state in HubSpot. Fields
// already set are kept: they describe the change itself, which may be older
// than the deal's current state. Deleted and ignored events, and events that
// lack nothing, are left untouched without any request. It is the one
// enrichment path: the webhook's Enricher calls it.
func Enrich(ctx context.Context, c Deals, ev *crm.Event) error {
	if !needsLookup(ev) {
		return nil
	}
	if ev.RecordID == "" {
		return errors.New("hubspot: enrich: event has no deal id")
	}
	d, err := c.Deal(ctx, ev.RecordID)
	if err != nil {
		return err
	}
	fill(ev, d)
	return nil
}

// fill copies into ev what it lacks from deal d: fields already set are
// kept, and a webhook amount without currency is read in the deal's
// currency (exactly, from its text); it keeps no currency when the deal's
// is unknown.
func fill(ev *crm.Event, d Deal) {
	if ev.Kind == crm.KindDeleted || ev.Kind == crm.KindIgnored {
		return
	}
	if ev.Pipeline == "" {
		ev.Pipeline = d.Pipeline
	}
	if ev.Stage == "" && ev.Kind != crm.KindAmountChanged {
		ev.Stage = d.Stage
	}
	if ev.Amount == nil {
		ev.Amount = d.Amount
	} else if ev.Amount.Currency == "" && d.Amount != nil && d.Amount.Currency != "" {
		if m := amountIn(ev.Amount, ev.AmountText, d.Amount.Currency); m != nil {
			ev.Amount, ev.AmountText = m, ""
		}
	}
	if ev.ReferralID == "" {
		ev.ReferralID = d.ReferralID
	}
	if ev.Email == "" {
		ev.Email = d.Email
	}
}
