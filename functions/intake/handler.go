package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/eligibility"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// MaxBody is the largest referral form accepted (a form is a few hundred bytes).
const MaxBody = 16 << 10

// idempotencyTTL is how long an Idempotency-Key answer is replayed.
const idempotencyTTL = 24 * time.Hour

// Store is what intake needs from the table.
type Store interface {
	CurrentProgram(ctx context.Context, id string) (*program.Program, error)
	Referrer(ctx context.Context, programID, code string) (*store.Referrer, error)
	CreateReferral(ctx context.Context, nr store.NewReferral) error
	Idempotency(ctx context.Context, key string, now time.Time) (*store.IdempotencyRecord, error)
}

// Starter starts a referral's workflow.
type Starter func(ctx context.Context, referralID string) error

// Handler serves POST /referrals.
type Handler struct {
	Store          Store
	Start          Starter
	DefaultProgram string
	Now            func() time.Time
	Random         io.Reader
	Log            *slog.Logger
	// StartAttempts and StartBackoff bound the in-request retries of
	// StartExecution; after them the reconciler starts the workflow.
	StartAttempts int
	StartBackoff  time.Duration
	// Metrics receives business metrics (nil discards them).
	Metrics *metrics.Emitter
}

// Accepted is the 202 body.
type Accepted struct {
	ReferralID string `json:"referral_id"`
	Status     string `json:"status"`
	StatusURL  string `json:"status_url"`
}

// Handle answers one referral form.
func (h *Handler) Handle(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	log := logging.From(ctx, h.Log)
	body, err := apigw.Body(&req)
	if err != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_request", err.Error(), nil), nil
	}
	if len(body) > MaxBody {
		return apigw.TooLarge(MaxBody), nil
	}
	mt := apigw.MediaType(&req)
	if mt != "application/json" && mt != "application/x-www-form-urlencoded" {
		return apigw.Error(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send application/json or application/x-www-form-urlencoded", nil), nil
	}
	// "bot-field" is a second honeypot name (Netlify-style forms); keep it
	// so the check below can see it.
	fields, bad, err := apigw.Fields(mt, body, append(slices.Clone(referral.Fields), "bot-field"))
	if err != nil {
		return apigw.Error(http.StatusBadRequest, "invalid_request", err.Error(), nil), nil
	}
	sub := submission(fields)
	if sub.Gotcha != "" || fields["bot-field"] != "" {
		// A bot filled the honeypot: answer like a success, store nothing.
		log.Info("honeypot filled; nothing stored")
		if resp, ok := h.thankYou(ctx, &req, mt, sub.Program); ok {
			return resp, nil
		}
		id, _ := referral.NewID(h.Now(), h.Random)
		token, _, _ := referral.NewStatusToken()
		return apigw.JSON(http.StatusAccepted, Accepted{ReferralID: id, Status: string(referral.StatusReceived), StatusURL: "/referrals/" + id + "?token=" + token}), nil
	}
	sub.Normalize()
	if errs := sub.Validate(); len(errs) > 0 || len(bad) > 0 {
		if errs == nil {
			errs = referral.FieldErrors{}
		}
		for k, v := range bad {
			errs[k] = v
		}
		return apigw.Error(http.StatusBadRequest, "invalid_request", "some fields are missing or invalid", errs), nil
	}

	idemKey := apigw.Header(&req, "idempotency-key")
	reqHash := ""
	if idemKey != "" {
		if len(idemKey) > 255 {
			return apigw.Error(http.StatusBadRequest, "invalid_request", "Idempotency-Key is longer than 255 characters", nil), nil
		}
		sum := sha256.Sum256(append([]byte(mt+"\n"), body...))
		reqHash = hex.EncodeToString(sum[:])
		if resp, done, err := h.replay(ctx, idemKey, reqHash); err != nil {
			log.Error("idempotency lookup failed", "error", err)
			return apigw.Unavailable(), nil
		} else if done {
			return resp, nil
		}
	}

	programID := sub.Program
	if programID == "" {
		programID = h.DefaultProgram
	}
	prog, err := h.Store.CurrentProgram(ctx, programID)
	if errors.Is(err, store.ErrNotFound) {
		return apigw.Error(http.StatusBadRequest, "unknown_program", "no program "+programID, map[string]string{"program": "is not a known program"}), nil
	}
	if err != nil {
		log.Error("read program failed", "error", err)
		return apigw.Unavailable(), nil
	}
	if origin := apigw.Header(&req, "origin"); origin != "" && !siteAllowed(prog.SiteOrigins, origin) {
		// The gateway's CORS lists every program's sites; a program takes
		// browser posts only from its own.
		return apigw.Error(http.StatusForbidden, "origin_not_allowed", "this program accepts referrals from its own sites only", nil), nil
	}
	ref, err := h.Store.Referrer(ctx, prog.ID, sub.ReferrerCode)
	if errors.Is(err, store.ErrNotFound) {
		return apigw.Error(http.StatusBadRequest, "unknown_referrer", "the referral code is not known in this program", map[string]string{"referrer_code": "is not a known referral code"}), nil
	}
	if err != nil {
		log.Error("read referrer failed", "error", err)
		return apigw.Unavailable(), nil
	}

	now := h.Now().UTC()
	id, err := referral.NewID(now, h.Random)
	if err != nil {
		return apigw.Unavailable(), nil
	}
	token, tokenHash, err := referral.NewStatusToken()
	if err != nil {
		return apigw.Unavailable(), nil
	}
	r := &referral.Referral{
		ID: id, ProgramID: prog.ID, ProgramVersion: prog.Version, Status: referral.StatusReceived,
		ReferrerCode:    ref.Code,
		RefereeEmail:    sub.RefereeEmail,
		RefereeName:     sub.RefereeName,
		RefereeCompany:  sub.RefereeCompany,
		RefereeDomain:   companyDomain(sub),
		RefereePhone:    sub.RefereePhone,
		Message:         sub.Message,
		Country:         sub.Country,
		Industry:        sub.Industry,
		Employees:       sub.EmployeeCount(),
		StatusTokenHash: tokenHash,
		Milestones:      map[string]time.Time{},
		CreatedAt:       now, UpdatedAt: now,
	}
	accepted := Accepted{ReferralID: id, Status: string(referral.StatusReceived), StatusURL: "/referrals/" + id + "?token=" + url.QueryEscape(token)}
	resp := apigw.JSON(http.StatusAccepted, accepted)
	if apigw.PrefersHTML(&req) && mt == "application/x-www-form-urlencoded" && prog.ThankYouURL != "" {
		resp = seeOther(prog.ThankYouURL)
	}
	nr := store.NewReferral{Referral: r, Activity: store.Activity{
		At: now, Type: "received", Actor: "intake",
		Detail: "Referral received from referrer " + ref.Code + " for program " + prog.ID + " (version " + itoa(prog.Version) + ")",
	}}
	if idemKey != "" {
		nr.Idempotency = &store.IdempotencyRecord{Key: idemKey, RequestHash: reqHash, Status: resp.StatusCode,
			Body: resp.Body, Location: resp.Headers["location"], ExpiresAt: now.Add(idempotencyTTL)}
	}
	switch err := h.Store.CreateReferral(ctx, nr); {
	case errors.Is(err, store.ErrDuplicate):
		return apigw.Error(http.StatusConflict, "duplicate_referral", "this company or person has already been referred to this program", nil), nil
	case errors.Is(err, store.ErrConflict) && idemKey != "":
		// The same key was used by a concurrent request: answer what it answered.
		if resp, done, err := h.replay(ctx, idemKey, reqHash); err == nil && done {
			return resp, nil
		}
		return apigw.Unavailable(), nil
	case err != nil:
		log.Error("store referral failed", "error", err)
		return apigw.Unavailable(), nil
	}
	log = log.With("referral_id", id, "program", prog.ID)
	h.Metrics.Count("ReferralsReceived", 1, "program", prog.ID)
	// The referral is stored: from here on the answer is 2xx. Start the
	// workflow now; if that keeps failing, the reconciler starts it.
	if err := h.start(ctx, id); err != nil {
		log.Warn("workflow not started yet; the reconciler will start it", "error", err)
	} else {
		log.Info("referral received; workflow started")
	}
	return resp, nil
}

