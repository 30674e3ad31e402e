package console

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

// eraser erases as the store does: the referrals with the email lose it.
type eraser struct {
	st    *fakeStore
	calls []string
}

func (x *eraser) ErasePerson(_ context.Context, email, actor string, _ time.Time) (int, error) {
	x.st.mu.Lock()
	defer x.st.mu.Unlock()
	n := 0
	for _, r := range x.st.referrals {
		if r.RefereeEmail == email {
			r.RefereeEmail, r.RefereeName, r.RefereeCompany = "", "", ""
			n++
		}
	}
	x.calls = append(x.calls, actor)
	return n, nil
}

func TestOperatorErasesAPersonAfterSeeingWhatMatches(t *testing.T) {
	e := newEnv(t)
	x := &eraser{st: e.st}
	e.h.People = x
	e.signIn()
	const email = "jane1@globex.example"

	if search := e.do("GET", "/console/referrals", nil); !strings.Contains(search.Body, `href="/console/erase"`) {
		t.Fatal("the referrals page does not lead to the erasure")
	}
	form := e.do("GET", "/console/erase", nil)
	if form.StatusCode != 200 || !strings.Contains(form.Body, `label for="er-email"`) {
		t.Fatalf("form: %d", form.StatusCode)
	}
	check := e.post("/console/erase", url.Values{"action": {"check"}, "email": {" Jane1@Globex.example "}})
	if check.StatusCode != 200 || !strings.Contains(check.Body, "<strong>1 referral(s)</strong>") || !strings.Contains(check.Body, `name="reason"`) || len(x.calls) != 0 {
		t.Fatalf("check: %d, %d erasures:\n%s", check.StatusCode, len(x.calls), check.Body)
	}
	if resp := e.post("/console/erase", url.Values{"action": {"erase"}, "email": {email}}); resp.StatusCode != 200 || len(x.calls) != 0 ||
		!strings.Contains(resp.Body, "Write why") {
		t.Fatalf("an erasure without a reason: %d, %d erasures", resp.StatusCode, len(x.calls))
	}
	resp := e.post("/console/erase", url.Values{"action": {"erase"}, "email": {email}, "reason": {"asked by the person, ticket 4411"}})
	if resp.StatusCode != 303 || resp.Headers["location"] != "/console/erase?erased=1" {
		t.Fatalf("erase: %d %v", resp.StatusCode, resp.Headers)
	}
	if len(x.calls) != 1 || !strings.HasPrefix(x.calls[0], "console:") || e.st.referrals[otherID].RefereeEmail != "" {
		t.Fatalf("erased by %q; referral email %q", x.calls, e.st.referrals[otherID].RefereeEmail)
	}
	last := e.sessions.audit[len(e.sessions.audit)-1]
	if last.Action != "person.erase" || last.Outcome != "erased 1 referral(s)" || last.Note != "asked by the person, ticket 4411" ||
		len(last.Targets) != 2 || last.Targets[0] != "person" || len(last.Targets[1]) != 16 {
		t.Fatalf("audit %+v", last)
	}
	for _, a := range e.sessions.audit {
		if strings.Contains(strings.Join(a.Targets, " ")+a.Note+a.Outcome, "jane1") {
			t.Fatalf("the audit log names the person: %+v", a)
		}
	}
	if done := e.do("GET", "/console/erase?erased=1", nil); !strings.Contains(done.Body, "erased from 1 referral(s)") {
		t.Fatalf("the page does not say what was erased")
	}
}

func TestEraseRefusesWhatIsNotAnEmailAndForeignPosts(t *testing.T) {
	e := newEnv(t)
	x := &eraser{st: e.st}
	e.h.People = x
	e.signIn()
	if resp := e.post("/console/erase", url.Values{"action": {"erase"}, "email": {"jane1"}, "reason": {"why"}}); resp.StatusCode != 400 {
		t.Fatalf("not an email: %d", resp.StatusCode)
	}
	if resp := e.post("/console/erase", url.Values{"action": {"drop"}, "email": {"jane1@globex.example"}}); resp.StatusCode != 400 {
		t.Fatalf("unknown action: %d", resp.StatusCode)
	}
	if resp := e.do("POST", "/console/erase", url.Values{"action": {"erase"}, "email": {"jane1@globex.example"}, "reason": {"why"}}); resp.StatusCode != 403 {
		t.Fatalf("without CSRF: %d", resp.StatusCode)
	}
	if len(x.calls) != 0 {
		t.Fatal("a refused erasure erased")
	}
	nobody := e.post("/console/erase", url.Values{"action": {"check"}, "email": {"nobody@nowhere.example"}})
	if !strings.Contains(nobody.Body, "nothing to erase") || strings.Contains(nobody.Body, `value="erase"`) {
		t.Fatalf("no match offers an erasure:\n%s", nobody.Body)
	}
}
