// Package portal is the partner portal (/portal): server-rendered pages
// for a program's partners, signed in by an emailed link (no passwords).
// A partner sees their referral link, code and QR code, their clicks,
// their referrals with each milestone and reward, their balance, the
// program's leaderboard when it is on, and submits referrals through the
// same intake as the public form. People join from here under the
// program's join policy, set which emails they receive, and answer the
// monthly summary's satisfaction question from its signed score links
// (feedback.go: a GET never records; the answer is confirmed by a POST).
//
// Guarantees:
//   - A sign-in request answers the same page whether or not the email is
//     a partner's; links are one-time, expire, and are stored only hashed.
//     Requests are limited per email and per IP address (their keyed
//     hashes): the IP limit answers 429, the email limit silently sends
//     nothing more.
//   - A session is a random id in a cookie (__Secure-referflow_portal:
//     HttpOnly, Secure, SameSite=Lax, Path=/portal), stored only hashed,
//     expiring after the program's session_days.
//   - Every POST carries a CSRF token (per session once signed in; a
//     signed double-submit token before) and is refused from another
//     origin (Origin, else Referer). One exception: a sign-in request with
//     neither a token nor Origin/Referer (a script, never a browser's
//     form) is answered like any other, the same page known email or not.
//   - A partner sees only their own referrals, and of each only the
//     company and email they submitted: another partner's referral is 404.
//   - Every answer is HTML (never JSON), with a strict
//     Content-Security-Policy; personal pages are not cached. Every asset
//     is served from here, with a content hash in its name.
package portal

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/intake"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// Store is what the portal reads and writes.
type Store interface {
	CurrentProgram(ctx context.Context, id string) (*program.Program, error)
	ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error)
	CurrentPartner(ctx context.Context, programID, code string) (*store.Partner, error)
	PartnersByEmail(ctx context.Context, email string) ([]store.PartnerRef, error)
	SetDisplayName(ctx context.Context, programID, code, name string) (*store.Partner, error)

	SignInTokenAt(ctx context.Context, hash string, now time.Time) (*store.SignInToken, error)
	UseSignInToken(ctx context.Context, hash string, now time.Time) (*store.SignInToken, error)
	CreateSession(ctx context.Context, s store.Session) error
	SessionAt(ctx context.Context, hash string, now time.Time) (*store.Session, error)
	DeleteSession(ctx context.Context, hash string) error
	Hit(ctx context.Context, scope string, kind privacy.Kind, value string, window time.Duration, now time.Time) (int, error)

	ReferralsByPartner(ctx context.Context, programID, partnerKey string, limit int, cursor string) (store.ReferralPage, error)
	// ReferralsByID and RewardsByPartner read the partner's page in a
	// constant number of calls (a batch of referrals, all of the partner's
	// referrer rewards); Referral and Rewards read one referral's page.
	ReferralsByID(ctx context.Context, ids []string) (map[string]*referral.Referral, error)
	RewardsByPartner(ctx context.Context, programID, partnerKey string) ([]rewards.Reward, error)
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	Rewards(ctx context.Context, referralID string) ([]rewards.Reward, error)
	Leaderboard(ctx context.Context, programID, month string) ([]store.BoardEntry, error)
	Clicks(ctx context.Context, programID, code string, from, to time.Time) (map[string]int, error)

	MailOff(ctx context.Context, programID, subscriber string) ([]string, error)
	SetMailOff(ctx context.Context, programID, subscriber string, off []string, now time.Time) error
}

// Handler serves GET /portal, GET /portal/{proxy+} and POST /portal/{proxy+}.
type Handler struct {
	Store    Store
	Partners *partners.Service // sign-in links, joining
	Intake   *intake.Service   // referrals submitted in the portal
	// FormKeys signs the CSRF tokens of forms shown before sign-in
	// (REFERFLOW_KEY_HASH_SECRET, a kind of its own).
	FormKeys privacy.Source
	// LinkSecrets are the secrets of preference links in emails
	// (notify.LinkSecretSetting), newest first.
	LinkSecrets func(ctx context.Context) ([]string, error)
	// Feedback keeps partners' answers to the monthly summary's question
	// (feedback.go); its links are signed with LinkSecrets.
	Feedback FeedbackStore
	// PublicBase is the public URL of the API (REFERFLOW_PUBLIC_BASE_URL);
	// empty: the request's own scheme and host.
	PublicBase     string
	DefaultProgram string
	Now            func() time.Time
	Random         io.Reader // crypto/rand when nil
	Log            *slog.Logger
}

