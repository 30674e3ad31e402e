package console

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/web/websession"
)

func TestSignInAnswersTheSamePageKnownEmailOrNot(t *testing.T) {
	for _, email := range []string{opEmail, "stranger@example.com"} {
		t.Run(email, func(t *testing.T) {
			e := newEnv(t)
			page := e.do("GET", "/console/sign-in", nil)
			resp := e.do("POST", "/console/sign-in", url.Values{"csrf": {e.csrf(page.Body)}, "email": {email}})
			if resp.StatusCode != 200 || !strings.Contains(resp.Body, "If "+email+" is an operator") {
				t.Fatalf("answer %d: %s", resp.StatusCode, resp.Body)
			}
			wantMail := email == opEmail
			if got := len(e.mail.sent) == 1; got != wantMail {
				t.Fatalf("mail sent: %v, want %v", got, wantMail)
			}
			if wantMail && (e.mail.sent[0].To[0] != opEmail || !linkRe.MatchString(e.mail.sent[0].Text)) {
				t.Fatalf("mail: %+v", e.mail.sent[0])
			}
		})
	}
}

func TestSignInStoresOnlyTheLinkHashAndItWorksOnce(t *testing.T) {
	e := newEnv(t)
	e.signIn()
	link := linkRe.FindString(e.mail.sent[0].Text)
	token := strings.TrimPrefix(link, "/console/sign-in/")
	for hash, tok := range e.sessions.tokens {
		if hash == token || tok.Operator != opEmail {
			t.Fatalf("stored token %q %+v", hash, tok)
		}
	}
	for hash, s := range e.sessions.sessions {
		if s.Kind != store.SessionOperator || s.Operator != opEmail || s.ExpiresAt != t0.Add(SessionTTL) || hash == e.cookies[SessionCookie] {
			t.Fatalf("session %q %+v", hash, s)
		}
	}
	if got := e.sessions.actions(); !slices.Equal(got, []string{"sign-in ok "}) {
		t.Fatalf("audit %q", got)
	}
	delete(e.cookies, SessionCookie)
	if resp := e.do("GET", link, nil); resp.StatusCode != 404 {
		t.Fatalf("a used link answered %d", resp.StatusCode)
	}
}

func TestSignInRefusals(t *testing.T) {
	tests := []struct {
		name   string
		form   func(e *env) url.Values
		header []string
		status int
	}{
		{"no CSRF token", func(*env) url.Values { return url.Values{"email": {opEmail}} }, nil, 403},
		{"a forged CSRF token", func(*env) url.Values { return url.Values{"email": {opEmail}, "csrf": {"abc.def"}} }, nil, 403},
		{"another origin", func(e *env) url.Values {
			return url.Values{"email": {opEmail}, "csrf": {e.csrf(e.do("GET", "/console/sign-in", nil).Body)}}
		}, []string{"origin", "https://evil.example"}, 403},
		{"not an email", func(e *env) url.Values {
			return url.Values{"email": {"nope"}, "csrf": {e.csrf(e.do("GET", "/console/sign-in", nil).Body)}}
		}, nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			resp := e.do("POST", "/console/sign-in", tt.form(e), tt.header...)
			if resp.StatusCode != tt.status || len(e.mail.sent) != 0 {
				t.Fatalf("answer %d (want %d), mails %d", resp.StatusCode, tt.status, len(e.mail.sent))
			}
		})
	}
}

func TestSignInIsRateLimitedPerEmailSilently(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < SignInPerEmail+2; i++ {
		page := e.do("GET", "/console/sign-in", nil)
		if resp := e.do("POST", "/console/sign-in", url.Values{"csrf": {e.csrf(page.Body)}, "email": {opEmail}}); resp.StatusCode != 200 {
			t.Fatalf("request %d answered %d", i, resp.StatusCode)
		}
	}
	if len(e.mail.sent) != SignInPerEmail {
		t.Fatalf("sent %d links, want %d", len(e.mail.sent), SignInPerEmail)
	}
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t)
	e.signIn()
	if resp := e.do("GET", "/console", nil); resp.StatusCode != 200 {
		t.Fatalf("signed in: %d", resp.StatusCode)
	}
	e.clock.Add(SessionTTL + time.Second)
	if resp := e.do("GET", "/console", nil); resp.StatusCode != 303 || resp.Headers["location"] != "/console/sign-in" {
		t.Fatalf("after expiry: %d %v", resp.StatusCode, resp.Headers)
	}
	if resp := e.do("POST", "/console/referrals/"+refID+"/review", url.Values{"decision": {"approve"}, "reason": {"ok"}}); resp.StatusCode != 403 {
		t.Fatalf("a POST after expiry answered %d", resp.StatusCode)
	}
	if e.st.referrals[refID].ReviewOutcome != "" {
		t.Fatal("a POST after expiry changed the referral")
	}
}

