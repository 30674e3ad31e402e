package outbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/referflow/referflow/internal/stdwebhooks"
)

// AttemptTimeout bounds one attempt: an endpoint that has not answered by
// then has failed this attempt.
const AttemptTimeout = 10 * time.Second

// MaxResponse is how much of an answer's body an attempt keeps.
const MaxResponse = 1024

// UserAgent is the User-Agent of every delivery.
const UserAgent = "Referflow-Webhooks/1"

// NewClient returns the HTTP client deliveries go through: an attempt
// ends after AttemptTimeout, proxies come from the environment
// (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), and no redirect is followed (a 3xx
// answer is a failed attempt, as Standard Webhooks senders do).
func NewClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = Parallel
	t.ResponseHeaderTimeout = AttemptTimeout
	return &http.Client{
		Timeout: AttemptTimeout, Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// job is one attempt to make: held when the delivery is already leased to
// this worker (created or replayed with its lease); trigger "" is the
// delivery's own (Delivery.trigger).
type job struct {
	ep      Endpoint
	d       Delivery
	held    bool
	trigger string
}

// attemptAll makes the jobs' attempts, Parallel at a time, starting none
// when ctx's deadline is too close for an attempt and its writes (those
// are left due: Queued).
func (s *Service) attemptAll(ctx context.Context, jobs []job) Result {
	var (
		mu  sync.Mutex
		res Result
		wg  sync.WaitGroup
	)
	sem := make(chan struct{}, Parallel)
	for i, j := range jobs {
		sem <- struct{}{}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < AttemptTimeout+5*time.Second {
			<-sem
			mu.Lock()
			res.Queued += len(jobs) - i
			mu.Unlock()
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := s.attempt(ctx, j)
			mu.Lock()
			res.add(r)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return res
}

// attempt leases the delivery (unless held), sends it, records the attempt
// and counts how the delivery ended on its endpoint.
func (s *Service) attempt(ctx context.Context, j job) Result {
	log := s.log(ctx).With("endpoint_id", j.ep.ID, "delivery_id", j.d.ID, "event_id", j.d.EventID, "event_type", j.d.EventType)
	d := j.d
	if !j.held {
		leased := d.leased(s.Now())
		if err := s.Store.SaveWebhookDelivery(ctx, leased); err != nil {
			if !errors.Is(err, ErrConflict) {
				log.Error("webhook delivery not leased", "error", err)
			}
			return Result{Skipped: 1}
		}
		leased.Version++
		d = leased
	}
	trigger := j.trigger
	if trigger == "" {
		trigger = d.trigger()
	}
	a := s.send(ctx, j.ep, d, trigger)
	jitter := s.Jitter
	if jitter == nil {
		jitter = Jitter
	}
	after := d.recorded(a, s.Now(), func(step int) (time.Duration, bool) {
		delay, ok := s.Schedule.Delay(step)
		return jitter(delay), ok
	})
	if err := s.Store.SaveWebhookDelivery(ctx, after); err != nil {
		// The lease ends and the attempt is made again: receivers dedupe
		// on webhook-id.
		log.Error("webhook attempt not recorded", "error", err, "status_code", a.StatusCode)
		return Result{Attempted: 1}
	}
	log.Info("webhook attempt", "trigger", a.Trigger, "status_code", a.StatusCode, "error", a.Error,
		"duration_ms", a.DurationMS, "status", after.Status, "attempt", after.AttemptCount)
	res := Result{Attempted: 1}
	switch {
	case after.Status == StatusSucceeded:
		res.Succeeded = 1
	case after.Status == StatusFailed:
		res.Failed = 1
		s.Metrics.Count("WebhookDeliveriesFailed", 1, "endpoint_id", j.ep.ID)
	case !a.OK() && a.Trigger != TriggerReplay:
		res.Retrying = 1
	}
	s.countOutcome(ctx, j.ep, d, after)
	return res
}

// countOutcome keeps the endpoint's count of deliveries failed in a row:
// a success clears it, a delivery whose schedule ran out adds one (replays
// count for neither: an operator is looking).
func (s *Service) countOutcome(ctx context.Context, ep Endpoint, before, after Delivery) {
	succeeded := after.Status == StatusSucceeded
	exhausted := after.Status == StatusFailed && !before.Replaying
	if !(succeeded && ep.ConsecutiveFailures > 0) && !exhausted {
		return
	}
	disabled, err := s.Store.CountWebhookOutcome(ctx, ep.ID, succeeded, s.DisableAfter, s.Now())
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.log(ctx).Error("webhook endpoint outcome not counted", "endpoint_id", ep.ID, "error", err)
	}
	if disabled {
		s.log(ctx).Warn("webhook endpoint disabled", "endpoint_id", ep.ID, "after_failed_deliveries", s.DisableAfter)
		s.Metrics.Count("WebhookEndpointsDisabled", 1, "endpoint_id", ep.ID)
	}
}

// send makes one attempt: POST of the payload, signed now. It never
// returns an error: what went wrong is the attempt's Error.
func (s *Service) send(ctx context.Context, ep Endpoint, d Delivery, trigger string) (a Attempt) {
	start := s.Now()
	a = Attempt{At: start.UTC(), Trigger: trigger}
	defer func() { a.DurationMS = s.Now().Sub(start).Milliseconds() }()
	keys, err := ep.keys(start)
	if err != nil {
		a.Error = "endpoint secret unreadable"
		return a
	}
	ctx, cancel := context.WithTimeout(ctx, AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, strings.NewReader(d.Payload))
	if err != nil {
		a.Error = "request not built: " + err.Error()
		return a
	}
	req.Header = stdwebhooks.Headers(d.ID, start, []byte(d.Payload), keys...)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	resp, err := s.Client.Do(req)
	if err != nil {
		a.Error = describe(ctx, err)
		return a
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	a.StatusCode, a.Response = resp.StatusCode, text(body)
	if err != nil && a.StatusCode/100 != 2 {
		a.Error = "answer cut short: " + describe(ctx, err)
	}
	return a
}

// describe says why a request failed without repeating its URL (which may
// carry a token the operator put in it).
func describe(ctx context.Context, err error) string {
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return fmt.Sprintf("no answer within %s", AttemptTimeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Sprintf("no answer within %s", AttemptTimeout)
		}
		err = ue.Err
	}
	return err.Error()
}

// text is at most MaxResponse bytes of an answer, as valid UTF-8 (bytes
// that are not, such as a character the limit cut, become U+FFFD).
func text(b []byte) string {
	if len(b) > MaxResponse {
		b = b[:MaxResponse]
	}
	out := strings.ToValidUTF8(string(b), "\uFFFD")
	for len(out) > MaxResponse {
		_, size := utf8.DecodeLastRuneInString(out)
		out = out[:len(out)-size]
	}
	return out
}
