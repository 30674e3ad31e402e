package portal_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// refer stores a referral of partner key/code, as intake would, and
// remembers its id under name (w.ids).
func (w *world) refer(name, code, company, email string, at time.Time) string {
	w.t.Helper()
	id, err := referral.NewID(at, rand.Reader)
	if err != nil {
		w.t.Fatal(err)
	}
	w.ids[name] = id
	r := &referral.Referral{ID: id, ProgramID: "p1", ProgramVersion: w.prog.Version, Status: referral.StatusInProgress,
		ReferrerCode: code, RefereeEmail: email, RefereeCompany: company, RefereeDomain: referral.EmailDomain(email),
		StatusTokenHash: referral.HashToken(id), CreatedAt: at, UpdatedAt: at}
	if err := w.st.CreateReferral(context.Background(), store.NewReferral{Referral: r, PartnerKey: code, CountsMilestone: "won",
		Event: events.New(events.ReferralReceived, id, "test", at)}); err != nil {
		w.t.Fatal(err)
	}
	return id
}

// reward stores a referrer reward of a referral in a status.
func (w *world) reward(referralID, code, milestone string, minor int64, status rewards.Status) {
	w.t.Helper()
	rw := rewards.Reward{ID: rewards.RewardID(referralID, milestone, program.PartyReferrer), ReferralID: referralID, ProgramID: "p1",
		Milestone: milestone, Party: program.PartyReferrer, ReferrerCode: code, Kind: program.KindCash, AmountMinor: minor,
		Currency: "USD", Status: status, CreatedAt: t0, UpdatedAt: t0, IdempotencyKey: rewards.IdempotencyKey(referralID)}
	if _, err := w.st.CreateRewards(context.Background(), referralID, milestone, []rewards.Reward{rw}, nil, nil); err != nil {
		w.t.Fatal(err)
	}
}

func TestPartnerSeesOnlyTheirOwnReferrals(t *testing.T) {
	w := newWorld(t)
	ann1 := w.refer("ann1", "ANN42", "Acme Robotics", "jane@acme.example", t0.Add(-2*time.Hour))
	w.refer("ann2", "ANN42", "Globex <Labs>", "hank@globex.example", t0.Add(-time.Hour))
	bob1 := w.refer("bob1", "BOB77", "Initech", "peter@initech.example", t0.Add(-time.Hour))
	ann := w.browser()
	ann.signIn(annEmail)
	home := ann.get("/portal")
	mustStatus(t, home, 200)
	if !strings.Contains(home.body, "Acme Robotics") || !strings.Contains(home.body, "Globex &lt;Labs&gt;") {
		t.Fatalf("her referrals are missing:\n%s", home.body)
	}
	if strings.Index(home.body, "Globex") > strings.Index(home.body, "Acme Robotics") {
		t.Fatal("referrals are not newest first")
	}
	if strings.Contains(home.body, "Initech") || strings.Contains(home.body, bob1) {
		t.Fatal("another partner's referral shows")
	}
	// The page shows the company only: no referee email or name.
	if strings.Contains(home.body, "jane@acme.example") {
		t.Fatal("the referee's email is on the list")
	}
	mine := ann.get("/portal/referrals/" + ann1)
	mustStatus(t, mine, 200)
	if !strings.Contains(mine.body, "jane@acme.example") || !strings.Contains(mine.body, "Qualified: waiting") {
		t.Fatalf("her referral's page:\n%s", mine.body)
	}
	theirs := ann.get("/portal/referrals/" + bob1)
	unknown := ann.get("/portal/referrals/ref_00000000000000000000000000")
	mustStatus(t, theirs, 404)
	mustStatus(t, unknown, 404)
	if theirs.body != unknown.body || strings.Contains(theirs.body, "Initech") {
		t.Fatal("another partner's referral is told apart from an unknown one")
	}
	// Signed out, a referral's page sends to sign-in.
	if r := w.browser().get("/portal/referrals/" + ann1); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("signed out: %d", r.StatusCode)
	}
}

