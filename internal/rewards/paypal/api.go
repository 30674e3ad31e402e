package paypal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/rewards"
)

// maxResponse bounds how much of an answer is read.
const maxResponse = 1 << 20

// tokenMargin: a cached access token is renewed this long before PayPal
// says it expires.
const tokenMargin = time.Minute

type payoutRequest struct {
	Header senderHeader `json:"sender_batch_header"`
	Items  []payoutItem `json:"items"`
}

type senderHeader struct {
	SenderBatchID string `json:"sender_batch_id"`
	RecipientType string `json:"recipient_type,omitempty"`
	EmailSubject  string `json:"email_subject,omitempty"`
}

type payoutItem struct {
	RecipientType string `json:"recipient_type"`
	Amount        amount `json:"amount"`
	Receiver      string `json:"receiver"`
	SenderItemID  string `json:"sender_item_id"`
	Note          string `json:"note,omitempty"`
}

type amount struct {
	Value    string `json:"value"`
	Currency string `json:"currency"`
}

type link struct {
	Href   string `json:"href"`
	Rel    string `json:"rel"`
	Method string `json:"method"`
}

// batch is a payout as PayPal reports it (POST answer and GET).
type batch struct {
	Header struct {
		PayoutBatchID string `json:"payout_batch_id"`
		BatchStatus   string `json:"batch_status"`
	} `json:"batch_header"`
	Items []struct {
		PayoutItemID      string `json:"payout_item_id"`
		TransactionStatus string `json:"transaction_status"`
		PayoutItem        struct {
			SenderItemID string `json:"sender_item_id"`
		} `json:"payout_item"`
		Errors *struct {
			Name string `json:"name"`
		} `json:"errors"`
	} `json:"items"`
	Links []link `json:"links"`
}

// apiError is a definite 4xx answer of PayPal's (not 409 or 429): it
// wraps rewards.ErrRefused.
type apiError struct {
	Status  int
	Name    string `json:"name"`
	Message string `json:"message"`
	Details []struct {
		Field string `json:"field"`
		Issue string `json:"issue"`
	} `json:"details"`
	Links []link `json:"links"`
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("HTTP %d %s", e.Status, e.Name)
	for _, d := range e.Details {
		s += fmt.Sprintf(" (%s: %s)", d.Field, d.Issue)
	}
	return s
}

func (e *apiError) Unwrap() error { return rewards.ErrRefused }

// duplicate reports whether the error is PayPal's refusal of a
// sender_batch_id used within Window, and the original's payout_batch_id
// from its link ("" when it has none).
func (e *apiError) duplicate() (string, bool) {
	dup := false
	for _, d := range e.Details {
		if strings.EqualFold(d.Field, "sender_batch_id") {
			dup = true
		}
	}
	if !dup {
		return "", false
	}
	for _, l := range e.Links {
		if i := strings.LastIndex(l.Href, "/v1/payments/payouts/"); i >= 0 {
			id := l.Href[i+len("/v1/payments/payouts/"):]
			id, _, _ = strings.Cut(id, "?")
			return id, true
		}
	}
	return "", true
}

// create posts a payout with the key as PayPal-Request-Id and returns the
// payout_batch_id of the payout it created or, for a used key, of the
// original one.
func (p *Rail) create(ctx context.Context, key string, body payoutRequest) (string, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("encode payout: %w", err)
	}
	var b batch
	err = p.call(ctx, http.MethodPost, "/v1/payments/payouts", key, raw, &b)
	var ae *apiError
	if errors.As(err, &ae) {
		if id, dup := ae.duplicate(); dup {
			if id == "" {
				return "", fmt.Errorf("PayPal holds a payout with this sender_batch_id but gave no link to it: %w", rewards.ErrUnknownOutcome)
			}
			return id, nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("create payout: %w", err)
	}
	if b.Header.PayoutBatchID == "" {
		return "", fmt.Errorf("create payout: the answer has no payout_batch_id: %w", rewards.ErrUnknownOutcome)
	}
	return b.Header.PayoutBatchID, nil
}

// batch reads a payout by PayPal's id.
func (p *Rail) batch(ctx context.Context, id string) (batch, error) {
	var b batch
	if err := p.call(ctx, http.MethodGet, "/v1/payments/payouts/"+url.PathEscape(id), "", nil, &b); err != nil {
		return batch{}, fmt.Errorf("read payout %s: %w", id, err)
	}
	return b, nil
}

// call sends one API request with a bearer token, renewing the token once
// when PayPal answers 401, and decodes a 2xx answer into out. A request
// that got no answer, or a 5xx, 409 or 429, wraps
// rewards.ErrUnknownOutcome; another 4xx is an *apiError.
func (p *Rail) call(ctx context.Context, method, path, key string, body []byte, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := p.accessToken(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, method, p.base+path, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("request: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if key != "" {
			req.Header.Set("PayPal-Request-Id", key)
		}
		status, raw, err := p.do(req)
		if err != nil {
			return err
		}
		if status == http.StatusUnauthorized && attempt == 0 {
			p.forgetToken(tok)
			continue // PayPal processed nothing: safe to send again
		}
		return decode(status, raw, out)
	}
}

// do sends req and reads the answer; no answer is an unknown outcome.
func (p *Rail) do(req *http.Request) (int, []byte, error) {
	resp, err := p.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %v: %w", req.Method, req.URL.Path, err, rewards.ErrUnknownOutcome)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read answer: %v: %w", req.Method, req.URL.Path, err, rewards.ErrUnknownOutcome)
	}
	return resp.StatusCode, raw, nil
}

// decode classifies an answer and decodes a 2xx one into out.
func decode(status int, raw []byte, out any) error {
	switch {
	case status >= 200 && status < 300:
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decode answer: %v: %w", err, rewards.ErrUnknownOutcome)
		}
		return nil
	case status == http.StatusConflict || status == http.StatusTooManyRequests || status >= 500 || status < 400:
		return fmt.Errorf("HTTP %d: %w", status, rewards.ErrUnknownOutcome)
	}
	ae := &apiError{Status: status}
	if err := json.Unmarshal(raw, ae); err != nil || ae.Name == "" {
		ae.Name = http.StatusText(status)
	}
	return ae
}

// accessToken returns the cached OAuth2 token, or gets a new one with the
// client credentials (POST /v1/oauth2/token) when it is about to expire.
// Failing to get one is neither a refusal nor an unknown outcome: no
// payout was sent.
func (p *Rail) accessToken(ctx context.Context) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.token != "" && p.now().Before(p.expires) {
		return p.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/v1/oauth2/token", strings.NewReader(form))
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	req.SetBasicAuth(p.id, p.secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("token: %v (no payout was sent)", err)
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &t) != nil || t.AccessToken == "" {
		return "", fmt.Errorf("token: HTTP %d (check %s and %s; no payout was sent)", resp.StatusCode, SettingClientID, SettingClientSecret)
	}
	p.token = t.AccessToken
	p.expires = p.now().Add(time.Duration(t.ExpiresIn)*time.Second - tokenMargin)
	return p.token, nil
}

// forgetToken drops tok from the cache (PayPal no longer accepts it).
func (p *Rail) forgetToken(tok string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.token == tok {
		p.token = ""
	}
}
