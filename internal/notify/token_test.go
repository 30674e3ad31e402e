package notify

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	secret    = "link-secret-for-tests-0123456789"
	oldSecret = "the-previous-link-secret-0123456"
)

var t0 = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

func TestPreferenceTokenRoundTrips(t *testing.T) {
	for _, s := range []Subscriber{
		{ProgramID: "b2b", Code: "ANN42"},
		{ProgramID: "b2b", EmailHash: "9f86d081884c7d65"},
	} {
		tok, err := PreferenceToken(secret, s, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(tok, "@") || url.QueryEscape(tok) != tok {
			t.Errorf("token %q is not URL-safe", tok)
		}
		got, err := VerifyPreferenceToken([]string{secret}, tok, t0)
		if err != nil || got != s {
			t.Errorf("verify = %+v, %v; want %+v", got, err, s)
		}
	}
}

func TestPreferenceTokenRefusals(t *testing.T) {
	s := Subscriber{ProgramID: "b2b", Code: "ANN42"}
	tok, _ := PreferenceToken(secret, s, t0.Add(time.Hour))
	other, _ := PreferenceToken(secret, Subscriber{ProgramID: "b2b", Code: "BOB7"}, t0.Add(time.Hour))
	payload, mac, _ := strings.Cut(tok, ".")
	otherPayload, _, _ := strings.Cut(other, ".")
	cases := map[string]struct {
		secrets []string
		token   string
		at      time.Time
	}{
		"expired":                {[]string{secret}, tok, t0.Add(time.Hour)},
		"another secret":         {[]string{"another-secret-0123456789abcdef"}, tok, t0},
		"a too short secret":     {[]string{"short"}, tok, t0},
		"no secret":              {nil, tok, t0},
		"payload swapped":        {[]string{secret}, otherPayload + "." + mac, t0},
		"signature cut":          {[]string{secret}, payload + "." + mac[:10], t0},
		"no signature":           {[]string{secret}, payload, t0},
		"not base64":             {[]string{secret}, "!!!.???", t0},
		"empty":                  {[]string{secret}, "", t0},
		"payload only, with dot": {[]string{secret}, payload + ".", t0},
	}
	for name, c := range cases {
		if _, err := VerifyPreferenceToken(c.secrets, c.token, c.at); !errors.Is(err, ErrBadToken) {
			t.Errorf("%s: %v, want ErrBadToken", name, err)
		}
	}
}

// A secret rotates without breaking the links already sent: links signed
// with the previous secret are accepted while it is still listed.
func TestPreferenceTokenSurvivesARotation(t *testing.T) {
	s := Subscriber{ProgramID: "b2b", Code: "ANN42"}
	tok, _ := PreferenceToken(oldSecret, s, t0.Add(time.Hour))
	if _, err := VerifyPreferenceToken([]string{secret, oldSecret}, tok, t0); err != nil {
		t.Fatalf("old link refused during the rotation: %v", err)
	}
	if _, err := VerifyPreferenceToken([]string{secret}, tok, t0); !errors.Is(err, ErrBadToken) {
		t.Fatalf("old link accepted after the rotation: %v", err)
	}
}

func TestPreferenceTokenNeedsASecretAndASubscriber(t *testing.T) {
	if _, err := PreferenceToken("short", Subscriber{ProgramID: "b2b", Code: "A"}, t0); !errors.Is(err, ErrNoLinkSecret) {
		t.Errorf("short secret: %v", err)
	}
	for _, s := range []Subscriber{{Code: "A"}, {ProgramID: "b2b"}, {ProgramID: "b|2b", Code: "A"}} {
		if _, err := PreferenceToken(secret, s, t0); err == nil {
			t.Errorf("subscriber %+v signed", s)
		}
	}
}

func TestLinks(t *testing.T) {
	l := Links{Base: base + "/", Secret: secret, Now: func() time.Time { return t0 }}
	pref, err := l.Preferences(Subscriber{ProgramID: "b2b", Code: "ANN42"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(pref)
	if err != nil || u.Scheme+"://"+u.Host != base || u.Path != PreferencesPath {
		t.Fatalf("preference link %s", pref)
	}
	s, err := VerifyPreferenceToken([]string{secret}, u.Query().Get("token"), t0.Add(PreferenceTokenTTL-time.Second))
	if err != nil || s.Code != "ANN42" {
		t.Fatalf("the link's token: %+v %v", s, err)
	}
	if _, err := VerifyPreferenceToken([]string{secret}, u.Query().Get("token"), t0.Add(PreferenceTokenTTL)); err == nil {
		t.Fatal("the link works past PreferenceTokenTTL")
	}
	if got := l.Admin("ref_01"); got != base+"/admin/referrals/ref_01" {
		t.Errorf("admin link %s", got)
	}
	if got := l.Portal(); got != base+"/portal" {
		t.Errorf("portal link %s", got)
	}
}
