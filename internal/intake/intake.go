// Package intake takes in referrals: one implementation behind every door
// a referral comes through (the public form and API, POST /referrals; the
// partner portal's own form). It validates the submission, checks the
// program and the partner whose code it carries, creates the referral with
// its dedupe keys, its partner's index entry and its received event in one
// transaction, and starts its workflow, retrying a few times: once Submit
// says a referral is accepted it is stored, and the reconciler starts its
// workflow if Submit could not (invariant 1). A repeated Idempotency-Key
// gets the first answer back.
//
// It knows nothing of HTTP bodies or pages: the doors read requests and
// write answers; Refusal carries the status and error code of docs/api.md
// for them to render.
package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
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

// IdempotencyTTL is how long an Idempotency-Key answer is replayed.
const IdempotencyTTL = 24 * time.Hour

// Store is what intake reads and writes.
type Store interface {
	CurrentProgram(ctx context.Context, id string) (*program.Program, error)
	Partner(ctx context.Context, programID, code string) (*store.Partner, error)
	CreateReferral(ctx context.Context, nr store.NewReferral) error
	Idempotency(ctx context.Context, key string, now time.Time) (*apigw.IdempotencyRecord, error)
}

// Starter starts a referral's workflow.
type Starter func(ctx context.Context, referralID string) error

