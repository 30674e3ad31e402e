package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/referral"
)

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

func getAccept(t *testing.T, h *Handler, id, tok, accept string) apigw.Response {
	t.Helper()
	req := apigw.Request{PathParameters: map[string]string{"id": id}, Headers: map[string]string{"accept": accept}}
	if tok != "" {
		req.QueryStringParameters = map[string]string{"token": tok}
	}
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestStatusPageForPeople(t *testing.T) {
	h, st := setup()
	st.programs["partners"].Name = "Partner program"
	resp := getAccept(t, h, id, token, browserAccept)
	if resp.StatusCode != 200 || resp.Headers["content-type"] != "text/html; charset=utf-8" || resp.Headers["cache-control"] != "no-store" ||
		resp.Headers["referrer-policy"] != "no-referrer" || resp.Headers["vary"] != "accept" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Headers)
	}
	for _, want := range []string{
		`<html lang="en">`, "<main>", "<h1>Referral status</h1>", "Partner program",
		"<strong>Accepted</strong>",
		`<span class="name">Qualified</span>: <span class="when">reached on <time datetime="2026-07-01T08:00:00Z">1 July 2026</time>`,
		`<span class="name">Demo</span>: <span class="when">not yet`,
		"<strong>100.00 USD cash</strong> for the referrer, at “Qualified”: paid",
		"<strong>5000 JPY discount</strong> for the referred company, at “Won”: on hold (holding period)",
		`Last updated <time datetime="2026-07-01T09:00:00Z">1 July 2026</time>`,
		id,
	} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("the page does not say %q:\n%s", want, resp.Body)
		}
	}
	for _, leak := range []string{"bob@acme.io", "Bob", "Acme", "555", "call Bob", "ann-42", token, referral.HashToken(token), "<script", "http://", "https://"} {
		if strings.Contains(resp.Body, leak) {
			t.Errorf("the page contains %q", leak)
		}
	}
}

func TestStatusPageSaysEveryStatusInWords(t *testing.T) {
	for _, s := range []referral.Status{referral.StatusReceived, referral.StatusVerifying, referral.StatusInReview,
		referral.StatusInProgress, referral.StatusNeedsAttention, referral.StatusRejected, referral.StatusLost,
		referral.StatusExpired, referral.StatusCompleted} {
		h, st := setup()
		st.referrals[id].Status = s
		resp := getAccept(t, h, id, token, browserAccept)
		w, ok := statusWords[string(s)]
		if !ok || resp.StatusCode != 200 || !strings.Contains(resp.Body, "<strong>"+w[0]+"</strong>") || strings.Contains(resp.Body, ">"+string(s)+"<") {
			t.Errorf("%s: %d, words %v\n%s", s, resp.StatusCode, w, resp.Body)
		}
	}
}

func TestStatusPageNotFoundIsUniform(t *testing.T) {
	h, _ := setup()
	var first string
	for name, c := range map[string][2]string{
		"wrong token": {id, "wrong"},
		"no token":    {id, ""},
		"unknown id":  {"ref_01J0000000000000000000000B", token},
		"bad id":      {"../admin", token},
	} {
		resp := getAccept(t, h, c[0], c[1], browserAccept)
		if resp.StatusCode != 404 || resp.Headers["content-type"] != "text/html; charset=utf-8" || !strings.Contains(resp.Body, "<h1>We could not find this referral</h1>") {
			t.Fatalf("%s: %d %v\n%s", name, resp.StatusCode, resp.Headers, resp.Body)
		}
		if first == "" {
			first = resp.Body
		} else if resp.Body != first {
			t.Errorf("%s: another 404 page than the others", name)
		}
	}
}

func TestStatusPageStoreFailure(t *testing.T) {
	h, st := setup()
	st.readErr = errors.New("throttled")
	resp := getAccept(t, h, id, token, browserAccept)
	if resp.StatusCode != 503 || resp.Headers["retry-after"] != "5" || !strings.Contains(resp.Body, "try again") {
		t.Fatalf("%d %v\n%s", resp.StatusCode, resp.Headers, resp.Body)
	}
}

// API clients keep the JSON contract whatever else they accept.
func TestStatusJSONUnlessHTMLIsPreferred(t *testing.T) {
	for _, accept := range []string{"", "application/json", "*/*", "text/html;q=0.5, application/json", "application/json, text/html;q=0.9"} {
		h, _ := setup()
		resp := getAccept(t, h, id, token, accept)
		if resp.StatusCode != 200 || resp.Headers["content-type"] != "application/json" || !strings.HasPrefix(resp.Body, `{"referral_id":`) || resp.Headers["vary"] != "accept" {
			t.Errorf("Accept %q: %d %v", accept, resp.StatusCode, resp.Headers)
		}
		resp = getAccept(t, h, id, "wrong", accept)
		if resp.StatusCode != 404 || !strings.Contains(resp.Body, `"code":"not_found"`) {
			t.Errorf("Accept %q, wrong token: %d %s", accept, resp.StatusCode, resp.Body)
		}
	}
}
