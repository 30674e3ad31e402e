package links

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/referflow/referflow/internal/program"
)

// ErrNoLanding: the program names no landing URL (links.landing_url), so
// its links lead nowhere yet.
var ErrNoLanding = errors.New("links: the program has no landing_url")

// Location is where a link sends its visitor: the program's landing URL,
// its own query kept, with the program's parameter set to code (left out
// when code is "": an unknown or inactive code) and every utm_* parameter
// of the link's query (case-insensitive prefix, all values, in key order;
// they replace the landing URL's parameters of the same name). Every other
// parameter of the link's query is dropped. It fails with ErrNoLanding when
// the program has no landing URL, and when the stored URL cannot be read.
func Location(p *program.Program, code string, linkQuery url.Values) (string, error) {
	landing := p.Links.LandingURL
	if landing == "" {
		return "", fmt.Errorf("links: program %s: %w", p.ID, ErrNoLanding)
	}
	u, err := url.Parse(landing)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("links: program %s: landing_url %q is not an absolute URL", p.ID, landing)
	}
	param := p.Links.ParamName()
	utm := UTM(linkQuery)
	replaced := map[string]bool{}
	if code != "" {
		replaced[param] = true
	}
	for k := range utm {
		replaced[k] = true
	}
	var pairs []string
	for _, pair := range strings.Split(u.RawQuery, "&") {
		if pair == "" {
			continue
		}
		k, _, _ := strings.Cut(pair, "=")
		if name, err := url.QueryUnescape(k); err == nil && replaced[name] {
			continue
		}
		pairs = append(pairs, pair)
	}
	if code != "" {
		pairs = append(pairs, url.QueryEscape(param)+"="+url.QueryEscape(code))
	}
	keys := make([]string, 0, len(utm))
	for k := range utm {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range utm[k] {
			pairs = append(pairs, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	u.RawQuery = strings.Join(pairs, "&")
	u.ForceQuery = false
	return u.String(), nil
}

// UTM returns the utm_* parameters of a link's query (names matched
// case-insensitively, kept as written), or an empty map.
func UTM(q url.Values) url.Values {
	out := url.Values{}
	for k, vs := range q {
		if len(k) > 4 && strings.EqualFold(k[:4], "utm_") {
			out[k] = append([]string(nil), vs...)
		}
	}
	return out
}

// Settings is the public part of a program's link settings: what the
// embeddable form needs to find a referral code on the marketing site and
// keep it in a cookie (GET /embed/settings/{program}). It names no person
// and no partner.
type Settings struct {
	Program     string `json:"program"`
	Param       string `json:"param"`
	CookieDays  int    `json:"cookie_days"`
	Attribution string `json:"attribution"`
}

// SettingsOf is the program's Settings, defaults applied.
func SettingsOf(p *program.Program) Settings {
	return Settings{Program: p.ID, Param: p.Links.ParamName(), CookieDays: p.Links.Cookie(), Attribution: p.Links.Rule()}
}
