package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// LinkSecretSetting is the setting (internal/settings: the environment or
// SSM SecureString <prefix>REFERFLOW_LINK_SECRET) holding the secrets that
// sign preference links, comma-separated, newest first: links are signed
// with the first and checked against each, so a secret rotates without
// breaking the links already sent.
const LinkSecretSetting = "REFERFLOW_LINK_SECRET"

// MinLinkSecretLength is the shortest link secret accepted, in bytes.
const MinLinkSecretLength = 16

// PreferenceTokenTTL is how long a preference link in an email works.
const PreferenceTokenTTL = 365 * 24 * time.Hour

// PreferencesPath is the portal page a preference link opens
// (functions/portal serves it).
const PreferencesPath = "/portal/preferences"

// Subscriber is whose preferences a token speaks for: a partner (by
// referral code) or, with no code, a referee (by the keyed hash of their
// email, internal/privacy). Tokens hold no email.
type Subscriber struct {
	ProgramID string
	// Code is a partner's lifelong key (store.Partner.Key: its first
	// referral code, kept when the code changes; store.CurrentPartner
	// finds the partner from it).
	Code      string
	EmailHash string // a referee's keyed email hash (when Code is "")
}

// Key is the subscriber's key in the program: "c:<code>" or "e:<hash>".
func (s Subscriber) Key() string {
	if s.Code != "" {
		return "c:" + s.Code
	}
	return "e:" + s.EmailHash
}

// ErrBadToken: a preference token that is malformed, forged, signed with
// no current secret, or expired.
var ErrBadToken = errors.New("notify: invalid or expired preference link")

// ErrNoLinkSecret: no usable link secret is configured.
var ErrNoLinkSecret = errors.New("notify: no link secret configured (" + LinkSecretSetting + ")")

// PreferenceToken signs s until expires with secret (the newest of
// LinkSecretSetting): base64url("v1|program|key|expiry").base64url(HMAC-SHA256).
func PreferenceToken(secret string, s Subscriber, expires time.Time) (string, error) {
	if len(strings.TrimSpace(secret)) < MinLinkSecretLength {
		return "", ErrNoLinkSecret
	}
	if s.ProgramID == "" || (s.Code == "" && s.EmailHash == "") || strings.Contains(s.ProgramID+s.Key(), "|") {
		return "", fmt.Errorf("notify: preference token: incomplete subscriber")
	}
	payload := strings.Join([]string{"v1", s.ProgramID, s.Key(), strconv.FormatInt(expires.Unix(), 10)}, "|")
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(sign(strings.TrimSpace(secret), payload)), nil
}

// VerifyPreferenceToken returns the subscriber token speaks for when one
// of secrets (newest first; blank entries skipped) signed it and it has
// not expired at now; ErrBadToken otherwise.
func VerifyPreferenceToken(secrets []string, token string, now time.Time) (Subscriber, error) {
	enc := base64.RawURLEncoding
	p64, s64, ok := strings.Cut(token, ".")
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(s64)
	if !ok || err1 != nil || err2 != nil {
		return Subscriber{}, ErrBadToken
	}
	signed := false
	for _, sec := range secrets {
		sec = strings.TrimSpace(sec)
		if len(sec) >= MinLinkSecretLength && hmac.Equal(mac, sign(sec, string(payload))) {
			signed = true
			break
		}
	}
	parts := strings.Split(string(payload), "|")
	if !signed || len(parts) != 4 || parts[0] != "v1" {
		return Subscriber{}, ErrBadToken
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return Subscriber{}, ErrBadToken
	}
	s := Subscriber{ProgramID: parts[1]}
	switch kind, v, _ := strings.Cut(parts[2], ":"); kind {
	case "c":
		s.Code = v
	case "e":
		s.EmailHash = v
	}
	if s.Code == "" && s.EmailHash == "" {
		return Subscriber{}, ErrBadToken
	}
	return s, nil
}

func sign(secret, payload string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("referflow-preferences\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Links makes the absolute links of emails.
type Links struct {
	// Base is the public base URL (REFERFLOW_PUBLIC_BASE_URL), without a
	// trailing slash.
	Base string
	// Secret is the newest link secret (LinkSecretSetting).
	Secret string
	// Now is the clock preference tokens expire from.
	Now func() time.Time
}

// Preferences is the preference link of s, valid PreferenceTokenTTL.
func (l Links) Preferences(s Subscriber) (string, error) {
	tok, err := PreferenceToken(l.Secret, s, l.Now().Add(PreferenceTokenTTL))
	if err != nil {
		return "", err
	}
	return l.base() + PreferencesPath + "?token=" + url.QueryEscape(tok), nil
}

// Portal is the partner portal's home.
func (l Links) Portal() string { return l.base() + "/portal" }

// Admin is the admin view of a referral (GET /admin/referrals/{id}).
func (l Links) Admin(referralID string) string {
	return l.base() + "/admin/referrals/" + url.PathEscape(referralID)
}

func (l Links) base() string { return strings.TrimRight(l.Base, "/") }

// origin is scheme://host of an absolute URL ("" when it is not one).
func origin(link string) string {
	u, err := url.Parse(link)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
