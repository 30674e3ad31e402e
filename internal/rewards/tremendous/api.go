package tremendous

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/referflow/referflow/internal/rewards"
)

// maxResponse bounds how much of an answer is read.
const maxResponse = 1 << 20

// jsonNumber writes an exact decimal ("50.00") as a JSON number.
type jsonNumber string

// MarshalJSON implements json.Marshaler.
func (n jsonNumber) MarshalJSON() ([]byte, error) { return []byte(n), nil }

func queryEscape(s string) string { return url.QueryEscape(s) }

// refusal is a definite 4xx answer of Tremendous's (not 409 or 429): it
// wraps rewards.ErrRefused with Tremendous's message.
type refusal struct {
	Status  int
	Message string
}

func (e *refusal) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message) }
func (e *refusal) Unwrap() error { return rewards.ErrRefused }

// call sends one API request with the bearer key and decodes a 2xx answer
// into out. No answer, a 5xx, 409 or 429 wraps rewards.ErrUnknownOutcome.
func (t *Rail) call(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.cfg.BaseURL+path, rd)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+t.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %v: %w", method, req.URL.Path, err, rewards.ErrUnknownOutcome)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %v: %w", method, req.URL.Path, err, rewards.ErrUnknownOutcome)
	}
	s := resp.StatusCode
	switch {
	case s >= 200 && s < 300:
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decode answer: %v: %w", err, rewards.ErrUnknownOutcome)
		}
		return nil
	case s == http.StatusConflict || s == http.StatusTooManyRequests || s >= 500 || s < 400:
		return fmt.Errorf("%s %s: HTTP %d: %w", method, req.URL.Path, s, rewards.ErrUnknownOutcome)
	}
	var e struct {
		Errors struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	msg := http.StatusText(s)
	if json.Unmarshal(raw, &e) == nil && e.Errors.Message != "" {
		msg = e.Errors.Message
	}
	return &refusal{Status: s, Message: msg}
}