func TestPartnerSessionDoesNotOpenTheConsole(t *testing.T) {
	e := newEnv(t)
	id := "partner-session-id"
	e.sessions.sessions[websession.Hash(id)] = store.Session{Hash: websession.Hash(id), ProgramID: "p", Code: "ACME", ExpiresAt: t0.Add(time.Hour)}
	e.cookies[SessionCookie] = id
	if resp := e.do("GET", "/console", nil); resp.StatusCode != 303 {
		t.Fatalf("a partner's session opened the console: %d", resp.StatusCode)
	}
}

func TestOperatorRemovedFromTheListIsSignedOut(t *testing.T) {
	e := newEnv(t)
	e.signIn()
	e.h.Operators = []string{"other@example.com"}
	if resp := e.do("GET", "/console", nil); resp.StatusCode != 303 {
		t.Fatalf("a removed operator still sees the console: %d", resp.StatusCode)
	}
}

func TestActionsRefuseWithoutCSRFOrFromAnotherOrigin(t *testing.T) {
	e := newEnv(t)
	e.signIn()
	path := "/console/referrals/" + refID + "/review"
	form := url.Values{"decision": {"approve"}, "reason": {"fits"}}
	if resp := e.do("POST", path, form); resp.StatusCode != 403 {
		t.Fatalf("no CSRF token: %d", resp.StatusCode)
	}
	form.Set("csrf", e.csrf(e.do("GET", "/console", nil).Body))
	if resp := e.do("POST", path, form, "origin", "https://evil.example"); resp.StatusCode != 403 {
		t.Fatalf("another origin: %d", resp.StatusCode)
	}
	if e.st.referrals[refID].ReviewOutcome != "" || len(e.sfn.outputs) != 0 {
		t.Fatal("a refused POST changed something")
	}
}

func TestQueuesListTheFourQueues(t *testing.T) {
	e := newEnv(t)
	e.st.Put(rewards.Reward{ID: otherID + "#won#referrer", ReferralID: otherID, ProgramID: "p", Milestone: "won", Party: "referrer",
		Kind: "cash", AmountMinor: 250000, Currency: "USD", Status: rewards.StatusPending, NeedsApproval: true, UpdatedAt: t0})
	e.signIn()
	resp := e.do("GET", "/console", nil)
	for _, want := range []string{"Waiting for review <span class=\"count\">(2)", "Country not in the ideal customer profile",
		"Rewards waiting for approval <span class=\"count\">(1)", "2500.00 USD", "Referrals needing attention <span class=\"count\">(1)",
		"Rewards.Timeout", "/console/referrals/" + thirdID + "/resume", "No payout failed."} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("queues page lacks %q", want)
		}
	}
	if resp.Headers["content-security-policy"] != CSP || resp.Headers["cache-control"] != "no-store" {
		t.Errorf("headers %v", resp.Headers)
	}
}

func TestReviewDecisionsAreAppliedResumedAndAudited(t *testing.T) {
	e := newEnv(t)
	e.signIn()
	approve := e.post("/console/referrals/"+refID+"/review", url.Values{"decision": {"approve"}, "reason": {"fits the ICP"}, "back": {"/console"}})
	reject := e.post("/console/referrals/"+otherID+"/review", url.Values{"decision": {"reject"}, "reason": {"a competitor"}})
	if approve.Headers["location"] != "/console?done=approved" || reject.Headers["location"] != "/console/referrals/"+otherID+"?done=rejected" {
		t.Fatalf("answers %d %v, %d %v", approve.StatusCode, approve.Headers, reject.StatusCode, reject.Headers)
	}
	if e.st.referrals[refID].Status != referral.StatusInProgress || e.st.referrals[otherID].Status != referral.StatusRejected {
		t.Fatalf("statuses %s %s", e.st.referrals[refID].Status, e.st.referrals[otherID].Status)
	}
	if !strings.Contains(e.sfn.outputs["tok-"+refID], `"approved"`) || !strings.Contains(e.sfn.outputs["tok-"+otherID], `"rejected"`) {
		t.Fatalf("executions resumed with %v", e.sfn.outputs)
	}
	want := []string{"sign-in ok ", "review.approve ok referral," + refID, "review.reject ok referral," + otherID}
	if got := e.sessions.actions(); !slices.Equal(got, want) {
		t.Fatalf("audit %q, want %q", got, want)
	}
	for _, ev := range e.st.AllEvents() {
		if strings.Contains(ev.Actor, "@") || !strings.HasPrefix(ev.Actor, "console:") {
			t.Fatalf("event actor %q: want console:<operator id>, no email", ev.Actor)
		}
	}
	again := e.post("/console/referrals/"+refID+"/review", url.Values{"decision": {"reject"}, "reason": {"changed my mind"}})
	if again.StatusCode != 409 || e.st.referrals[refID].Status != referral.StatusInProgress {
		t.Fatalf("a second decision answered %d", again.StatusCode)
	}
	if got := e.sessions.actions(); !strings.HasPrefix(got[len(got)-1], "review.reject refused") {
		t.Fatalf("the refused decision is not audited: %q", got)
	}
}