// Limits of sign-in requests: per email and per IP address, in a window.
const (
	SignInWindow      = 15 * time.Minute
	SignInPerEmail    = 5
	SignInPerIP       = 20
	maxBody           = 16 << 10
	referralsPerPage  = 20
	leaderboardLength = 10
)

// request is one request as the portal reads it.
type request struct {
	*apigw.Request
	ctx    context.Context
	log    *slog.Logger
	method string
	path   string // below /portal, without a trailing slash: "", "/sign-in", ...
	form   map[string][]string
	sess   *session // the signed-in partner, when there is one
}

// Handle answers one portal request. It never returns an error: every
// failure is an HTML page.
func (h *Handler) Handle(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	r := &request{Request: &req, ctx: ctx, log: logging.From(ctx, h.Log), method: req.RequestContext.HTTP.Method}
	r.path = strings.TrimSuffix(strings.TrimPrefix(req.RawPath, "/portal"), "/")
	if strings.HasPrefix(r.path, "/assets/") {
		return serveAsset(r.method, strings.TrimPrefix(r.path, "/assets/")), nil
	}
	if r.method == http.MethodPost {
		if resp, ok := h.readPost(r); !ok {
			return resp, nil
		}
	}
	resp := h.route(r)
	return withSecurityHeaders(resp), nil
}

// route finds the page for a request.
func (h *Handler) route(r *request) apigw.Response {
	get, post := r.method == http.MethodGet || r.method == http.MethodHead, r.method == http.MethodPost
	switch {
	case r.path == "" && get:
		return h.signedIn(r, h.home)
	case r.path == "/sign-in" && get:
		return h.signInForm(r)
	case r.path == "/sign-in" && post:
		return h.signInRequest(r)
	case strings.HasPrefix(r.path, "/sign-in/") && get:
		return h.confirmForm(r, strings.TrimPrefix(r.path, "/sign-in/"))
	case strings.HasPrefix(r.path, "/sign-in/") && post:
		return h.confirm(r, strings.TrimPrefix(r.path, "/sign-in/"))
	case r.path == "/sign-out" && post:
		return h.signOut(r)
	case r.path == "/join" && get:
		return h.joinForm(r)
	case r.path == "/join" && post:
		return h.join(r)
	case r.path == "/referrals" && post:
		return h.signedIn(r, h.submit)
	case strings.HasPrefix(r.path, "/referrals/") && get:
		return h.signedIn(r, h.referral)
	case r.path == "/preferences":
		return h.preferences(r, post)
	case r.path == "/feedback" && (get || post):
		return h.feedback(r, post) // feedback.go
	case r.path == "/profile" && get:
		return h.signedIn(r, h.profile)
	case r.path == "/profile" && post:
		return h.signedIn(r, h.saveProfile)
	case !get && !post:
		return h.errorPage(r, http.StatusMethodNotAllowed, "This page cannot do that", "Use the links and buttons of the portal.")
	}
	return h.notFound(r)
}

// base is the public URL links in emails and the partner's link start with.
func (h *Handler) base(r *request) string {
	if h.PublicBase != "" {
		return strings.TrimRight(h.PublicBase, "/")
	}
	return origin(r.Request, "")
}

// program reads a program's current version, the default program when id
// is empty; nil when there is none (or it cannot be read: logged).
func (h *Handler) program(r *request, id string) *program.Program {
	id = strings.ToLower(strings.TrimSpace(id))
	if id == "" {
		id = h.DefaultProgram
	}
	if id == "" {
		return nil
	}
	p, err := h.Store.CurrentProgram(r.ctx, id)
	if err != nil {
		if !isNotFound(err) {
			r.log.Error("read program failed", "error", err)
		}
		return nil
	}
	return p
}
