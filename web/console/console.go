package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/review"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
	"github.com/referflow/referflow/web/websession"
)

// Sessions is what sign-in and sessions read and write.
type Sessions interface {
	PutSignInToken(ctx context.Context, t store.SignInToken) error
	SignInTokenAt(ctx context.Context, hash string, now time.Time) (*store.SignInToken, error)
	UseSignInToken(ctx context.Context, hash string, now time.Time) (*store.SignInToken, error)
	CreateSession(ctx context.Context, s store.Session) error
	SessionAt(ctx context.Context, hash string, now time.Time) (*store.Session, error)
	DeleteSession(ctx context.Context, hash string) error
	Hit(ctx context.Context, scope string, kind privacy.Kind, value string, window time.Duration, now time.Time) (int, error)
	PutAudit(ctx context.Context, e store.AuditEntry) error
	Audit(ctx context.Context, now time.Time, limit, months int) ([]store.AuditEntry, error)
}

// Store is what the queues, the referral search and a referral's page
// read, and what the review decision writes.
type Store interface {
	review.Store
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	Tracked(ctx context.Context, id string) (*recovery.Tracked, error)
	ReferralsByID(ctx context.Context, ids []string) (map[string]*referral.Referral, error)
	ReferralsByStatus(ctx context.Context, status string, from, to time.Time, limit int, cursor string) (store.StatusPage, error)
	ReferralsByPartner(ctx context.Context, programID, partnerKey string, limit int, cursor string) (store.ReferralPage, error)
	ReferralsByEmail(ctx context.Context, email string) ([]string, error)
	ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error)
	Rewards(ctx context.Context, referralID string) ([]rewards.Reward, error)
	Reward(ctx context.Context, referralID, milestone, party string) (*rewards.Reward, error)
	LedgerEntries(ctx context.Context, rewardID string) ([]rewards.Entry, error)
	Events(ctx context.Context, referralID string) ([]events.Event, error)
	AwaitingApproval(ctx context.Context, limit int) ([]rewards.Due, error)
	FailedRewards(ctx context.Context, limit int) ([]rewards.Due, error)
}

// Resumer resumes a referral (recovery.Service).
type Resumer interface {
	Resume(ctx context.Context, id, actor string) (recovery.Result, error)
}

// Handler serves GET /console, GET and POST /console/{proxy+}.
type Handler struct {
	Sessions Sessions
	Store    Store
	Rewards  *rewards.Service // approve, decline, re-arm, void
	Resumer  Resumer
	SFN      workflow.SFN // resumes a reviewed referral's execution
	Mail     mail.Sender
	// Keys hash the operator's email into their id (the actor of events)
	// and sign nothing else here (REFERFLOW_KEY_HASH_SECRET).
	Keys privacy.Source
	// Operators are the emails that may sign in (REFERFLOW_OPERATOR_EMAILS),
	// lower-case.
	Operators []string
	From      string // the sender of sign-in emails (REFERFLOW_MAIL_FROM)
	// PublicBase is the public URL of the API (REFERFLOW_PUBLIC_BASE_URL);
	// empty: the request's own scheme and host.
	PublicBase string
	// Region and StateMachineARN make the links to executions in the AWS
	// Step Functions console.
	Region, StateMachineARN string
	Now                     func() time.Time
	Random                  io.Reader // crypto/rand when nil
	Log                     *slog.Logger

	// The KPI, partners and programs sections (kpis.go, partners.go,
	// programs.go).
	KPIs     KPIReader
	Partners PartnerOps
	Programs ProgramStore
	// Feedback reads partners' satisfaction scores and comments (feedback.go).
	Feedback FeedbackReader
	// Milestones records a milestone by hand (actions.go), People erases a
	// person's data (erase.go), Exports runs CSV exports (exports.go).
	Milestones MilestoneRecorder
	People     PeopleEraser
	Exports    ExportStore
	// ProgramIDs are the programs the pages offer, the first by default
	// (REFERFLOW_DEFAULT_PROGRAM).
	ProgramIDs []string
}

// Limits and lifetimes.
const (
	SignInWindow   = 15 * time.Minute
	SignInPerEmail = 5
	SignInPerIP    = 20
	SignInLinkTTL  = 15 * time.Minute
	SessionTTL     = 12 * time.Hour
	maxBody        = 16 << 10
	pageSize       = 50
)

// Request is one console request as a page reads it.
type Request struct {
	*apigw.Request
	Ctx    context.Context
	Log    *slog.Logger
	Method string
	Path   string // below /console, without a trailing slash: "", "/referrals/r_1", ...
	Op     *Operator
	form   url.Values
	nav    string
}

// Value is a posted field, trimmed.
func (r *Request) Value(name string) string { return strings.TrimSpace(r.form.Get(name)) }

// Query is a query-string parameter, trimmed.
func (r *Request) Query(name string) string { return strings.TrimSpace(r.QueryStringParameters[name]) }

// Section is a set of console pages under one route prefix (see the
// package documentation).
type Section struct {
	Prefix string // below /console: "/partners" matches /partners and /partners/...
	Nav    string // the navigation entry it lights up
	Serve  func(h *Handler, r *Request) apigw.Response
}

