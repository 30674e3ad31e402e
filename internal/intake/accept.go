package intake

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// accept creates the referral with its received event (and, under an
// Idempotency-Key, the answer to replay), then starts its workflow. Once
// the referral is stored the outcome is Accepted whether or not the
// workflow started: the reconciler starts it later.
func (s *Service) accept(ctx context.Context, in Input, sub referral.Submission, prog *program.Program, partner *store.Partner, log *slog.Logger) (Outcome, error) {
	now := s.Now().UTC()
	random := s.Random
	if random == nil {
		random = rand.Reader
	}
	id, err := referral.NewID(now, random)
	if err != nil {
		return Outcome{}, fmt.Errorf("%w: referral id: %v", ErrUnavailable, err)
	}
	token, tokenHash, err := referral.NewStatusToken()
	if err != nil {
		return Outcome{}, fmt.Errorf("%w: status token: %v", ErrUnavailable, err)
	}
	acc := &Accepted{ReferralID: id, StatusToken: token, Program: prog}
	nr := store.NewReferral{
		Referral:        newReferral(id, tokenHash, now, prog, partner.Code, sub),
		Event:           receivedEvent(id, now, prog, partner.Code),
		Retention:       s.Retention,
		PartnerKey:      partner.Key,
		CountsMilestone: lastMilestone(prog),
	}
	// The program's experiment, if any, assigns the referral its variant
	// for good (by the partner's lifelong key, or the referral id).
	nr.Referral.Experiment, nr.Referral.Variant = prog.Assign(cmp.Or(partner.Key, partner.Code), id)
	if k := in.Idempotency; k.Name != "" && in.Answer != nil {
		resp := in.Answer(*acc)
		nr.Idempotency = &apigw.IdempotencyRecord{Key: k.Name, RequestHash: k.Hash, Status: resp.StatusCode,
			Body: resp.Body, Location: resp.Headers["location"], ExpiresAt: now.Add(IdempotencyTTL)}
	}
	if out, err := s.create(ctx, nr, in.Idempotency, log); err != nil || out.Replay != nil {
		return out, err
	}
	log = log.With("referral_id", id, "program", prog.ID)
	s.Metrics.Count("ReferralsReceived", 1, "program", prog.ID)
	// The referral is stored: from here on it is accepted. Start the
	// workflow now; if that keeps failing, the reconciler starts it.
	if err := s.start(ctx, id); err != nil {
		log.Warn("workflow not started yet; the reconciler will start it", "error", err)
	} else {
		log.Info("referral received; workflow started")
	}
	return Outcome{Accepted: acc}, nil
}

// create stores nr. A duplicate referral is refused (409); when a
// concurrent request with the same Idempotency-Key stored first, its
// answer is the outcome (ErrUnavailable when it cannot be read); any
// other error is ErrUnavailable. It returns a zero Outcome and no error
// exactly when nr is stored.
func (s *Service) create(ctx context.Context, nr store.NewReferral, k Key, log *slog.Logger) (Outcome, error) {
	switch err := s.Store.CreateReferral(ctx, nr); {
	case errors.Is(err, store.ErrDuplicate):
		return Outcome{}, Refuse(http.StatusConflict, "duplicate_referral", "this company or person has already been referred to this program", nil)
	case errors.Is(err, store.ErrConflict) && k.Name != "":
		// The same key was used by a concurrent request: answer what it answered.
		if replay, rerr := s.replay(ctx, k, log); rerr == nil && replay != nil {
			return Outcome{Replay: replay}, nil
		}
		return Outcome{}, fmt.Errorf("%w: idempotency key taken meanwhile", ErrUnavailable)
	case err != nil:
		log.Error("store referral failed", "error", err)
		return Outcome{}, fmt.Errorf("%w: store referral: %v", ErrUnavailable, err)
	}
	return Outcome{}, nil
}

// start starts the workflow, StartAttempts times at most, doubling
// StartBackoff between attempts.
func (s *Service) start(ctx context.Context, id string) error {
	attempts := max(s.StartAttempts, 1)
	backoff := s.StartBackoff
	var err error
	for i := 0; i < attempts; i++ {
		if err = s.Start(ctx, id); err == nil {
			return nil
		}
		if i < attempts-1 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff *= 2
		}
	}
	return err
}

// replay finds the answer to an Idempotency-Key used before: the first
// answer when the request is the same, a 422 refusal when the key was used
// with another body, nil when the key is new.
func (s *Service) replay(ctx context.Context, k Key, log *slog.Logger) (*apigw.Response, error) {
	rec, err := s.Store.Idempotency(ctx, k.Name, s.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		log.Error("idempotency lookup failed", "error", err)
		return nil, fmt.Errorf("%w: idempotency lookup: %v", ErrUnavailable, err)
	}
	if rec.RequestHash != k.Hash {
		return nil, Refuse(http.StatusUnprocessableEntity, "idempotency_key_reused", "this Idempotency-Key was used with a different body", nil)
	}
	resp := apigw.Response{StatusCode: rec.Status, Headers: map[string]string{"cache-control": "no-store", "idempotent-replayed": "true"}, Body: rec.Body}
	if rec.Body != "" {
		resp.Headers["content-type"] = "application/json"
	}
	if rec.Location != "" {
		resp.Headers["location"] = rec.Location
	}
	return &resp, nil
}
