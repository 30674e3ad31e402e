package notify

import (
	"encoding/base64"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/referral"
)

func TestFeedbackTokenRoundTripsEveryScore(t *testing.T) {
	for score := 0; score <= 10; score++ {
		l := FeedbackLink{ProgramID: "b2b", Partner: "ANN42", Month: "2026-02", Score: score}
		tok, err := FeedbackToken(secret, l, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if url.QueryEscape(tok) != tok || strings.Contains(tok, "@") {
			t.Errorf("token %q is not URL-safe", tok)
		}
		// Signed with the newest secret, checked against every secret in force.
		got, err := VerifyFeedbackToken([]string{oldSecret, secret}, tok, t0)
		if err != nil || got != l {
			t.Errorf("verify = %+v, %v; want %+v", got, err, l)
		}
	}
}

func TestFeedbackTokenRefusals(t *testing.T) {
	l := FeedbackLink{ProgramID: "b2b", Partner: "ANN42", Month: "2026-02", Score: 3}
	tok, _ := FeedbackToken(secret, l, t0.Add(time.Hour))
	payload, mac, _ := strings.Cut(tok, ".")
	ten, _ := FeedbackToken(secret, FeedbackLink{ProgramID: "b2b", Partner: "ANN42", Month: "2026-02", Score: 10}, t0.Add(time.Hour))
	tenPayload, _, _ := strings.Cut(ten, ".")
	pref, _ := PreferenceToken(secret, Subscriber{ProgramID: "b2b", Code: "ANN42"}, t0.Add(time.Hour))
	forged := func(p string) string {
		return rawURL(p) + "." + rawURL(string(signFeedback(secret, p)))
	}
	cases := map[string]struct {
		secrets []string
		token   string
		at      time.Time
	}{
		"expired":                         {[]string{secret}, tok, t0.Add(time.Hour)},
		"another secret":                  {[]string{"another-secret-0123456789abcdef"}, tok, t0},
		"a too short secret":              {[]string{"short"}, tok, t0},
		"no secret":                       {nil, tok, t0},
		"score changed (payload of 10)":   {[]string{secret}, tenPayload + "." + mac, t0},
		"signature cut":                   {[]string{secret}, payload + "." + mac[:10], t0},
		"no signature":                    {[]string{secret}, payload, t0},
		"not base64":                      {[]string{secret}, "!!!.???", t0},
		"empty":                           {[]string{secret}, "", t0},
		"a preference token":              {[]string{secret}, pref, t0},
		"a signed score of 11":            {[]string{secret}, forged("f1|b2b|ANN42|2026-02|11|9999999999"), t0},
		"a signed bad month":              {[]string{secret}, forged("f1|b2b|ANN42|2026-2|5|9999999999"), t0},
		"a signed payload, other version": {[]string{secret}, forged("v1|b2b|ANN42|2026-02|5|9999999999"), t0},
	}
	for name, c := range cases {
		if got, err := VerifyFeedbackToken(c.secrets, c.token, c.at); !errors.Is(err, ErrBadToken) {
			t.Errorf("%s: %+v, %v; want ErrBadToken", name, got, err)
		}
	}
	if _, err := VerifyPreferenceToken([]string{secret}, tok, t0); !errors.Is(err, ErrBadToken) {
		t.Error("a feedback token opened the preference page")
	}
	for name, bad := range map[string]FeedbackLink{
		"score 11": {ProgramID: "b2b", Partner: "ANN42", Month: "2026-02", Score: 11},
		"no month": {ProgramID: "b2b", Partner: "ANN42", Score: 1},
		"a pipe":   {ProgramID: "b2b", Partner: "AN|N", Month: "2026-02", Score: 1},
	} {
		if _, err := FeedbackToken(secret, bad, t0); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
	if _, err := FeedbackToken("short", l, t0); !errors.Is(err, ErrNoLinkSecret) {
		t.Errorf("short secret: %v", err)
	}
}

var scoreLink = regexp.MustCompile(`https://refer\.acme\.example/portal/feedback\?token=([A-Za-z0-9_.%-]+)`)

// The summary asks the question with eleven links, 0 to 10, each signed
// for the partner's key and the summary's month, without the email.
func TestMonthlySummaryCarriesElevenScoreLinks(t *testing.T) {
	r := &referral.Referrer{ProgramID: "b2b", Code: "ANN43", Email: partnerEmail, Name: "Ann"}
	var tl Tally
	tl.Referral("in_progress")
	m, err := MonthlySummary(testProgram(), r, "ANN1", tl.Summary(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)), testLinks)
	if err != nil {
		t.Fatal(err)
	}
	for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
		if !strings.Contains(body, "How likely are you to recommend our partner program to a colleague?") {
			t.Errorf("%s part lacks the question", part)
		}
		found := scoreLink.FindAllStringSubmatch(body, -1)
		if len(found) != 11 {
			t.Fatalf("%s part has %d score links, want 11:\n%s", part, len(found), body)
		}
		for i, f := range found {
			tok, _ := url.QueryUnescape(f[1])
			l, err := VerifyFeedbackToken([]string{secret}, tok, t0.Add(FeedbackTokenTTL-time.Minute))
			want := FeedbackLink{ProgramID: "b2b", Partner: "ANN1", Month: "2026-02", Score: i}
			if err != nil || l != want {
				t.Errorf("%s link %d speaks for %+v %v, want %+v", part, i, l, err, want)
			}
			if _, err := VerifyFeedbackToken([]string{secret}, tok, t0.Add(FeedbackTokenTTL)); err == nil {
				t.Errorf("%s link %d works after %s", part, i, FeedbackTokenTTL)
			}
			if strings.Contains(f[0], "partner.example") || strings.Contains(f[0], "%40") {
				t.Errorf("a score link carries the email: %s", f[0])
			}
		}
	}
}

func rawURL(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
