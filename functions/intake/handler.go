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
	"slices"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/intake"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/referral"
)

// MaxBody is the largest referral form accepted (a form is a few hundred bytes).
const MaxBody = 16 << 10

// Handler serves POST /referrals: it reads the request, hands the
// submission to internal/intake, and answers JSON clients with the
// docs/api.md contract and people posting the plain HTML form with pages
// (the program's thank-you redirect, or the product's own thank-you and
// error pages).
type Handler struct {
	Intake *intake.Service
	Log    *slog.Logger
	// Random draws the decoy ids a bot that filled the honeypot gets.
	Random io.Reader
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
	f, refusal := readForm(&req)
	if refusal != nil {
		return h.refuse(&req, f, refusal), nil
	}
	if f.bot {
		// A bot filled the honeypot: answer like a success, store nothing.
		log.Info("honeypot filled; nothing stored")
		return h.decoy(ctx, &req, f), nil
	}
	key := apigw.Header(&req, "idempotency-key")
	if len(key) > 255 {
		return h.refuse(&req, f, intake.Refuse(http.StatusBadRequest, "invalid_request", "Idempotency-Key is longer than 255 characters", nil)), nil
	}
	in := intake.Input{
		Submission: f.sub, Unreadable: f.bad, Origin: apigw.Header(&req, "origin"),
		Idempotency: intake.Key{Name: key, Hash: requestHash(f)},
		Answer:      func(a intake.Accepted) apigw.Response { return answer(&req, f.mediaType, a) },
	}
	out, err := h.Intake.Submit(ctx, in)
	var refusal2 *intake.Refusal
	switch {
	case errors.As(err, &refusal2):
		return h.refuse(&req, f, refusal2), nil
	case err != nil:
		return h.unavailable(&req, f), nil
	case out.Replay != nil:
		return present(&req, f, *out.Replay), nil
	}
	return present(&req, f, answer(&req, f.mediaType, *out.Accepted)), nil
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

// browser reports whether the form is the plain HTML form posted by a
// browser (URL-encoded, and the Accept header prefers HTML): such a post
// is answered with pages.
func (f form) browser(req *apigw.Request) bool {
	return f.mediaType == "application/x-www-form-urlencoded" && apigw.PrefersHTML(req)
}

// readForm reads the form from the request, or refuses it: no readable
// body, too large, a media type other than JSON or URL-encoded, a body
// that does not parse.
func readForm(req *apigw.Request) (form, *intake.Refusal) {
	f := form{mediaType: apigw.MediaType(req)}
	body, err := apigw.Body(req)
	if err != nil {
		return f, intake.Refuse(http.StatusBadRequest, "invalid_request", err.Error(), nil)
	}
	if len(body) > MaxBody {
		tl := apigw.TooLarge(MaxBody)
		return f, &intake.Refusal{Status: tl.StatusCode, Code: "body_too_large", Message: errorDetail(tl).Message, JSON: tl}
	}
	if f.mediaType != "application/json" && f.mediaType != "application/x-www-form-urlencoded" {
		return f, intake.Refuse(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send application/json or application/x-www-form-urlencoded", nil)
	}
	// "bot-field" is a second honeypot name (Netlify-style forms); keep it
	// so the honeypot check can see it.
	fields, bad, err := apigw.Fields(f.mediaType, body, append(slices.Clone(referral.Fields), "bot-field"))
	if err != nil {
		return f, intake.Refuse(http.StatusBadRequest, "invalid_request", err.Error(), nil)
	}
	f.body, f.sub, f.bad = body, submission(fields), bad
	f.bot = f.sub.Gotcha != "" || fields["bot-field"] != ""
	return f, nil
}

// requestHash is what an Idempotency-Key is bound to: the media type and
// the body.
func requestHash(f form) string {
	sum := sha256.Sum256(append([]byte(f.mediaType+"\n"), f.body...))
	return hex.EncodeToString(sum[:])
}

// answer is the answer to an accepted referral as stored for replays: 303
// to the program's thank-you page for a browser posting the plain HTML
// form when the program has one, else 202 with its id and status URL
// (present turns it into the product's thank-you page for a browser).
func answer(req *apigw.Request, mediaType string, a intake.Accepted) apigw.Response {
	if apigw.PrefersHTML(req) && mediaType == "application/x-www-form-urlencoded" && a.Program != nil && a.Program.ThankYouURL != "" {
		return seeOther(a.Program.ThankYouURL)
	}
	return apigw.JSON(http.StatusAccepted, Accepted{ReferralID: a.ReferralID, Status: string(referral.StatusReceived), StatusURL: a.StatusURL()})
}

// present shows a 202 answer to a browser posting the plain HTML form as
// the product's thank-you page; every other answer goes as it is.
func present(req *apigw.Request, f form, resp apigw.Response) apigw.Response {
	if resp.StatusCode != http.StatusAccepted || !f.browser(req) {
		return resp
	}
	var a Accepted
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		return resp
	}
	return thankYouPage(a, f.sub.RefereeCompany)
}

// decoy is the answer to a bot that filled the honeypot: what a person gets
// (the thank-you redirect or page, or a 202 with a fresh id and status
// token), with nothing stored.
func (h *Handler) decoy(ctx context.Context, req *apigw.Request, f form) apigw.Response {
	id, _ := referral.NewID(h.Intake.Now(), h.Random)
	token, _, _ := referral.NewStatusToken()
	a := intake.Accepted{ReferralID: id, StatusToken: token}
	if f.browser(req) {
		if p, err := h.Intake.Program(ctx, f.sub.Program); err == nil {
			a.Program = p
		}
	}
	return present(req, f, answer(req, f.mediaType, a))
}

// refuse answers a refusal: the JSON error of docs/api.md, or for a
// browser posting the plain HTML form, a page listing what is wrong with
// the same status code.
func (h *Handler) refuse(req *apigw.Request, f form, r *intake.Refusal) apigw.Response {
	if f.browser(req) {
		return errorPage(req, r)
	}
	return r.JSON
}

// unavailable answers a transient failure with 503 and Retry-After.
func (h *Handler) unavailable(req *apigw.Request, f form) apigw.Response {
	resp := apigw.Unavailable()
	if f.browser(req) {
		page := errorPage(req, intake.Refuse(resp.StatusCode, "temporarily_unavailable", "We could not take your referral just now. Please try again in a moment.", nil))
		page.Headers["retry-after"] = resp.Headers["retry-after"]
		return page
	}
	return resp
}

func seeOther(location string) apigw.Response {
	return apigw.Response{StatusCode: http.StatusSeeOther, Headers: map[string]string{"location": location, "cache-control": "no-store"}}
}

func errorDetail(resp apigw.Response) apigw.ErrorDetail {
	var b apigw.ErrorBody
	_ = json.Unmarshal([]byte(resp.Body), &b)
	return b.Error
}

func submission(f map[string]string) referral.Submission {
	b, _ := json.Marshal(f)
	var s referral.Submission
	_ = json.Unmarshal(b, &s)
	return s
}