// thankYou is the answer a browser posting the plain HTML form gets: 303 to
// the program's thank-you page, when it has one.
func (h *Handler) thankYou(ctx context.Context, req *apigw.Request, mediaType, programID string) (apigw.Response, bool) {
	if mediaType != "application/x-www-form-urlencoded" || !apigw.PrefersHTML(req) {
		return apigw.Response{}, false
	}
	if programID == "" {
		programID = h.DefaultProgram
	}
	p, err := h.Store.CurrentProgram(ctx, strings.ToLower(strings.TrimSpace(programID)))
	if err != nil || p.ThankYouURL == "" {
		return apigw.Response{}, false
	}
	return seeOther(p.ThankYouURL), true
}

func seeOther(location string) apigw.Response {
	return apigw.Response{StatusCode: http.StatusSeeOther, Headers: map[string]string{"location": location, "cache-control": "no-store"}}
}

func (h *Handler) start(ctx context.Context, id string) error {
	attempts := max(h.StartAttempts, 1)
	backoff := h.StartBackoff
	var err error
	for i := 0; i < attempts; i++ {
		if err = h.Start(ctx, id); err == nil {
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

// replay answers a repeated Idempotency-Key: the first answer when the body
// is the same, 422 when the key is reused for another body.
func (h *Handler) replay(ctx context.Context, key, reqHash string) (apigw.Response, bool, error) {
	rec, err := h.Store.Idempotency(ctx, key, h.Now())
	if errors.Is(err, store.ErrNotFound) {
		return apigw.Response{}, false, nil
	}
	if err != nil {
		return apigw.Response{}, false, err
	}
	if rec.RequestHash != reqHash {
		return apigw.Error(http.StatusUnprocessableEntity, "idempotency_key_reused",
			"this Idempotency-Key was used with a different body", nil), true, nil
	}
	resp := apigw.Response{StatusCode: rec.Status, Headers: map[string]string{"cache-control": "no-store", "idempotent-replayed": "true"}, Body: rec.Body}
	if rec.Body != "" {
		resp.Headers["content-type"] = "application/json"
	}
	if rec.Location != "" {
		resp.Headers["location"] = rec.Location
	}
	return resp, true, nil
}

// siteAllowed reports whether a browser origin may post to a program: any
// origin when the program lists none, else one of its site origins.
func siteAllowed(sites []string, origin string) bool {
	if len(sites) == 0 {
		return true
	}
	for _, s := range sites {
		if strings.EqualFold(strings.TrimSuffix(s, "/"), strings.TrimSuffix(origin, "/")) {
			return true
		}
	}
	return false
}

// companyDomain is the referee's company domain: the one given, or the
// email's unless that is a free-mail or disposable provider.
func companyDomain(s referral.Submission) string {
	if s.RefereeDomain != "" {
		return s.RefereeDomain
	}
	d := referral.EmailDomain(s.RefereeEmail)
	if eligibility.IsFreeMail(d) || eligibility.IsDisposable(d) {
		return ""
	}
	return d
}

func submission(f map[string]string) referral.Submission {
	b, _ := json.Marshal(f)
	var s referral.Submission
	_ = json.Unmarshal(b, &s)
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
