package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/infra/local/stack"
	"github.com/referflow/referflow/internal/notify"
)

// mailed is one message of GET /_local/mail (the published contract).
type mailed struct {
	ID      string    `json:"id"`
	From    string    `json:"from"`
	To      []string  `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	SentAt  time.Time `json:"sent_at"`
}

// mailbox lists the stack's mailbox as JSON (newest first).
func (e *env) mailbox(to string) []mailed {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.api+"/_local/mail?to="+url.QueryEscape(to), nil)
	req.Header.Set("Accept", "application/json")
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		e.t.Fatalf("GET /_local/mail = %d %s", res.StatusCode, body)
	}
	var out []mailed
	if err := json.Unmarshal(body, &out); err != nil {
		e.t.Fatalf("GET /_local/mail: %v: %s", err, body)
	}
	return out
}

// A referral through the local stack: the domain event reaches the notify
// function through the EventBridge bus, which emails the partner and the
// program's operator once each, from the program's sender, through SES
// (moto), and the mailbox shows both, each with its link.
func TestReferralReceivedEmailsThePartnerAndTheOperator(t *testing.T) {
	const partner, operator = "partner@demo-referrer.example", "ops@example.com"
	e := start(t, nil)
	name, email := company(t)
	a := e.refer(email, name)

	var toPartner, toOperator []mailed
	e.eventually("the partner's and the operator's emails", 60*time.Second, func() (bool, string) {
		toPartner, toOperator = about(e.mailbox(partner), name), about(e.mailbox(operator), name)
		return len(toPartner) >= 1 && len(toOperator) >= 1, fmt.Sprintf("partner %d, operator %d", len(toPartner), len(toOperator))
	})
	// Give a duplicate delivery time to show up: each email is sent once.
	time.Sleep(2 * time.Second)
	toPartner, toOperator = about(e.mailbox(partner), name), about(e.mailbox(operator), name)
	if len(toPartner) != 1 || len(toOperator) != 1 {
		t.Fatalf("partner got %d, operator %d emails about %s; want 1 each", len(toPartner), len(toOperator), name)
	}

	p := toPartner[0]
	if p.Subject != "We received your referral of "+name || p.From != "B2B Partners <partners@example.com>" || len(p.To) != 1 || p.To[0] != partner {
		t.Errorf("partner email: subject %q from %q to %v", p.Subject, p.From, p.To)
	}
	if !strings.Contains(p.Text, a.ReferralID) || !strings.Contains(p.HTML, "<html") || strings.Contains(p.Text, email) {
		t.Errorf("partner email text:\n%s", p.Text)
	}
	// The preference link names the local API and carries a token signed
	// with the stack's link secret, for the demo partner.
	prefix := e.api + notify.PreferencesPath + "?token="
	i := strings.Index(p.Text, prefix)
	if i < 0 {
		t.Fatalf("no preference link to %s in:\n%s", prefix, p.Text)
	}
	tok := strings.Fields(p.Text[i+len(prefix):])[0]
	tok, _ = url.QueryUnescape(tok)
	s, err := notify.VerifyPreferenceToken([]string{stack.LocalLinkSecret}, tok, time.Now())
	if err != nil || s.Code != demoCode || s.ProgramID != "b2b-partners" {
		t.Errorf("preference token speaks for %+v (%v)", s, err)
	}

	o := toOperator[0]
	if o.Subject != "New referral: "+name || !strings.Contains(o.Text, e.api+"/admin/referrals/"+a.ReferralID) {
		t.Errorf("operator email: subject %q\n%s", o.Subject, o.Text)
	}
}

// about keeps the messages that name the company (other tests' referrals
// share the stack's mailbox only within their own stack, but be exact).
func about(msgs []mailed, company string) []mailed {
	var out []mailed
	for _, m := range msgs {
		if strings.Contains(m.Subject, company) {
			out = append(out, m)
		}
	}
	return out
}