func TestPartnerPageShowsLinkClicksMilestonesRewardsAndBalance(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := w.refer("a", "ANN42", "Acme", "jane@acme.example", t0.Add(-48*time.Hour))
	b := w.refer("b", "ANN42", "Globex", "hank@globex.example", t0.Add(-24*time.Hour))
	if _, err := w.st.RecordDeal(ctx, a, referral.DealUpdate{Milestones: []string{"qualified"}, ReachedAt: t0.Add(-time.Hour)}, t0); err != nil {
		t.Fatal(err)
	}
	w.reward(a, "ANN42", "qualified", 10000, rewards.StatusOnHold)
	w.reward(b, "ANN42", "qualified", 2550, rewards.StatusApproved)
	for i, day := range []time.Duration{0, 0, 24, 10 * 24, 40 * 24} { // the last is older than 30 days
		if _, err := w.st.RecordClick(ctx, "p1", "ANN42", fmt.Sprint("visitor", i), t0.Add(-day*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	ann := w.browser()
	ann.signIn(annEmail)
	home := ann.get("/portal").body
	for _, want := range []string{
		`value="https://portal.test/r/ANN42" readonly`, // the link, selectable without JavaScript
		`<label for="link">`, `data-copy="link" hidden`,
		`<svg class="qr"`, `aria-label="QR code of your referral link"`,
		"<strong>4</strong> clicks in the last 30 days",
		"Qualified: reached 22 November 2026", "Won: waiting",
		"Qualified (Cash): 100.00 USD, On hold",
		"<dt>Earned, to be paid</dt><dd>25.50 USD</dd>", "<dt>On hold</dt><dd>100.00 USD</dd>", "<dt>Paid</dt><dd>0.00 USD</dd>",
	} {
		if !strings.Contains(home, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(home)
	}
}

func TestPortalReferralGoesThroughIntake(t *testing.T) {
	w := newWorld(t)
	ann := w.browser()
	ann.signIn(annEmail)
	form := url.Values{"referee_company": {"Acme Robotics"}, "referee_email": {"Jane@Acme.example"}, "referee_name": {"Jane"}}
	resp := ann.post("/portal", "/portal/referrals", form)
	mustStatus(t, resp, http.StatusSeeOther)
	loc := resp.Headers["location"]
	if !strings.HasPrefix(loc, "/portal/referrals/ref_") || len(w.started) != 1 {
		t.Fatalf("after submitting: %q, started %v", loc, w.started)
	}
	page := ann.get(loc)
	mustStatus(t, page, 200)
	if !strings.Contains(page.body, "Thank you: your referral of Acme Robotics was received") {
		t.Fatalf("no confirmation:\n%s", page.body)
	}
	r, err := w.st.Referral(context.Background(), w.started[0])
	if err != nil || r.ReferrerCode != "ANN42" || r.RefereeEmail != "jane@acme.example" || r.ProgramID != "p1" {
		t.Fatalf("stored %+v, %v", r, err)
	}
	if ids, _ := w.st.ReferralsByPartner(context.Background(), "p1", "ANN42", 10, ""); len(ids.IDs) != 1 {
		t.Fatal("not filed under the partner")
	}
	// Bad input: the page again with each field's problem, nothing stored.
	bad := ann.post("/portal", "/portal/referrals", url.Values{"referee_company": {""}, "referee_email": {"nope"}, "referee_name": {"Kim <b>"}})
	mustStatus(t, bad, 400)
	for _, want := range []string{"Some fields need your attention", `id="referee_email-error">is not an email address`,
		`id="referee_company-error">is required`, `value="Kim &lt;b&gt;"`} {
		if !strings.Contains(bad.body, want) {
			t.Errorf("the refused form lacks %q", want)
		}
	}
	// The same company again is a duplicate.
	dup := ann.post("/portal", "/portal/referrals", url.Values{"referee_company": {"Acme"}, "referee_email": {"bob@acme.example"}})
	mustStatus(t, dup, 409)
	if !strings.Contains(dup.body, "already been referred") {
		t.Fatalf("duplicate:\n%s", dup.body)
	}
	if len(w.started) != 1 {
		t.Fatalf("%d referrals started", len(w.started))
	}
}

func TestJoinFollowsTheProgramsPolicy(t *testing.T) {
	cases := []struct {
		join   string
		status referral.ReferrerStatus
		says   string
		mails  int
	}{
		{program.JoinOpen, referral.ReferrerActive, "a link to sign in is on its way", 1},
		{program.JoinApproval, referral.ReferrerPending, "Our team reviews each request", 0},
	}
	for _, c := range cases {
		t.Run(c.join, func(t *testing.T) {
			w := newWorld(t, func(p *program.Program) { p.Partners.Join = c.join })
			b := w.browser()
			resp := b.post("/portal/join?program=p1", "/portal/join", url.Values{"program": {"p1"}, "name": {"Cat"}, "email": {"cat@new.example"}})
			mustStatus(t, resp, 200)
			if !strings.Contains(resp.body, c.says) || len(w.mail.to("cat@new.example")) != c.mails {
				t.Fatalf("joined page (%d emails):\n%s", len(w.mail.sent), resp.body)
			}
			refs, _ := w.st.PartnersByEmail(context.Background(), "cat@new.example")
			if len(refs) != 1 {
				t.Fatal("no partner stored")
			}
			p, _ := w.st.Partner(context.Background(), "p1", refs[0].Code)
			if p.State() != c.status || p.Name != "Cat" {
				t.Fatalf("joined as %+v", p)
			}
			// An existing partner's email gets the same page and adds nothing.
			again := b.post("/portal/join?program=p1", "/portal/join", url.Values{"program": {"p1"}, "name": {"Ann"}, "email": {annEmail}})
			if normalize(again.body, annEmail) != normalize(resp.body, "cat@new.example") {
				t.Fatalf("an existing email is told apart:\n%s", again.body)
			}
		})
	}
	// Bad input: 400 with the problems, nothing written.
	w := newWorld(t)
	b := w.browser()
	bad := b.post("/portal/join?program=p1", "/portal/join", url.Values{"program": {"p1"}, "name": {""}, "email": {"x"}})
	mustStatus(t, bad, 400)
	if !strings.Contains(bad.body, `id="name-error">is required`) || !strings.Contains(bad.body, `id="email-error">is not an email address`) {
		t.Fatalf("bad join:\n%s", bad.body)
	}
	if list, _, _ := w.st.PartnersOf(context.Background(), "p1", 10, ""); len(list) != 2 {
		t.Fatal("bad input wrote a partner")
	}
	// Invitation only: no form, and a post takes nobody.
	w = newWorld(t, func(p *program.Program) { p.Partners.Join = program.JoinInvitation })
	b = w.browser()
	page := b.get("/portal/join?program=p1")
	mustStatus(t, page, 200)
	if !strings.Contains(page.body, "by invitation only") || strings.Contains(page.body, `name="email"`) {
		t.Fatalf("invitation-only join page:\n%s", page.body)
	}
	tok := csrfOf(t, b.get("/portal/sign-in")) // a valid form token, from another form
	mustStatus(t, b.do(http.MethodPost, "/portal/join", url.Values{"csrf": {tok}, "program": {"p1"}, "name": {"Eve"}, "email": {"eve@x.example"}}), 403)
	if refs, _ := w.st.PartnersByEmail(context.Background(), "eve@x.example"); len(refs) != 0 {
		t.Fatal("an invitation-only program took a partner")
	}
	mustStatus(t, b.get("/portal/join?program=nope"), 404)
}

func TestLeaderboardShowsNamesOrNumbersNeverEmails(t *testing.T) {
	for _, mode := range []string{program.LeaderboardNames, program.LeaderboardAnonymous, program.LeaderboardOff} {
		t.Run(mode, func(t *testing.T) {
			w := newWorld(t, func(p *program.Program) { p.Partners.Leaderboard = mode })
			ctx := context.Background()
			ids := []string{
				w.refer("b1", "BOB77", "B1", "x@b1.example", t0.Add(-time.Hour)),
				w.refer("b2", "BOB77", "B2", "x@b2.example", t0.Add(-time.Hour)),
				w.refer("a1", "ANN42", "A1", "x@a1.example", t0.Add(-time.Hour)),
			}
			for _, id := range ids {
				if _, err := w.st.RecordDeal(ctx, id, referral.DealUpdate{Milestones: []string{"won"}, ReachedAt: t0}, t0); err != nil {
					t.Fatal(err)
				}
			}
			ann := w.browser()
			ann.signIn(annEmail)
			home := ann.get("/portal").body
			if mode == program.LeaderboardOff {
				if strings.Contains(home, "Leaderboard") {
					t.Fatal("the leaderboard shows while off")
				}
				return
			}
			board := home[strings.Index(home, "Leaderboard, November 2026"):]
			first := map[string]string{program.LeaderboardNames: "<td>1</td><td>Bob&#39;s Agency</td><td>2</td>", program.LeaderboardAnonymous: "<td>1</td><td>Partner #1</td><td>2</td>"}[mode]
			if !strings.Contains(board, first) || !strings.Contains(board, `<tr class="you" aria-current="true"><td>2</td><td>Partner #2 (you)</td><td>1</td></tr>`) {
				t.Fatalf("%s leaderboard:\n%s", mode, board)
			}
			if strings.Contains(board, bobEmail) || strings.Contains(board, "BOB77") {
				t.Fatal("the leaderboard shows another partner's email or code")
			}
		})
	}
}

func TestProfileSetsTheLeaderboardName(t *testing.T) {
	w := newWorld(t)
	ann := w.browser()
	ann.signIn(annEmail)
	resp := ann.post("/portal/profile", "/portal/profile", url.Values{"display_name": {"  Ann's   Agency "}})
	mustStatus(t, resp, http.StatusSeeOther)
	page := ann.get(resp.Headers["location"])
	if !strings.Contains(page.body, "Your profile is saved") || !strings.Contains(page.body, `value="Ann&#39;s Agency"`) {
		t.Fatalf("profile:\n%s", page.body)
	}
	long := ann.post("/portal/profile", "/portal/profile", url.Values{"display_name": {strings.Repeat("x", 61)}})
	mustStatus(t, long, 400)
	p, _ := w.st.Partner(context.Background(), "p1", "ANN42")
	if p.DisplayName != "Ann's Agency" {
		t.Fatalf("display name %q", p.DisplayName)
	}
}

func TestPreferencesSignedInAndByEmailLink(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ann := w.browser()
	ann.signIn(annEmail)
	page := ann.get("/portal/preferences")
	mustStatus(t, page, 200)
	if !strings.Contains(page.body, `value="monthly_summary" checked`) || strings.Contains(page.body, `value="sign_in"`) {
		t.Fatalf("preferences:\n%s", page.body)
	}
	saved := ann.post("/portal/preferences", "/portal/preferences", url.Values{"on": {"reward_paid", "referral_received"}})
	mustStatus(t, saved, 200)
	off, _ := w.st.MailOff(ctx, "p1", "c:ANN42")
	if strings.Contains(strings.Join(off, ","), "reward_paid") || !strings.Contains(strings.Join(off, ","), "monthly_summary") {
		t.Fatalf("off = %v", off)
	}
	// From an email's link, without a session.
	tok, err := notify.PreferenceToken(linkSecret, notify.Subscriber{ProgramID: "p1", Code: "BOB77"}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	visitor := w.browser()
	link := "/portal/preferences?token=" + url.QueryEscape(tok)
	page = visitor.get(link)
	mustStatus(t, page, 200)
	if !regexp.MustCompile(`name="token" value="[^"]+"`).MatchString(page.body) {
		t.Fatalf("no token in the form:\n%s", page.body)
	}
	form := url.Values{"token": {tok}, "on": {"reward_paid"}}
	mustStatus(t, visitor.post(link, "/portal/preferences", form), 200)
	if off, _ := w.st.MailOff(ctx, "p1", "c:BOB77"); len(off) == 0 || strings.Contains(strings.Join(off, ","), "reward_paid") {
		t.Fatalf("bob's off = %v", off)
	}
	// A forged or expired link shows nothing and saves nothing.
	mustStatus(t, visitor.get("/portal/preferences?token=forged.token"), 404)
	w.now = t0.Add(2 * time.Hour)
	mustStatus(t, visitor.get(link), 404)
	// Signed out and without a token: sign in first.
	if r := w.browser().get("/portal/preferences"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("signed out: %d", r.StatusCode)
	}
}
