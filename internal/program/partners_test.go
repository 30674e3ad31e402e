package program

import (
	"strings"
	"testing"
	"time"
)

func TestPartnersDefaults(t *testing.T) {
	p, err := Load([]byte(minimalYAML))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Partners
	if s.JoinPolicy() != JoinApproval || s.LeaderboardMode() != LeaderboardOff ||
		s.SessionTTL() != 30*24*time.Hour || s.SignInTTL() != 15*time.Minute {
		t.Fatalf("defaults: join %s, leaderboard %s, session %v, sign-in %v", s.JoinPolicy(), s.LeaderboardMode(), s.SessionTTL(), s.SignInTTL())
	}
	if p.PortalTitle() != "demo" {
		t.Fatalf("portal title %q, want the program id when it has no name", p.PortalTitle())
	}
	p.Name = "Demo partners"
	if p.PortalTitle() != "Demo partners" {
		t.Fatalf("portal title %q, want the program name", p.PortalTitle())
	}
}

func TestPartnersSectionLoads(t *testing.T) {
	p, err := Load([]byte(minimalYAML + `
partners:
  join: " Open "
  leaderboard: anonymous
  portal_title: Acme partners
  session_days: 7
  sign_in_minutes: 30
`))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Partners
	if s.JoinPolicy() != JoinOpen || s.LeaderboardMode() != LeaderboardAnonymous || p.PortalTitle() != "Acme partners" ||
		s.SessionTTL() != 7*24*time.Hour || s.SignInTTL() != 30*time.Minute {
		t.Fatalf("loaded %+v", s)
	}
}

func TestPartnersValidation(t *testing.T) {
	cases := []struct {
		name, section string
		paths         []string
	}{
		{"unknown join", "join: everyone", []string{"partners.join"}},
		{"unknown leaderboard", "leaderboard: top", []string{"partners.leaderboard"}},
		{"session too long", "session_days: 400", []string{"partners.session_days"}},
		{"session negative", "session_days: -1", []string{"partners.session_days"}},
		{"link too short", "sign_in_minutes: 1", []string{"partners.sign_in_minutes"}},
		{"link too long", "sign_in_minutes: 2000", []string{"partners.sign_in_minutes"}},
		{"title too long", "portal_title: " + strings.Repeat("x", MaxPortalTitle+1), []string{"partners.portal_title"}},
		{"unknown field", "joins: open", []string{"partners.joins"}},
		{"everything at once", "{join: x, leaderboard: y, session_days: 0, sign_in_minutes: 4}",
			[]string{"partners.join", "partners.leaderboard", "partners.sign_in_minutes"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load([]byte(minimalYAML + "partners:\n  " + c.section + "\n"))
			ve, ok := err.(*ValidationError)
			if !ok {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			var got []string
			for _, p := range ve.Problems {
				got = append(got, p.Path)
			}
			if strings.Join(got, ",") != strings.Join(c.paths, ",") {
				t.Fatalf("problems at %v, want %v (%v)", got, c.paths, err)
			}
		})
	}
}

// A program built in code (or stored before the section existed) with an
// out-of-range lifetime is refused by Validate, and never lasts forever.
func TestPartnersLifetimesAreBounded(t *testing.T) {
	s := Partners{SessionDays: 100000, SignInMinutes: 1}
	if s.SessionTTL() != DefaultSessionDays*24*time.Hour || s.SignInTTL() != DefaultSignInMinutes*time.Minute {
		t.Fatalf("out-of-range lifetimes: session %v, sign-in %v", s.SessionTTL(), s.SignInTTL())
	}
	var ps problems
	(&Program{Partners: s}).validatePartners(&ps)
	if len(ps) != 2 {
		t.Fatalf("problems %v", ps)
	}
}
