package main

import (
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/referral"
)

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// assertPage checks what every page for people carries: HTML, the
// status, security headers, one main landmark and a title, and an inline
// style the CSP allows by its hash (and nothing from elsewhere).
func assertPage(t *testing.T, resp apigw.Response, status int) string {
	t.Helper()
	if resp.StatusCode != status || !strings.HasPrefix(resp.Headers["content-type"], "text/html") {
		t.Fatalf("got %d %v, want an HTML %d\n%s", resp.StatusCode, resp.Headers, status, resp.Body)
	}
	if resp.Headers["x-content-type-options"] != "nosniff" || resp.Headers["cache-control"] != "no-store" {
		t.Fatalf("headers %v", resp.Headers)
	}
	body := resp.Body
	if strings.Count(body, "<main>") != 1 || !strings.Contains(body, `<html lang="en">`) || !regexp.MustCompile(`<title>[^<]+</title>`).MatchString(body) {
		t.Fatalf("page structure:\n%s", body)
	}
	style := regexp.MustCompile(`(?s)<style>(.*)</style>`).FindStringSubmatch(body)
	if style == nil {
		t.Fatal("no style")
	}
	sum := sha256.Sum256([]byte(style[1]))
	if !strings.Contains(resp.Headers["content-security-policy"], "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") ||
		!strings.Contains(resp.Headers["content-security-policy"], "default-src 'none'") {
		t.Fatalf("the CSP %q does not allow the inline style", resp.Headers["content-security-policy"])
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") && !strings.Contains(body, "https://www.example.com/form") {
		t.Fatalf("the page loads or links something elsewhere:\n%s", body)
	}
	return body
}

func TestBrowserWithoutThankYouURLGetsTheProductsThankYouPage(t *testing.T) {
	h, st, s := newHandler()
	st.Programs["partners"].ThankYouURL = ""
	body := "referrer_code=ann-42&referee_email=bob%40acme.io&referee_company=" + url.QueryEscape("Acme <Robots>")
	resp := call(t, h, formReq(body, "accept", browserAccept))
	page := assertPage(t, resp, 202)
	if len(st.Created) != 1 || len(s.calls) != 1 {
		t.Fatal("not stored and started")
	}
	id := st.Created[0].Referral.ID
	link := regexp.MustCompile(`href="(/referrals/[^"]+)"`).FindStringSubmatch(page)
	if link == nil {
		t.Fatalf("no status link:\n%s", page)
	}
	u, _ := url.Parse(strings.ReplaceAll(link[1], "&amp;", "&"))
	if u.Path != "/referrals/"+id || referral.HashToken(u.Query().Get("token")) != st.Created[0].Referral.StatusTokenHash {
		t.Fatalf("status link %q does not open referral %s", link[1], id)
	}
	if !strings.Contains(page, "Acme &lt;Robots&gt;") || strings.Contains(page, "<Robots>") {
		t.Fatal("the company is not escaped")
	}
	// The same post with an Idempotency-Key, repeated, shows the same page.
	h, st, _ = newHandler()
	st.Programs["partners"].ThankYouURL = ""
	first := call(t, h, formReq(body, "accept", browserAccept, "idempotency-key", "k"))
	again := call(t, h, formReq(body, "accept", browserAccept, "idempotency-key", "k"))
	if assertPage(t, again, 202) != assertPage(t, first, 202) || len(st.Created) != 1 {
		t.Fatal("the replay shows another page, or stored twice")
	}
	// A JSON client posting the same form keeps the JSON contract.
	h, st, _ = newHandler()
	st.Programs["partners"].ThankYouURL = ""
	accepted(t, call(t, h, formReq(body, "accept", "application/json")))
}

