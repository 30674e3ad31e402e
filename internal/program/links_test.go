package program

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// withLinks is minimalYAML with a links section.
func withLinks(section string) string { return minimalYAML + "links:\n" + section }

func TestLinksLeftOutReadAsDefaults(t *testing.T) {
	p, err := Load([]byte(minimalYAML))
	if err != nil {
		t.Fatal(err)
	}
	l := p.Links
	if l.LandingURL != "" || l.ParamName() != "ref" || l.Cookie() != 90 || l.Rule() != AttributionLast {
		t.Fatalf("links %+v: param %q cookie %d rule %q", l, l.ParamName(), l.Cookie(), l.Rule())
	}
	// A program stored before links existed has no "links" key, and one
	// without links keeps it out of its stored form.
	b, _ := json.Marshal(p)
	if strings.Contains(string(b), `"links"`) {
		t.Errorf("a program without links stores %s", b)
	}
}

func TestLinksAsWritten(t *testing.T) {
	p, err := Load([]byte(withLinks(`
  landing_url: " https://www.example.com/partners?lang=en "
  param: via
  cookie_days: 0
  attribution: FIRST
`)))
	if err != nil {
		t.Fatal(err)
	}
	l := p.Links
	if l.LandingURL != "https://www.example.com/partners?lang=en" || l.ParamName() != "via" || l.Cookie() != 0 || l.Rule() != AttributionFirst {
		t.Fatalf("links %+v: param %q cookie %d rule %q", l, l.ParamName(), l.Cookie(), l.Rule())
	}
	// The stored form reads back the same (cookie_days 0 is not "unset").
	b, _ := json.Marshal(p)
	var back Program
	if err := json.Unmarshal(b, &back); err != nil || back.Links.Cookie() != 0 || back.Fingerprint() != p.Fingerprint() {
		t.Fatalf("round trip %s: %v %+v", b, err, back.Links)
	}
}

func TestLinksValidation(t *testing.T) {
	cases := []struct {
		name, section string
		want          []string // problems, by prefix; none = valid
	}{
		{"https landing", "  landing_url: https://www.example.com/\n", nil},
		{"http on localhost", "  landing_url: http://localhost:8080/\n", nil},
		{"http on 127.0.0.1", "  landing_url: http://127.0.0.1:8080/x\n", nil},
		{"http elsewhere", "  landing_url: http://www.example.com/\n", []string{`links.landing_url: "http://www.example.com/" must use https`}},
		{"relative landing", "  landing_url: /partners\n", []string{`links.landing_url: "/partners" is not an absolute URL`}},
		{"other scheme", "  landing_url: ftp://example.com/\n", []string{"links.landing_url: "}},
		{"credentials", "  landing_url: https://u:p@example.com/\n", []string{"links.landing_url: "}},
		{"opaque", "  landing_url: \"mailto:a@example.com\"\n", []string{"links.landing_url: "}},
		{"param", "  param: partner_code\n", nil},
		{"param with a space", "  param: \"my ref\"\n", []string{`links.param: "my ref" must be`}},
		{"utm param", "  param: utm_ref\n", []string{`links.param: "utm_ref" must not start with utm_`}},
		{"long param", "  param: " + strings.Repeat("p", 33) + "\n", []string{"links.param: "}},
		{"cookie max", "  cookie_days: 400\n", nil},
		{"cookie too long", "  cookie_days: 401\n", []string{"links.cookie_days: must be between 0"}},
		{"negative cookie", "  cookie_days: -1\n", []string{"links.cookie_days: "}},
		{"unknown rule", "  attribution: middle\n", []string{`links.attribution: unknown rule "middle" (want first, last)`}},
		{"unknown field", "  landing: https://x.example\n", []string{"links.landing: unknown field"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load([]byte(withLinks(c.section)))
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			if len(ve.Problems) != len(c.want) {
				t.Fatalf("problems %v, want %d", ve.Problems, len(c.want))
			}
			for i, w := range c.want {
				if got := ve.Problems[i].String(); !strings.HasPrefix(got, w) {
					t.Errorf("problem %q, want prefix %q", got, w)
				}
			}
		})
	}
}

// Programs built in code are validated too (Validate, not only Load).
func TestLinksValidatedInCode(t *testing.T) {
	p, err := Load([]byte(minimalYAML))
	if err != nil {
		t.Fatal(err)
	}
	days := -3
	p.Links = Links{LandingURL: "javascript:alert(1)", CookieDays: &days}
	err = p.Validate()
	if err == nil || !strings.Contains(err.Error(), "links.landing_url") || !strings.Contains(err.Error(), "links.cookie_days") {
		t.Fatalf("Validate = %v", err)
	}
}