func TestReviewNeedsADecisionAndAReason(t *testing.T) {
	e := newEnv(t)
	e.signIn()
	for _, form := range []url.Values{{"decision": {"approve"}}, {"reason": {"why"}}, {"decision": {"maybe"}, "reason": {"why"}}} {
		if resp := e.post("/console/referrals/"+refID+"/review", form); resp.StatusCode != 400 {
			t.Fatalf("%v answered %d", form, resp.StatusCode)
		}
	}
	if e.st.referrals[refID].ReviewOutcome != "" {
		t.Fatal("a bad decision was recorded")
	}
}

func TestRewardApprovalAndDeclineAreAudited(t *testing.T) {
	e := newEnv(t)
	base := rewards.Reward{ProgramID: "p", Party: "referrer", Kind: "cash", AmountMinor: 250000, Currency: "USD",
		Status: rewards.StatusPending, NeedsApproval: true, UpdatedAt: t0}
	a, d := base, base
	a.ID, a.ReferralID, a.Milestone = refID+"#won#referrer", refID, "won"
	d.ID, d.ReferralID, d.Milestone = otherID+"#won#referrer", otherID, "won"
	e.st.Put(a, d)
	e.st.referrals[refID].Milestones["won"] = t0
	e.signIn()
	if resp := e.post("/console/rewards/"+refID+"/won/referrer/approve", url.Values{"back": {"/console"}}); resp.Headers["location"] != "/console?done=reward-approved" {
		t.Fatalf("approve: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	if resp := e.post("/console/rewards/"+otherID+"/won/referrer/decline", url.Values{}); resp.StatusCode != 400 {
		t.Fatalf("a decline without a reason answered %d", resp.StatusCode)
	}
	if resp := e.post("/console/rewards/"+otherID+"/won/referrer/decline", url.Values{"reason": {"duplicate deal"}}); resp.StatusCode != 303 {
		t.Fatalf("decline: %d %s", resp.StatusCode, resp.Body)
	}
	if got, _ := e.st.Get(refID, "won", "referrer"); got.Status != rewards.StatusPaid {
		t.Fatalf("approved reward is %s", got.Status)
	}
	if got, _ := e.st.Get(otherID, "won", "referrer"); got.Status != rewards.StatusVoided {
		t.Fatalf("declined reward is %s", got.Status)
	}
	want := []string{"sign-in ok ", "reward.approve ok referral," + refID + ",reward," + a.ID, "reward.decline ok referral," + otherID + ",reward," + d.ID}
	if got := e.sessions.actions(); !slices.Equal(got, want) {
		t.Fatalf("audit %q, want %q", got, want)
	}
}

func TestResumeIsAudited(t *testing.T) {
	e := newEnv(t)
	e.signIn()
	if resp := e.post("/console/referrals/"+thirdID+"/resume", url.Values{}); resp.StatusCode != 303 {
		t.Fatalf("resume: %d", resp.StatusCode)
	}
	if len(e.resumer.resumed) != 1 || !strings.HasPrefix(e.resumer.resumed[0], thirdID+" by console:") {
		t.Fatalf("resumed %v", e.resumer.resumed)
	}
	if got := e.sessions.actions(); got[len(got)-1] != "referral.resume resumed referral,"+thirdID {
		t.Fatalf("audit %q", got)
	}
}

func TestReferralPageShowsTimelineRewardsAndExecutionLink(t *testing.T) {
	e := newEnv(t)
	e.signIn()
	e.post("/console/referrals/"+refID+"/review", url.Values{"decision": {"approve"}, "reason": {"fits"}})
	resp := e.do("GET", "/console/referrals/"+refID, nil)
	for _, want := range []string{"Globex 0", "version 1", "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:rf-referral:" + refID,
		"Timeline", "console:", "qualified", "No reward yet."} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("referral page lacks %q", want)
		}
	}
	if resp := e.do("GET", "/console/referrals/ref_01JB0000000000000000000009", nil); resp.StatusCode != 404 {
		t.Errorf("unknown referral: %d", resp.StatusCode)
	}
	if strings.Contains(resp.Body, "<dt>Experiment</dt>") {
		t.Error("a referral of no experiment shows one")
	}
	e.st.referrals[refID].Experiment, e.st.referrals[refID].Variant = "double-2026", "B"
	if resp := e.do("GET", "/console/referrals/"+refID, nil); !strings.Contains(resp.Body, "<dt>Experiment</dt><dd>double-2026: variant B") {
		t.Error("the referral page does not show the referral's experiment and variant")
	}
}

