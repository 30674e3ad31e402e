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
	"github.com/referflow/referflow/internal/events"
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
	Referrer(ctx context.Context, programID, code string) (*referral.Referrer, error)
	CreateReferral(ctx context.Context, nr store.NewReferral) error
	Idempotency(ctx context.Context, key string, now time.Time) (*apigw.IdempotencyRecord, error)
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
	// Retention is how long a referral's personal data is kept once it is
	// closed; each referral records the retention it was received under.
	Retention time.Duration
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
	f, resp, answered := readForm(&req)
	if answered {
		return resp, nil
	}
	if f.bot {
		// A bot filled the honeypot: answer like a success, store nothing.
		log.Info("honeypot filled; nothing stored")
		return h.decoy(ctx, &req, f), nil
	}
	f.sub.Normalize()
	if resp, invalid := f.invalid(); invalid {
		return resp, nil
	}
	idem, resp, answered := h.idempotency(ctx, &req, f, log)
	if answered {
		return resp, nil
	}
	prog, resp, answered := h.program(ctx, &req, f.sub.Program, log)
	if answered {
		return resp, nil
	}
	ref, resp, answered := h.referrer(ctx, prog.ID, f.sub.ReferrerCode, log)
	if answered {
		return resp, nil
	}
	return h.accept(ctx, &req, f, idem, prog, ref, log), nil
}

// form is a posted referral form: its media type and raw body, the
// submission read from it, the fields that could not be read (field name to
// message), and whether a honeypot field was filled.
type form struct {
	mediaType string
	body      []byte
	sub       referral.Submission
	bad       map[string]string
	bot       bool
}

// readForm reads the form from the request. When it cannot (no readable
// body, too large, a media type other than JSON or URL-encoded, a body that
// does not parse) answered is true and resp is the 4xx to send.
func readForm(req *apigw.Request) (f form, resp apigw.Response, answered bool) {
	body, err := apigw.Body(req)
	if err != nil {
		return form{}, apigw.Error(http.StatusBadRequest, "invalid_request", err.Error(), nil), true
	}
	if len(body) > MaxBody {
		return form{}, apigw.TooLarge(MaxBody), true
	}
	mt := apigw.MediaType(req)
	if mt != "application/json" && mt != "application/x-www-form-urlencoded" {
		return form{}, apigw.Error(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send application/json or application/x-www-form-urlencoded", nil), true
	}
	// "bot-field" is a second honeypot name (Netlify-style forms); keep it
	// so the honeypot check can see it.
	fields, bad, err := apigw.Fields(mt, body, append(slices.Clone(referral.Fields), "bot-field"))
	if err != nil {
		return form{}, apigw.Error(http.StatusBadRequest, "invalid_request", err.Error(), nil), true
	}
	sub := submission(fields)
	f = form{mediaType: mt, body: body, sub: sub, bad: bad, bot: sub.Gotcha != "" || fields["bot-field"] != ""}
	return f, apigw.Response{}, false
}

// decoy is the answer to a bot that filled the honeypot: what a person gets
// (the thank-you redirect, or a 202 with a fresh id and status token), with
// nothing stored.
func (h *Handler) decoy(ctx context.Context, req *apigw.Request, f form) apigw.Response {
	if resp, ok := h.thankYou(ctx, req, f.mediaType, f.sub.Program); ok {
		return resp
	}
	id, _ := referral.NewID(h.Now(), h.Random)
	token, _, _ := referral.NewStatusToken()
	return apigw.JSON(http.StatusAccepted, Accepted{ReferralID: id, Status: string(referral.StatusReceived), StatusURL: "/referrals/" + id + "?token=" + token})
}

// invalid answers 400 listing every missing, invalid or unreadable field of
// the (normalized) submission; invalid is false when there is none.
func (f form) invalid() (resp apigw.Response, invalid bool) {
	errs := f.sub.Validate()
	if len(errs) == 0 && len(f.bad) == 0 {
		return apigw.Response{}, false
	}
	if errs == nil {
		errs = referral.FieldErrors{}
	}
	for k, v := range f.bad {
		errs[k] = v
	}
	return apigw.Error(http.StatusBadRequest, "invalid_request", "some fields are missing or invalid", errs), true
}

// idempotencyKey is a request's Idempotency-Key and the hash of the media
// type and body it came with; key is "" when the client sent none.
type idempotencyKey struct {
	key, hash string
}

// idempotency reads the request's Idempotency-Key. A key too long is
// answered 400, a key already used is answered by replay, and a failed
// lookup 503; otherwise answered is false.
func (h *Handler) idempotency(ctx context.Context, req *apigw.Request, f form, log *slog.Logger) (idem idempotencyKey, resp apigw.Response, answered bool) {
	idem.key = apigw.Header(req, "idempotency-key")
	if idem.key == "" {
		return idem, apigw.Response{}, false
	}
	if len(idem.key) > 255 {
		return idem, apigw.Error(http.StatusBadRequest, "invalid_request", "Idempotency-Key is longer than 255 characters", nil), true
	}
	sum := sha256.Sum256(append([]byte(f.mediaType+"\n"), f.body...))
	idem.hash = hex.EncodeToString(sum[:])
	resp, done, err := h.replay(ctx, idem.key, idem.hash)
	if err != nil {
		log.Error("idempotency lookup failed", "error", err)
		return idem, apigw.Unavailable(), true
	}
	return idem, resp, done
}

// program reads the current version of the program the form names (the
// default program when it names none) and checks that the request's origin,
// if any, is one of its sites. An unknown program is answered 400, a
// foreign origin 403, and a failed read 503.
func (h *Handler) program(ctx context.Context, req *apigw.Request, programID string, log *slog.Logger) (prog *program.Program, resp apigw.Response, answered bool) {
	if programID == "" {
		programID = h.DefaultProgram
	}
	prog, err := h.Store.CurrentProgram(ctx, programID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apigw.Error(http.StatusBadRequest, "unknown_program", "no program "+programID, map[string]string{"program": "is not a known program"}), true
	}
	if err != nil {
		log.Error("read program failed", "error", err)
		return nil, apigw.Unavailable(), true
	}
	if origin := apigw.Header(req, "origin"); origin != "" && !siteAllowed(prog.SiteOrigins, origin) {
		// The gateway's CORS lists every program's sites; a program takes
		// browser posts only from its own.
		return nil, apigw.Error(http.StatusForbidden, "origin_not_allowed", "this program accepts referrals from its own sites only", nil), true
	}
	return prog, apigw.Response{}, false
}

// referrer reads the referrer with the given code in the program. An
// unknown code is answered 400 and a failed read 503.
func (h *Handler) referrer(ctx context.Context, programID, code string, log *slog.Logger) (ref *referral.Referrer, resp apigw.Response, answered bool) {
	ref, err := h.Store.Referrer(ctx, programID, code)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apigw.Error(http.StatusBadRequest, "unknown_referrer", "the referral code is not known in this program", map[string]string{"referrer_code": "is not a known referral code"}), true
	}
	if err != nil {
		log.Error("read referrer failed", "error", err)
		return nil, apigw.Unavailable(), true
	}
	return ref, apigw.Response{}, false
}

