package links

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/referflow/referflow/internal/program"
)

const (
	chrome  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	safari  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"
	inApp   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0] LinkedInApp/9.29"
)

func TestIsBot(t *testing.T) {
	for _, c := range []struct {
		ua  string
		bot bool
	}{
		{chrome, false}, {safari, false}, {firefox, false}, {inApp, false},
		{"", true},
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", true},
		{"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", true},
		{"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", true},
		{"LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", true},
		{"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", true},
		{"Twitterbot/1.0", true},
		{"WhatsApp/2.23.20.0 A", true},
		{"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", true},
		{"TelegramBot (like TwitterBot)", true},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1)", true},
		{"curl/8.5.0", true}, {"Wget/1.21.4", true}, {"python-requests/2.32.3", true}, {"Go-http-client/1.1", true},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36", true},
		{"SomeCrawler/3.0", true}, {"my-spider", true}, {"Link Preview Service", true},
	} {
		if got := IsBot(c.ua); got != c.bot {
			t.Errorf("IsBot(%q) = %v, want %v", c.ua, got, c.bot)
		}
	}
}

func TestCounts(t *testing.T) {
	h := func(kv ...string) http.Header {
		out := http.Header{"User-Agent": {chrome}}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	for _, c := range []struct {
		name   string
		method string
		h      http.Header
		want   bool
	}{
		{"a person's click", "GET", h(), true},
		{"HEAD", "HEAD", h(), false},
		{"bot", "GET", h("User-Agent", "Twitterbot/1.0"), false},
		{"no user agent", "GET", http.Header{}, false},
		{"Purpose: prefetch", "GET", h("Purpose", "prefetch"), false},
		{"Sec-Purpose: prefetch", "GET", h("Sec-Purpose", "prefetch"), false},
		{"Sec-Purpose: prefetch;prerender", "GET", h("Sec-Purpose", "prefetch;prerender"), false},
		{"X-Purpose: preview", "GET", h("X-Purpose", "preview"), false},
		{"X-Moz: prefetch", "GET", h("X-Moz", "prefetch"), false},
		{"other purpose", "GET", h("Sec-Purpose", "navigate"), true},
	} {
		if got := Counts(c.method, c.h); got != c.want {
			t.Errorf("%s: Counts = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestLocation(t *testing.T) {
	prog := func(landing, param string) *program.Program {
		return &program.Program{ID: "p", Links: program.Links{LandingURL: landing, Param: param}}
	}
	q := func(raw string) url.Values {
		v, _ := url.ParseQuery(raw)
		return v
	}
	for _, c := range []struct {
		name, landing, param, code, query, want string
	}{
		{"code only", "https://www.example.com/", "", "ANN42", "", "https://www.example.com/?ref=ANN42"},
		{"program's parameter", "https://www.example.com/partners", "via", "ANN42", "", "https://www.example.com/partners?via=ANN42"},
		{"utm kept, the rest dropped", "https://www.example.com/", "", "ANN42",
			"utm_source=newsletter&utm_medium=email&gclid=x&ref=EVIL&token=secret",
			"https://www.example.com/?ref=ANN42&utm_medium=email&utm_source=newsletter"},
		{"landing's own query kept in order", "https://www.example.com/p?lang=en&b=2", "", "ANN42", "utm_campaign=q3",
			"https://www.example.com/p?lang=en&b=2&ref=ANN42&utm_campaign=q3"},
		{"the code replaces the landing's", "https://www.example.com/?ref=OLD&x=1", "", "ANN42", "",
			"https://www.example.com/?x=1&ref=ANN42"},
		{"link utm replaces the landing's", "https://www.example.com/?utm_source=site", "", "ANN42", "utm_source=partner",
			"https://www.example.com/?ref=ANN42&utm_source=partner"},
		{"upper-case UTM and repeats", "https://www.example.com/", "", "ANN42", "UTM_Source=a&UTM_Source=b",
			"https://www.example.com/?ref=ANN42&UTM_Source=a&UTM_Source=b"},
		{"values escaped", "https://www.example.com/", "", "a b", "utm_term=x&y=1%26z",
			"https://www.example.com/?ref=a+b&utm_term=x"},
		{"escaped utm value", "https://www.example.com/", "", "C", "utm_term=%3Cscript%3E",
			"https://www.example.com/?ref=C&utm_term=%3Cscript%3E"},
		{"no code: the landing and utm only", "https://www.example.com/?ref=OLD", "", "", "utm_source=x&ref=Y",
			"https://www.example.com/?ref=OLD&utm_source=x"},
		{"fragment kept", "https://www.example.com/#form", "", "C", "", "https://www.example.com/?ref=C#form"},
		{"a bare utm_ is not a utm parameter", "https://www.example.com/", "", "C", "utm_=1", "https://www.example.com/?ref=C"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Location(prog(c.landing, c.param), c.code, q(c.query))
			if err != nil || got != c.want {
				t.Fatalf("Location = %q, %v\nwant %q", got, err, c.want)
			}
		})
	}
	if _, err := Location(prog("", ""), "C", nil); !errors.Is(err, ErrNoLanding) {
		t.Errorf("no landing URL: %v, want ErrNoLanding", err)
	}
	if _, err := Location(prog("/relative", ""), "C", nil); err == nil || errors.Is(err, ErrNoLanding) {
		t.Errorf("a relative landing URL: %v", err)
	}
}

func TestSettingsOf(t *testing.T) {
	days := 0
	for _, c := range []struct {
		links program.Links
		want  Settings
	}{
		{program.Links{}, Settings{Program: "p", Param: "ref", CookieDays: 90, Attribution: "last"}},
		{program.Links{LandingURL: "https://x.example/", Param: "via", CookieDays: &days, Attribution: "first"},
			Settings{Program: "p", Param: "via", CookieDays: 0, Attribution: "first"}},
	} {
		if got := SettingsOf(&program.Program{ID: "p", Links: c.links}); got != c.want {
			t.Errorf("SettingsOf(%+v) = %+v, want %+v", c.links, got, c.want)
		}
	}
}