var (
	sectionsMu sync.RWMutex
	sections   []Section
)

// Register adds a section; call it from an init function. A prefix
// registered twice panics.
func Register(s Section) {
	sectionsMu.Lock()
	defer sectionsMu.Unlock()
	for _, o := range sections {
		if o.Prefix == s.Prefix {
			panic("console: section registered twice: " + s.Prefix)
		}
	}
	sections = append(sections, s)
	sort.Slice(sections, func(i, j int) bool { return len(sections[i].Prefix) > len(sections[j].Prefix) })
}

func sectionFor(path string) (Section, bool) {
	sectionsMu.RLock()
	defer sectionsMu.RUnlock()
	for _, s := range sections {
		if path == s.Prefix || (s.Prefix != "" && strings.HasPrefix(path, s.Prefix+"/")) {
			return s, true
		}
	}
	return Section{}, false
}

func registered(nav string) bool {
	sectionsMu.RLock()
	defer sectionsMu.RUnlock()
	for _, s := range sections {
		if s.Nav == nav {
			return true
		}
	}
	return false
}

func init() {
	Register(Section{Prefix: "", Nav: "Queues", Serve: (*Handler).queues})
	Register(Section{Prefix: "/referrals", Nav: "Referrals", Serve: (*Handler).referrals})
	Register(Section{Prefix: "/rewards", Nav: "Queues", Serve: (*Handler).rewardAction})
	Register(Section{Prefix: "/audit", Nav: "Audit", Serve: (*Handler).auditPage})
}

// Handle answers one console request. It never returns an error: every
// failure is an HTML page.
func (h *Handler) Handle(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	r := &Request{Request: &req, Ctx: ctx, Log: logging.From(ctx, h.Log), Method: req.RequestContext.HTTP.Method}
	r.Path = strings.TrimSuffix(strings.TrimPrefix(req.RawPath, "/console"), "/")
	if strings.HasPrefix(r.Path, "/assets/") {
		return serveAsset(r.Method, strings.TrimPrefix(r.Path, "/assets/")), nil
	}
	if r.Method == http.MethodPost {
		if resp, ok := h.readPost(r); !ok {
			return withSecurityHeaders(resp), nil
		}
	}
	return withSecurityHeaders(h.route(r)), nil
}

// route finds the page for a request.
func (h *Handler) route(r *Request) apigw.Response {
	get, post := r.Method == http.MethodGet || r.Method == http.MethodHead, r.Method == http.MethodPost
	switch {
	case !get && !post:
		return h.ErrorPage(r, http.StatusMethodNotAllowed, "This page cannot do that", "Use the links and buttons of the console.")
	case r.Path == "/sign-in" && get:
		return h.signInForm(r)
	case r.Path == "/sign-in" && post:
		return h.signInRequest(r)
	case strings.HasPrefix(r.Path, "/sign-in/") && get:
		return h.confirmForm(r, strings.TrimPrefix(r.Path, "/sign-in/"))
	case strings.HasPrefix(r.Path, "/sign-in/") && post:
		return h.confirm(r, strings.TrimPrefix(r.Path, "/sign-in/"))
	case r.Path == "/sign-out" && post:
		return h.signedIn(r, h.signOut)
	}
	s, ok := sectionFor(r.Path)
	if !ok {
		return h.signedIn(r, h.NotFound)
	}
	return h.signedIn(r, func(r *Request) apigw.Response {
		r.nav = s.Nav
		return s.Serve(h, r)
	})
}

// readPost reads a POST's form and refuses it (ok false) when it is too
// large, not a URL-encoded form, or comes from another origin.
func (h *Handler) readPost(r *Request) (apigw.Response, bool) {
	body, err := apigw.Body(r.Request)
	switch {
	case err != nil:
		return h.ErrorPage(r, http.StatusBadRequest, "This form could not be read", "Go back and send it again."), false
	case len(body) > maxBody:
		return h.ErrorPage(r, http.StatusRequestEntityTooLarge, "This form is too long", "Shorten what you wrote and send it again."), false
	case apigw.MediaType(r.Request) != "application/x-www-form-urlencoded":
		return h.ErrorPage(r, http.StatusUnsupportedMediaType, "This form could not be read", "Send the console's own forms."), false
	case !websession.SameOrigin(r.Request, h.PublicBase):
		return h.ErrorPage(r, http.StatusForbidden, "This form comes from another site", "Open the console yourself and send the form from there."), false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return h.ErrorPage(r, http.StatusBadRequest, "This form could not be read", "Go back and send it again."), false
	}
	r.form = form
	return apigw.Response{}, true
}

// base is the public URL sign-in links start with.
func (h *Handler) base(r *Request) string {
	if h.PublicBase != "" {
		return strings.TrimRight(h.PublicBase, "/")
	}
	return websession.Origin(r.Request, "")
}

// SeeOther redirects (303) to a console path, setting cookies.
func SeeOther(location string, cookies ...string) apigw.Response {
	return apigw.Response{StatusCode: http.StatusSeeOther, Cookies: cookies, Headers: map[string]string{"location": location}}
}
