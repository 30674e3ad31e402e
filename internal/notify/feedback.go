package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/feedback"
)

// FeedbackPath is the portal page a feedback link opens (web/portal).
const FeedbackPath = "/portal/feedback"

// FeedbackTokenTTL is how long the score links of a monthly summary work.
const FeedbackTokenTTL = 60 * 24 * time.Hour

// FeedbackLink is what a signed feedback link speaks for: a partner (by
// its lifelong key, never an email) of a program, the month the summary
// was about, and the score the partner clicked.
type FeedbackLink struct {
	ProgramID string
	Partner   string // store.Partner.Key
	Month     string // "2026-02"
	Score     int
}

// FeedbackToken signs l until expires with secret (the newest of
// LinkSecretSetting): base64url("f1|program|partner|month|score|expiry").
// base64url(HMAC-SHA256), under a purpose of its own: a preference token
// is never a feedback token, nor the other way round.
func FeedbackToken(secret string, l FeedbackLink, expires time.Time) (string, error) {
	if len(strings.TrimSpace(secret)) < MinLinkSecretLength {
		return "", ErrNoLinkSecret
	}
	if _, err := feedback.ParseMonth(l.Month); err != nil || l.ProgramID == "" || l.Partner == "" ||
		!feedback.ValidScore(l.Score) || strings.Contains(l.ProgramID+l.Partner, "|") {
		return "", fmt.Errorf("notify: feedback token: incomplete link")
	}
	payload := strings.Join([]string{"f1", l.ProgramID, l.Partner, l.Month, strconv.Itoa(l.Score), strconv.FormatInt(expires.Unix(), 10)}, "|")
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(signFeedback(strings.TrimSpace(secret), payload)), nil
}

// VerifyFeedbackToken returns the link token speaks for when one of
// secrets (newest first; blank or short entries skipped) signed it and it
// has not expired at now; ErrBadToken otherwise.
func VerifyFeedbackToken(secrets []string, token string, now time.Time) (FeedbackLink, error) {
	enc := base64.RawURLEncoding
	p64, s64, ok := strings.Cut(token, ".")
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(s64)
	if !ok || err1 != nil || err2 != nil {
		return FeedbackLink{}, ErrBadToken
	}
	signed := false
	for _, sec := range secrets {
		sec = strings.TrimSpace(sec)
		if len(sec) >= MinLinkSecretLength && hmac.Equal(mac, signFeedback(sec, string(payload))) {
			signed = true
			break
		}
	}
	parts := strings.Split(string(payload), "|")
	if !signed || len(parts) != 6 || parts[0] != "f1" {
		return FeedbackLink{}, ErrBadToken
	}
	exp, err := strconv.ParseInt(parts[5], 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return FeedbackLink{}, ErrBadToken
	}
	score, err := strconv.Atoi(parts[4])
	l := FeedbackLink{ProgramID: parts[1], Partner: parts[2], Month: parts[3], Score: score}
	if _, merr := feedback.ParseMonth(l.Month); err != nil || merr != nil || !feedback.ValidScore(score) || l.ProgramID == "" || l.Partner == "" {
		return FeedbackLink{}, ErrBadToken
	}
	return l, nil
}

func signFeedback(secret, payload string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("referflow-feedback\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// ScoreLink is one of the eleven links of the feedback question.
type ScoreLink struct {
	Score int
	URL   string
}

// Feedback is the eleven score links (0 to 10) partner key of program
// gets for month, each valid FeedbackTokenTTL.
func (l Links) Feedback(programID, key, month string) ([]ScoreLink, error) {
	out := make([]ScoreLink, 0, feedback.MaxScore+1)
	for score := feedback.MinScore; score <= feedback.MaxScore; score++ {
		tok, err := FeedbackToken(l.Secret, FeedbackLink{ProgramID: programID, Partner: key, Month: month, Score: score}, l.Now().Add(FeedbackTokenTTL))
		if err != nil {
			return nil, err
		}
		out = append(out, ScoreLink{Score: score, URL: l.base() + FeedbackPath + "?token=" + url.QueryEscape(tok)})
	}
	return out, nil
}