// accept creates the referral with its received event (and, under an
// Idempotency-Key, the answer to replay), then starts its workflow. Once the
// referral is stored the answer is the 202 (or the thank-you redirect)
// whether or not the workflow started: the reconciler starts it later.
func (h *Handler) accept(ctx context.Context, req *apigw.Request, f form, idem idempotencyKey, prog *program.Program, ref *referral.Referrer, log *slog.Logger) apigw.Response {
	now := h.Now().UTC()
	id, err := referral.NewID(now, h.Random)
	if err != nil {
		return apigw.Unavailable()
	}
	token, tokenHash, err := referral.NewStatusToken()
	if err != nil {
		return apigw.Unavailable()
	}
	resp := acceptedResponse(req, f.mediaType, prog, id, token)
	nr := store.NewReferral{
		Referral:  newReferral(id, tokenHash, now, prog, ref, f.sub),
		Event:     receivedEvent(id, now, prog, ref),
		Retention: h.Retention,
	}
	if idem.key != "" {
		nr.Idempotency = &apigw.IdempotencyRecord{Key: idem.key, RequestHash: idem.hash, Status: resp.StatusCode,
			Body: resp.Body, Location: resp.Headers["location"], ExpiresAt: now.Add(idempotencyTTL)}
	}
	if fail, failed := h.create(ctx, nr, idem, log); failed {
		return fail
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
	return resp
}

// newReferral is the referral a valid submission creates, in status
// received, frozen on the program's current version.
func newReferral(id, tokenHash string, now time.Time, prog *program.Program, ref *referral.Referrer, sub referral.Submission) *referral.Referral {
	return &referral.Referral{
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
}

// receivedEvent is the activity-log event recording that the referral was
// received, with its referrer and program version.
func receivedEvent(id string, now time.Time, prog *program.Program, ref *referral.Referrer) events.Event {
	received := events.New(events.ReferralReceived, id, events.ActorIntake, now).WithStatus(string(referral.StatusReceived)).With("referrer_code", ref.Code)
	received.ProgramID, received.ProgramVersion = prog.ID, prog.Version
	return received
}

// acceptedResponse is the answer to an accepted referral: 202 with its id
// and status URL, or 303 to the program's thank-you page for a browser
// posting the plain HTML form.
func acceptedResponse(req *apigw.Request, mediaType string, prog *program.Program, id, token string) apigw.Response {
	if apigw.PrefersHTML(req) && mediaType == "application/x-www-form-urlencoded" && prog.ThankYouURL != "" {
		return seeOther(prog.ThankYouURL)
	}
	accepted := Accepted{ReferralID: id, Status: string(referral.StatusReceived), StatusURL: "/referrals/" + id + "?token=" + url.QueryEscape(token)}
	return apigw.JSON(http.StatusAccepted, accepted)
}

// create stores nr. A duplicate referral is answered 409; when a concurrent
// request with the same Idempotency-Key stored first, its answer is
// replayed (503 if that fails); any other error is answered 503. failed is
// false exactly when nr is stored.
func (h *Handler) create(ctx context.Context, nr store.NewReferral, idem idempotencyKey, log *slog.Logger) (resp apigw.Response, failed bool) {
	switch err := h.Store.CreateReferral(ctx, nr); {
	case errors.Is(err, store.ErrDuplicate):
		return apigw.Error(http.StatusConflict, "duplicate_referral", "this company or person has already been referred to this program", nil), true
	case errors.Is(err, store.ErrConflict) && idem.key != "":
		// The same key was used by a concurrent request: answer what it answered.
		if resp, done, err := h.replay(ctx, idem.key, idem.hash); err == nil && done {
			return resp, true
		}
		return apigw.Unavailable(), true
	case err != nil:
		log.Error("store referral failed", "error", err)
		return apigw.Unavailable(), true
	}
	return apigw.Response{}, false
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
