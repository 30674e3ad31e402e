package program

import (
	"strings"
	"time"
	"unicode/utf8"
)

// This file holds what a program says about its partners (the referrers)
// and their portal: who may join and how, whether partners see a
// leaderboard, and how long a sign-in link and a portal session last.
//
// In a program file:
//
//	partners:
//	  join: open              # open | approval (default) | invitation
//	  leaderboard: names      # off (default) | names | anonymous
//	  portal_title: Acme partners   # optional; default: the program's name
//	  session_days: 30        # how long a portal sign-in lasts (1-365, default 30)
//	  sign_in_minutes: 15     # how long an emailed sign-in link works (5-1440, default 15)
//
// Fields left out keep their default: the section is read through the
// methods below, so a program stored before the section existed behaves
// like one that leaves it out.

// Join policies: how a person becomes a partner from the portal's join page.
const (
	// JoinOpen: anyone may join; the partner is active at once and gets a
	// sign-in link.
	JoinOpen = "open"
	// JoinApproval: anyone may ask to join; the partner is pending until
	// an operator approves them.
	JoinApproval = "approval"
	// JoinInvitation: only operators add partners (by invitation).
	JoinInvitation = "invitation"
)

// Leaderboard modes: what partners see of each other in the portal.
const (
	LeaderboardOff       = "off"
	LeaderboardNames     = "names"     // top partners by display name
	LeaderboardAnonymous = "anonymous" // top partners as "Partner #n"
)

// Defaults and bounds of the partners section.
const (
	DefaultJoin          = JoinApproval
	DefaultLeaderboard   = LeaderboardOff
	DefaultSessionDays   = 30
	DefaultSignInMinutes = 15
	MaxSessionDays       = 365
	MinSignInMinutes     = 5
	MaxSignInMinutes     = 24 * 60
	MaxPortalTitle       = 80
)

var (
	joinPolicies     = []string{JoinOpen, JoinApproval, JoinInvitation}
	leaderboardModes = []string{LeaderboardOff, LeaderboardNames, LeaderboardAnonymous}
)

// Partners is the program's partners section. Zero values mean the
// defaults; read it through the methods.
type Partners struct {
	Join          string `json:"join,omitempty"`
	Leaderboard   string `json:"leaderboard,omitempty"`
	PortalTitle   string `json:"portal_title,omitempty"`
	SessionDays   int    `json:"session_days,omitempty"`
	SignInMinutes int    `json:"sign_in_minutes,omitempty"`
}

// JoinPolicy is how people join: JoinOpen, JoinApproval (the default) or
// JoinInvitation.
func (s Partners) JoinPolicy() string {
	if s.Join == "" {
		return DefaultJoin
	}
	return s.Join
}

// LeaderboardMode is LeaderboardOff (the default), LeaderboardNames or
// LeaderboardAnonymous.
func (s Partners) LeaderboardMode() string {
	if s.Leaderboard == "" {
		return DefaultLeaderboard
	}
	return s.Leaderboard
}

// SessionTTL is how long a portal session lasts (session_days, default 30
// days).
func (s Partners) SessionTTL() time.Duration {
	d := s.SessionDays
	if d <= 0 || d > MaxSessionDays {
		d = DefaultSessionDays
	}
	return time.Duration(d) * 24 * time.Hour
}

// SignInTTL is how long an emailed sign-in link works (sign_in_minutes,
// default 15 minutes).
func (s Partners) SignInTTL() time.Duration {
	m := s.SignInMinutes
	if m < MinSignInMinutes || m > MaxSignInMinutes {
		m = DefaultSignInMinutes
	}
	return time.Duration(m) * time.Minute
}

// PortalTitle is the title of the program's partner portal: portal_title,
// else the program's name, else its id.
func (p *Program) PortalTitle() string {
	switch {
	case p.Partners.PortalTitle != "":
		return p.Partners.PortalTitle
	case p.Name != "":
		return p.Name
	}
	return p.ID
}

// filePartners is the partners section as written.
type filePartners struct {
	Join          string `json:"join" yaml:"join"`
	Leaderboard   string `json:"leaderboard" yaml:"leaderboard"`
	PortalTitle   string `json:"portal_title" yaml:"portal_title"`
	SessionDays   int    `json:"session_days" yaml:"session_days"`
	SignInMinutes int    `json:"sign_in_minutes" yaml:"sign_in_minutes"`
}

// convert copies the section, the words trimmed and lower-cased.
func (fp filePartners) convert() Partners {
	return Partners{
		Join:          strings.ToLower(strings.TrimSpace(fp.Join)),
		Leaderboard:   strings.ToLower(strings.TrimSpace(fp.Leaderboard)),
		PortalTitle:   strings.TrimSpace(fp.PortalTitle),
		SessionDays:   fp.SessionDays,
		SignInMinutes: fp.SignInMinutes,
	}
}

// validatePartners checks the partners section: known join policy and
// leaderboard mode, a one-line title within bounds, and the session and
// sign-in lifetimes within bounds (0 = the default).
func (p *Program) validatePartners(ps *problems) {
	s := p.Partners
	if s.Join != "" && !oneOf(s.Join, joinPolicies) {
		ps.add("partners.join", "%q is not a join policy (want one of %s)", s.Join, want(joinPolicies))
	}
	if s.Leaderboard != "" && !oneOf(s.Leaderboard, leaderboardModes) {
		ps.add("partners.leaderboard", "%q is not a leaderboard mode (want one of %s)", s.Leaderboard, want(leaderboardModes))
	}
	switch {
	case strings.ContainsAny(s.PortalTitle, "\r\n"):
		ps.add("partners.portal_title", "must be one line")
	case utf8.RuneCountInString(s.PortalTitle) > MaxPortalTitle:
		ps.add("partners.portal_title", "at most %d characters", MaxPortalTitle)
	}
	if s.SessionDays != 0 && (s.SessionDays < 1 || s.SessionDays > MaxSessionDays) {
		ps.add("partners.session_days", "must be between 1 and %d days (default %d)", MaxSessionDays, DefaultSessionDays)
	}
	if s.SignInMinutes != 0 && (s.SignInMinutes < MinSignInMinutes || s.SignInMinutes > MaxSignInMinutes) {
		ps.add("partners.sign_in_minutes", "must be between %d and %d minutes (default %d)", MinSignInMinutes, MaxSignInMinutes, DefaultSignInMinutes)
	}
}