// Service takes in referrals.
type Service struct {
	Store          Store
	Start          Starter
	DefaultProgram string
	Now            func() time.Time
	Random         io.Reader // crypto/rand when nil
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

// Refusal is a submission intake does not take, with the HTTP status and
// error code of docs/api.md and, for invalid fields, what is wrong with
// each. Nothing was stored.
type Refusal struct {
	Status  int
	Code    string
	Message string
	Fields  map[string]string
	// JSON is the refusal as the JSON error of docs/api.md.
	JSON apigw.Response
}

func (r *Refusal) Error() string { return "intake: " + r.Code + ": " + r.Message }

// Refuse makes a Refusal (code: one of docs/api.md's error codes).
func Refuse(status int, code, message string, fields map[string]string) *Refusal {
	return &Refusal{Status: status, Code: code, Message: message, Fields: fields, JSON: apigw.Error(status, code, message, fields)}
}

// ErrUnavailable is a transient failure (the table, the clock's entropy):
// nothing was stored, the sender should retry.
var ErrUnavailable = errors.New("intake: temporarily unavailable")

// Key is a request's Idempotency-Key and the hash of what it came with.
type Key struct {
	Name string // the client's key ("" = none)
	Hash string // hash of the request (media type and body)
}

// Input is one submission and how it arrived.
type Input struct {
	Submission referral.Submission
	// Unreadable are fields the door could not read (name → problem);
	// they are reported with the submission's own problems.
	Unreadable map[string]string
	// Origin is the browser's Origin header ("" = not a browser, or the
	// portal, which checks its own origin): it must be one of the
	// program's sites when the program lists any.
	Origin string
	// Idempotency, when set, makes a repeat answer the first answer.
	Idempotency Key
	// Answer is the answer the door gives an accepted referral, stored
	// with it under the Idempotency-Key (needed only with one).
	Answer func(Accepted) apigw.Response
}

// Accepted is a stored referral: its id, the status token (given once,
// stored only hashed) and the program it joined.
type Accepted struct {
	ReferralID  string
	StatusToken string
	Program     *program.Program
}

// StatusURL is the path of the referral's status page.
func (a Accepted) StatusURL() string {
	return "/referrals/" + a.ReferralID + "?token=" + url.QueryEscape(a.StatusToken)
}

// Outcome is what Submit did: accepted a referral, or found the answer
// to an Idempotency-Key used before (Replay; nothing new stored).
type Outcome struct {
	Accepted *Accepted
	Replay   *apigw.Response
}

// Submit takes in one submission. It returns a *Refusal for a submission
// that is not taken (nothing stored), ErrUnavailable (wrapped) for a
// transient failure (nothing stored), or the Outcome: once it says
// Accepted, the referral is stored and its workflow started or left to
// the reconciler.
func (s *Service) Submit(ctx context.Context, in Input) (Outcome, error) {
	log := logging.From(ctx, s.Log)
	sub := in.Submission
	sub.Normalize()
	if err := invalid(sub, in.Unreadable); err != nil {
		return Outcome{}, err
	}
	if in.Idempotency.Name != "" {
		replay, err := s.replay(ctx, in.Idempotency, log)
		if err != nil || replay != nil {
			return Outcome{Replay: replay}, err
		}
	}
	prog, err := s.program(ctx, sub.Program, in.Origin, log)
	if err != nil {
		return Outcome{}, err
	}
	partner, err := s.partner(ctx, prog.ID, sub.ReferrerCode, log)
	if err != nil {
		return Outcome{}, err
	}
	return s.accept(ctx, in, sub, prog, partner, log)
}

// invalid is the 400 listing every missing, invalid or unreadable field of
// the (normalized) submission; nil when there is none.
func invalid(sub referral.Submission, unreadable map[string]string) error {
	errs := sub.Validate()
	if len(errs) == 0 && len(unreadable) == 0 {
		return nil
	}
	if errs == nil {
		errs = referral.FieldErrors{}
	}
	for k, v := range unreadable {
		errs[k] = v
	}
	return Refuse(http.StatusBadRequest, "invalid_request", "some fields are missing or invalid", errs)
}

// Program reads the current version of the program a submission names
// (the default program when it names none, trimmed and lower-cased);
// ErrNotFound (wrapped) when there is none.
func (s *Service) Program(ctx context.Context, id string) (*program.Program, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if id == "" {
		id = s.DefaultProgram
	}
	return s.Store.CurrentProgram(ctx, id)
}

// program reads the program and checks the browser's origin against its
// sites: unknown_program (400), origin_not_allowed (403).
func (s *Service) program(ctx context.Context, id, origin string, log *slog.Logger) (*program.Program, error) {
	prog, err := s.Program(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		if id == "" {
			id = s.DefaultProgram
		}
		return nil, Refuse(http.StatusBadRequest, "unknown_program", "no program "+id, map[string]string{"program": "is not a known program"})
	}
	if err != nil {
		log.Error("read program failed", "error", err)
		return nil, fmt.Errorf("%w: read program: %v", ErrUnavailable, err)
	}
	if origin != "" && !SiteAllowed(prog.SiteOrigins, origin) {
		// The gateway's CORS lists every program's sites; a program takes
		// browser posts only from its own.
		return nil, Refuse(http.StatusForbidden, "origin_not_allowed", "this program accepts referrals from its own sites only", nil)
	}
	return prog, nil
}

// partner reads the partner holding code in the program. An unknown code
// and the code of a partner who is not active (pending, invited,
// disabled) get the same unknown_referrer (400).
func (s *Service) partner(ctx context.Context, programID, code string, log *slog.Logger) (*store.Partner, error) {
	p, err := s.Store.Partner(ctx, programID, code)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !p.Active()) {
		return nil, Refuse(http.StatusBadRequest, "unknown_referrer", "the referral code is not known in this program", map[string]string{"referrer_code": "is not a known referral code"})
	}
	if err != nil {
		log.Error("read referrer failed", "error", err)
		return nil, fmt.Errorf("%w: read referrer: %v", ErrUnavailable, err)
	}
	return p, nil
}

// SiteAllowed reports whether a browser origin may post to a program: any
// origin when the program lists none, else one of its site origins.
func SiteAllowed(sites []string, origin string) bool {
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

// newReferral is the referral a valid submission creates, in status
// received, frozen on the program's current version.
func newReferral(id, tokenHash string, now time.Time, prog *program.Program, code string, sub referral.Submission) *referral.Referral {
	return &referral.Referral{
		ID: id, ProgramID: prog.ID, ProgramVersion: prog.Version, Status: referral.StatusReceived,
		ReferrerCode:    code,
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
func receivedEvent(id string, now time.Time, prog *program.Program, code string) events.Event {
	received := events.New(events.ReferralReceived, id, events.ActorIntake, now).WithStatus(string(referral.StatusReceived)).With("referrer_code", code)
	received.ProgramID, received.ProgramVersion = prog.ID, prog.Version
	return received
}

// lastMilestone is the program's last milestone: reaching it counts a
// referral on the partners' leaderboard.
func lastMilestone(p *program.Program) string {
	if len(p.Milestones) == 0 {
		return ""
	}
	return p.Milestones[len(p.Milestones)-1].Name
}