func TestBrowserRefusalsArePagesWithTheContractsStatus(t *testing.T) {
	cases := []struct {
		name, body string
		status     int
		want       []string
	}{
		{"invalid fields", "referrer_code=ann-42&referee_email=bob&referee_domain=x", 400,
			[]string{"Some fields need your attention", "Email of the person you refer", "is not an email address", "Company", "is required", "Company website", "is not a domain name"}},
		{"unknown code", "referrer_code=nobody&referee_email=bob%40acme.io&referee_company=Acme", 400, []string{"This referral code is not known", "Referral code"}},
		{"unknown program", "program=nope&referrer_code=ann-42&referee_email=bob%40acme.io&referee_company=Acme", 400, []string{"This referral program is not known"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, st, s := newHandler()
			resp := call(t, h, formReq(c.body, "accept", browserAccept, "referer", "https://www.example.com/form?x=1"))
			page := assertPage(t, resp, c.status)
			for _, w := range c.want {
				if !strings.Contains(page, w) {
					t.Errorf("the page does not say %q:\n%s", w, page)
				}
			}
			if !strings.Contains(page, `href="https://www.example.com/form?x=1"`) {
				t.Errorf("no link back to the form:\n%s", page)
			}
			if len(st.Created) != 0 || len(s.calls) != 0 {
				t.Fatal("a refused referral was stored or started")
			}
			// The same request from a JSON client gets the JSON error.
			resp = call(t, h, formReq(c.body, "accept", "application/json"))
			if resp.StatusCode != c.status || errorOf(t, resp).Code == "" {
				t.Fatalf("JSON client: %d %s", resp.StatusCode, resp.Body)
			}
		})
	}
	// A duplicate is a 409 page that says nothing of who referred.
	h, _, _ := newHandler()
	body := "referrer_code=ann-42&referee_email=bob%40acme.io&referee_company=Acme"
	call(t, h, formReq(body))
	page := assertPage(t, call(t, h, formReq(body, "accept", browserAccept)), 409)
	if !strings.Contains(page, "Already referred") || strings.Contains(page, "ann") {
		t.Fatalf("duplicate page:\n%s", page)
	}
	// The message reads as a sentence for people, not as the API's text.
	if !strings.Contains(page, "<p>This company or person has already been referred to this program.</p>") {
		t.Errorf("the duplicate page's message is not a sentence:\n%s", page)
	}
	// Without a Referer the page says how to go back.
	h, _, _ = newHandler()
	page = assertPage(t, call(t, h, formReq("referrer_code=ann-42", "accept", browserAccept)), 400)
	if !strings.Contains(page, "back button") {
		t.Fatalf("no way back:\n%s", page)
	}
}

// A partner who is pending, invited or disabled cannot be referred
// through: their code is refused exactly like an unknown one.
func TestInactivePartnersCodeIsUnknown(t *testing.T) {
	h, st, _ := newHandler()
	unknown := call(t, h, jsonReq(`{"referrer_code":"nobody","referee_email":"bob@acme.io","referee_company":"Acme"}`))
	for _, status := range []referral.ReferrerStatus{referral.ReferrerPending, referral.ReferrerInvited, referral.ReferrerDisabled} {
		st.AddPartner(referral.Referrer{ProgramID: "partners", Code: "zed", Status: status})
		resp := call(t, h, jsonReq(`{"referrer_code":"zed","referee_email":"bob@acme.io","referee_company":"Acme"}`))
		if resp.StatusCode != 400 || strings.ReplaceAll(resp.Body, "zed", "nobody") != unknown.Body {
			t.Fatalf("%s partner: %d %s, want the unknown code's answer %s", status, resp.StatusCode, resp.Body, unknown.Body)
		}
	}
	if len(st.Created) != 0 {
		t.Fatal("a referral through an inactive partner was stored")
	}
}

func TestHoneypotPageLooksLikeAPersons(t *testing.T) {
	h, st, s := newHandler()
	st.Programs["partners"].ThankYouURL = ""
	page := assertPage(t, call(t, h, formReq("referrer_code=ann-42&referee_email=bob%40acme.io&referee_company=Acme&_gotcha=x", "accept", browserAccept)), 202)
	if !strings.Contains(page, "Thank you for your referral") || !strings.Contains(page, "/referrals/ref_") {
		t.Fatalf("decoy page:\n%s", page)
	}
	if len(st.Created) != 0 || len(s.calls) != 0 {
		t.Fatal("a bot's referral was stored or started")
	}
}
