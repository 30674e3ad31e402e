package stack

import (
	"io"
	"log"
	"slices"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/programs"
)

// The example program names the example site at its default origin; a
// stack whose site runs elsewhere publishes it pointed at that origin.
func TestSiteProgramPointsTheExampleAtTheRunningSite(t *testing.T) {
	const origin = "http://localhost:41234"
	p, err := program.Load(SiteProgram(programs.Default(), origin))
	if err != nil {
		t.Fatal(err)
	}
	if p.Links.LandingURL != origin+"/" || p.ThankYouURL != origin+"/thanks" || !slices.Contains(p.SiteOrigins, origin) {
		t.Errorf("landing %q thank-you %q origins %v, want them at %s", p.Links.LandingURL, p.ThankYouURL, p.SiteOrigins, origin)
	}
	for _, same := range []string{"", DefaultSiteOrigin} {
		if got := SiteProgram(programs.Default(), same); string(got) != string(programs.Default()) {
			t.Errorf("SiteProgram(%q) changed the file", same)
		}
	}
}

func TestLoadWithSiteAddsTheSiteToTheCORSOrigins(t *testing.T) {
	quiet := log.New(io.Discard, "", 0)
	env := map[string]string{}
	cfg := Config{Template: "../../../template.yaml", Getenv: func(k string) string { return env[k] }}
	site, tpl, err := loadWithSite(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	site.Close()
	if !strings.HasPrefix(site.Origin, "http://localhost:") || site.Origin == DefaultSiteOrigin {
		t.Errorf("a stack on a free API port has its site on a free port too: %s", site.Origin)
	}
	origins := strings.Split(tpl.Parameters[corsParameter], ",")
	if !slices.Contains(origins, site.Origin) || !slices.Contains(origins, "https://www.example.com") {
		t.Errorf("CorsAllowOrigins %v lacks the site %s or the template's own", origins, site.Origin)
	}
	if got := tpl.Parameters[operatorsParameter]; got != LocalOperator {
		t.Errorf("OperatorEmails = %q, want the local operator %s", got, LocalOperator)
	}
	// A template without the parameter loads as it is.
	cfg.Template = "../testdata/template.yaml"
	site, tpl, err = loadWithSite(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	site.Close()
	if _, ok := tpl.Parameters[corsParameter]; ok {
		t.Errorf("the site added a parameter the template does not declare")
	}
	env[SitePortEnv] = "eighty"
	if _, _, err := loadWithSite(cfg, quiet); err == nil || !strings.Contains(err.Error(), SitePortEnv) {
		t.Errorf("a bad %s: %v", SitePortEnv, err)
	}
}