func TestSearch(t *testing.T) {
	tests := []struct {
		query  string
		status int
		want   []string
		not    []string
	}{
		{"status=in_review", 200, []string{refID, otherID}, []string{thirdID}},
		{"status=needs_attention", 200, []string{thirdID}, []string{refID}},
		{"email=jane1@globex.example", 200, []string{otherID}, []string{refID}},
		{"partner=ACME&program=p&status=needs_attention", 200, []string{thirdID}, []string{refID}},
		{"partner=ACME", 400, []string{"enter the program too"}, []string{refID}},
		{"status=in_review&from=2026-13-01", 400, []string{"YYYY-MM-DD"}, []string{refID}},
		{"status=in_review&from=2026-11-20&to=2026-11-20", 200, []string{refID, otherID}, nil},
		{"status=in_review&to=2026-11-19", 200, []string{"No referral matches."}, []string{refID}},
		{"", 200, []string{"exact email or the partner"}, []string{refID}},
	}
	e := newEnv(t)
	e.signIn()
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			resp := e.do("GET", "/console/referrals?"+tt.query, nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(resp.Body, w) {
					t.Errorf("lacks %q", w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(resp.Body, "/console/referrals/"+n) {
					t.Errorf("lists %q", n)
				}
			}
		})
	}
}

func TestAuditPageListsNewestFirst(t *testing.T) {
	e := newEnv(t)
	e.signIn()
	e.post("/console/referrals/"+refID+"/review", url.Values{"decision": {"approve"}, "reason": {"fits the ICP"}})
	resp := e.do("GET", "/console/audit", nil)
	i, j := strings.Index(resp.Body, "review.approve"), strings.Index(resp.Body, "sign-in")
	if resp.StatusCode != 200 || i < 0 || j < 0 || i > j || !strings.Contains(resp.Body, opEmail) || !strings.Contains(resp.Body, "fits the ICP") {
		t.Fatalf("audit page %d: %s", resp.StatusCode, resp.Body)
	}
}

func TestSignOutEndsTheSession(t *testing.T) {
	e := newEnv(t)
	e.signIn()
	cookie := e.cookies[SessionCookie]
	if resp := e.post("/console/sign-out", url.Values{}); resp.StatusCode != 303 {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	e.cookies[SessionCookie] = cookie
	if resp := e.do("GET", "/console", nil); resp.StatusCode != 303 {
		t.Fatalf("the old cookie still works: %d", resp.StatusCode)
	}
}

func TestUnknownPageIs404AndAssetsAreServed(t *testing.T) {
	e := newEnv(t)
	e.signIn()
	if resp := e.do("GET", "/console/nope", nil); resp.StatusCode != 404 {
		t.Fatalf("unknown page: %d", resp.StatusCode)
	}
	resp := e.do("GET", StylesPath, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Headers["content-type"], "text/css") {
		t.Fatalf("styles: %d %v", resp.StatusCode, resp.Headers)
	}
}

func TestParseOperators(t *testing.T) {
	got, err := ParseOperators(" Ops@Example.com, ,b@example.org ")
	if err != nil || !slices.Equal(got, []string{"ops@example.com", "b@example.org"}) {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := ParseOperators("ops@example.com,nope"); err == nil {
		t.Fatal("an invalid email was taken")
	}
}
