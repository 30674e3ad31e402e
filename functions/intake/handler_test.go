package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/activity"
	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/intake"
	"github.com/referflow/referflow/internal/intake/intaketest"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

type fakeStore = intaketest.Store

func newFakeStore() *fakeStore {
	st := intaketest.New()
	st.Programs["partners"] = &program.Program{ID: "partners", Version: 4, ThankYouURL: "https://www.example.com/thanks"}
	st.Programs["other"] = &program.Program{ID: "other", Version: 1}
	st.AddPartner(referral.Referrer{ProgramID: "partners", Code: "ann-42", Email: "ann@referrer.io"})
	st.AddPartner(referral.Referrer{ProgramID: "other", Code: "ann-42", Email: "ann@referrer.io"})
	return st
}

type starter struct {
	calls []string
	err   error
}

func (s *starter) start(_ context.Context, id string) error {
	s.calls = append(s.calls, id)
	return s.err
}

type fixedReader byte

func (f fixedReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(f)
	}
	return len(p), nil
}

var now = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func newHandler() (*Handler, *fakeStore, *starter) {
	st, s := newFakeStore(), &starter{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := &intake.Service{Store: st, Start: s.start, DefaultProgram: "partners", Now: func() time.Time { return now },
		Random: fixedReader(7), Log: log, StartAttempts: 3, Retention: 90 * 24 * time.Hour}
	return &Handler{Intake: svc, Log: log, Random: fixedReader(7)}, st, s
}

func wantID(t *testing.T) string {
	t.Helper()
	id, err := referral.NewID(now, fixedReader(7))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func jsonReq(body string, headers ...string) apigw.Request {
	h := map[string]string{"content-type": "application/json"}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = headers[i+1]
	}
	return apigw.Request{Body: body, Headers: h}
}

func formReq(body string, headers ...string) apigw.Request {
	r := jsonReq(body, headers...)
	r.Headers["content-type"] = "application/x-www-form-urlencoded"
	return r
}

const goodJSON = `{"referrer_code":"ann-42","referee_email":" Bob@ACME.io ","referee_name":" Bob ","referee_company":"Acme","referee_phone":"+1 555","message":"hi","referee_country":"de","industry":"SaaS","company_size":250}`

func call(t *testing.T, h *Handler, req apigw.Request) apigw.Response {
	t.Helper()
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle returned an error (Lambda would answer 502): %v", err)
	}
	return resp
}

func errorOf(t *testing.T, resp apigw.Response) apigw.ErrorDetail {
	t.Helper()
	var b apigw.ErrorBody
	if err := json.Unmarshal([]byte(resp.Body), &b); err != nil {
		t.Fatalf("error body %q: %v", resp.Body, err)
	}
	return b.Error
}

func accepted(t *testing.T, resp apigw.Response) Accepted {
	t.Helper()
	if resp.StatusCode != 202 {
		t.Fatalf("status %d, body %s", resp.StatusCode, resp.Body)
	}
	var a Accepted
	dec := json.NewDecoder(strings.NewReader(resp.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("202 body %q: %v", resp.Body, err)
	}
	return a
}

func tokenOf(t *testing.T, a Accepted) string {
	t.Helper()
	u, err := url.Parse(a.StatusURL)
	if err != nil || u.Path != "/referrals/"+a.ReferralID {
		t.Fatalf("status_url %q", a.StatusURL)
	}
	tok := u.Query().Get("token")
	if tok == "" {
		t.Fatalf("status_url %q has no token", a.StatusURL)
	}
	return tok
}

func TestAcceptJSONAndForm(t *testing.T) {
	form := url.Values{"referrer_code": {"ann-42"}, "referee_email": {" Bob@ACME.io "}, "referee_name": {" Bob "},
		"referee_company": {"Acme"}, "referee_phone": {"+1 555"}, "message": {"hi"}, "referee_country": {"de"},
		"industry": {"SaaS"}, "company_size": {"250"}, "unknown": {"dropped"}}.Encode()
	for name, req := range map[string]apigw.Request{
		"json":              jsonReq(goodJSON),
		"json charset":      jsonReq(goodJSON, "content-type", "application/json; charset=utf-8"),
		"form":              formReq(form),
		"base64 form":       {Body: base64.StdEncoding.EncodeToString([]byte(form)), IsBase64Encoded: true, Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
		"form wanting json": formReq(form, "accept", "application/json"),
	} {
		t.Run(name, func(t *testing.T) {
			h, st, s := newHandler()
			resp := call(t, h, req)
			a := accepted(t, resp)
			id := wantID(t)
			if a.ReferralID != id || a.Status != "received" {
				t.Fatalf("202 body %+v, want id %s", a, id)
			}
			if resp.Headers["content-type"] != "application/json" {
				t.Fatalf("headers %v", resp.Headers)
			}
			tok := tokenOf(t, a)
			if len(st.Created) != 1 {
				t.Fatalf("%d referrals written", len(st.Created))
			}
			nr := st.Created[0]
			r := nr.Referral
			want := referral.Referral{
				ID: id, ProgramID: "partners", ProgramVersion: 4, Status: referral.StatusReceived,
				ReferrerCode: "ann-42", RefereeEmail: "bob@acme.io", RefereeName: "Bob", RefereeCompany: "Acme",
				RefereeDomain: "acme.io", RefereePhone: "+1 555", Message: "hi", Country: "DE", Industry: "SaaS",
				Employees: 250, StatusTokenHash: referral.HashToken(tok), Milestones: map[string]time.Time{},
				CreatedAt: now, UpdatedAt: now,
			}
			if !reflect.DeepEqual(*r, want) {
				t.Fatalf("stored referral\n got %+v\nwant %+v", *r, want)
			}
			// The token itself is nowhere in what was stored.
			stored, _ := json.Marshal(nr)
			if strings.Contains(string(stored), tok) {
				t.Fatal("the status token is stored in clear")
			}
			if nr.Idempotency != nil {
				t.Fatal("idempotency record without a key")
			}
			if nr.Retention != 90*24*time.Hour {
				t.Fatalf("retention %v: the referral does not record the deployment's retention", nr.Retention)
			}
			// The received event carries ids only (invariant 5).
			if ev, _ := json.Marshal(nr.Event); strings.Contains(string(ev), "acme") || strings.Contains(string(ev), "Bob") {
				t.Fatalf("the received event holds personal data: %s", ev)
			}
			if ev := nr.Event; ev.Type != events.ReferralReceived || ev.Actor != events.ActorIntake || !ev.At.Equal(now) || ev.ProgramVersion != 4 ||
				ev.ReferralID != nr.Referral.ID || !strings.Contains(activity.Describe(ev).Detail, "version 4") {
				t.Fatalf("event %+v", nr.Event)
			}
			if !reflect.DeepEqual(s.calls, []string{id}) {
				t.Fatalf("Start calls %v", s.calls)
			}
		})
	}
}

func TestProgramFromBody(t *testing.T) {
	h, st, _ := newHandler()
	accepted(t, call(t, h, jsonReq(`{"program":" OTHER ","referrer_code":"ann-42","referee_email":"bob@acme.io","referee_company":"Acme"}`)))
	if r := st.Created[0].Referral; r.ProgramID != "other" || r.ProgramVersion != 1 {
		t.Fatalf("program %s v%d", r.ProgramID, r.ProgramVersion)
	}
}

func TestInvalidFields(t *testing.T) {
	cases := []struct {
		name   string
		req    apigw.Request
		fields map[string]string
	}{
		{"empty object", jsonReq(`{}`), map[string]string{"referrer_code": "is required", "referee_email": "is required", "referee_company": "is required"}},
		{"bad email and size", jsonReq(`{"referrer_code":"ann-42","referee_email":"bob","referee_company":"Acme","company_size":0}`),
			map[string]string{"referee_email": "is not an email address", "company_size": "must be a whole number of employees"}},
		{"nested value only", jsonReq(`{"referrer_code":"ann-42","referee_email":"bob@acme.io","referee_company":"Acme","message":{"x":1}}`),
			map[string]string{"message": "must be a string"}},
		{"nested value and a missing field", jsonReq(`{"referrer_code":"ann-42","referee_email":"bob@acme.io","message":["x"]}`),
			map[string]string{"message": "must be a string", "referee_company": "is required"}},
		{"form missing company", formReq("referrer_code=ann-42&referee_email=bob%40acme.io&referee_domain=not_a_domain"),
			map[string]string{"referee_company": "is required", "referee_domain": "is not a domain name"}},
		{"bad program id", jsonReq(`{"program":"no such!","referrer_code":"ann-42","referee_email":"bob@acme.io","referee_company":"Acme"}`),
			map[string]string{"program": "is not a program id"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, st, s := newHandler()
			resp := call(t, h, c.req)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d body %s", resp.StatusCode, resp.Body)
			}
			e := errorOf(t, resp)
			if e.Code != "invalid_request" || !reflect.DeepEqual(e.Fields, c.fields) {
				t.Fatalf("error %+v, want fields %v", e, c.fields)
			}
			if len(st.Created) != 0 || len(s.calls) != 0 {
				t.Fatal("an invalid referral was written or started")
			}
		})
	}
}

func TestRejectedBodies(t *testing.T) {
	big := `{"referrer_code":"ann-42","referee_email":"bob@acme.io","referee_company":"Acme","message":"` + strings.Repeat("x", MaxBody) + `"}`
	cases := []struct {
		name   string
		req    apigw.Request
		status int
		code   string
	}{
		{"text/plain", apigw.Request{Body: "hi", Headers: map[string]string{"content-type": "text/plain"}}, 415, "unsupported_media_type"},
		{"no content type", apigw.Request{Body: goodJSON}, 415, "unsupported_media_type"},
		{"multipart", apigw.Request{Body: goodJSON, Headers: map[string]string{"content-type": "multipart/form-data; boundary=x"}}, 415, "unsupported_media_type"},
		{"too large", jsonReq(big), 413, "body_too_large"},
		{"too large base64", apigw.Request{Body: base64.StdEncoding.EncodeToString([]byte(big)), IsBase64Encoded: true, Headers: map[string]string{"content-type": "application/json"}}, 413, "body_too_large"},
		{"bad base64", apigw.Request{Body: "%%%", IsBase64Encoded: true, Headers: map[string]string{"content-type": "application/json"}}, 400, "invalid_request"},
		{"json array", jsonReq(`[1]`), 400, "invalid_request"},
		{"json null", jsonReq(`null`), 400, "invalid_request"},
		{"broken json", jsonReq(`{"referrer_code":`), 400, "invalid_request"},
		{"long idempotency key", jsonReq(goodJSON, "idempotency-key", strings.Repeat("k", 256)), 400, "invalid_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, st, s := newHandler()
			resp := call(t, h, c.req)
			if resp.StatusCode != c.status || errorOf(t, resp).Code != c.code {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, resp.Body, c.status, c.code)
			}
			if len(st.Created) != 0 || len(s.calls) != 0 {
				t.Fatal("something was written or started")
			}
		})
	}
	// Exactly at the limit is fine.
	h, _, _ := newHandler()
	base := `{"referrer_code":"ann-42","referee_email":"bob@acme.io","referee_company":"Acme","industry":""}`
	pad := strings.Repeat(" ", MaxBody-len(base))
	if resp := call(t, h, jsonReq(base+pad)); resp.StatusCode != 202 {
		t.Fatalf("a body of exactly MaxBody bytes: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestHoneypot(t *testing.T) {
	for name, req := range map[string]apigw.Request{
		"json _gotcha":     jsonReq(`{"referrer_code":"ann-42","referee_email":"bob@acme.io","referee_company":"Acme","_gotcha":"http://spam"}`),
		"form _gotcha":     formReq("referrer_code=ann-42&referee_email=bob%40acme.io&referee_company=Acme&_gotcha=x"),
		"form bot-field":   formReq("referrer_code=ann-42&referee_email=bob%40acme.io&referee_company=Acme&bot-field=x"),
		"json bot-field":   jsonReq(`{"referrer_code":"ann-42","referee_email":"bob@acme.io","referee_company":"Acme","bot-field":"x"}`),
		"invalid and bot":  formReq("_gotcha=x"),
		"unknown referrer": jsonReq(`{"referrer_code":"nobody","referee_email":"bob@acme.io","referee_company":"Acme","_gotcha":"x"}`),
	} {
		t.Run(name, func(t *testing.T) {
			h, st, s := newHandler()
			a := accepted(t, call(t, h, req))
			if !referral.ValidID(a.ReferralID) || a.Status != "received" {
				t.Fatalf("honeypot answer %+v", a)
			}
			tokenOf(t, a)
			if len(st.Created) != 0 || len(s.calls) != 0 {
				t.Fatal("a bot's referral was stored or started")
			}
		})
	}
	// An empty honeypot is a person.
	h, st, _ := newHandler()
	accepted(t, call(t, h, formReq("referrer_code=ann-42&referee_email=bob%40acme.io&referee_company=Acme&_gotcha=&bot-field=")))
	if len(st.Created) != 1 {
		t.Fatal("an empty honeypot was treated as a bot")
	}
}

func TestUnknownReferrerAndProgram(t *testing.T) {
	cases := []struct {
		name, body, code string
		fields           map[string]string
	}{
		{"unknown referrer", `{"referrer_code":"nobody","referee_email":"bob@acme.io","referee_company":"Acme"}`, "unknown_referrer", map[string]string{"referrer_code": "is not a known referral code"}},
		{"unknown program", `{"program":"nope","referrer_code":"ann-42","referee_email":"bob@acme.io","referee_company":"Acme"}`, "unknown_program", map[string]string{"program": "is not a known program"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, st, s := newHandler()
			resp := call(t, h, jsonReq(c.body))
			e := errorOf(t, resp)
			if resp.StatusCode != 400 || e.Code != c.code || !reflect.DeepEqual(e.Fields, c.fields) {
				t.Fatalf("got %d %+v", resp.StatusCode, e)
			}
			if len(st.Created) != 0 || len(s.calls) != 0 {
				t.Fatal("written or started")
			}
		})
	}
	// No default program configured and none given.
	h, _, _ := newHandler()
	h.Intake.DefaultProgram = ""
	resp := call(t, h, jsonReq(`{"referrer_code":"ann-42","referee_email":"bob@acme.io","referee_company":"Acme"}`))
	if resp.StatusCode != 400 || errorOf(t, resp).Code != "unknown_program" {
		t.Fatalf("no program: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestDuplicateReferral(t *testing.T) {
	h, st, s := newHandler()
	accepted(t, call(t, h, jsonReq(goodJSON)))
	// Same company domain, another person, another referrer.
	st.AddPartner(referral.Referrer{ProgramID: "partners", Code: "zed"})
	resp := call(t, h, jsonReq(`{"referrer_code":"zed","referee_email":"carol@acme.io","referee_company":"Acme"}`))
	e := errorOf(t, resp)
	if resp.StatusCode != 409 || e.Code != "duplicate_referral" || e.Fields != nil {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
	}
	if strings.Contains(resp.Body, "ann") || strings.Contains(strings.ToLower(resp.Body), "referrer") {
		t.Fatalf("the 409 says something about who referred: %s", resp.Body)
	}
	if len(st.Created) != 1 || len(s.calls) != 1 {
		t.Fatalf("%d written, %d started", len(st.Created), len(s.calls))
	}
}

func TestIdempotencyKey(t *testing.T) {
	h, st, s := newHandler()
	first := call(t, h, jsonReq(goodJSON, "Idempotency-Key", "k-1"))
	a := accepted(t, first)
	if st.Created[0].Idempotency == nil || st.Created[0].Idempotency.Status != 202 || st.Created[0].Idempotency.Body != first.Body ||
		!st.Created[0].Idempotency.ExpiresAt.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("idempotency record %+v", st.Created[0].Idempotency)
	}
	// Same key, same body: the first answer again, nothing new.
	h.Intake.Random = fixedReader(9)
	again := call(t, h, jsonReq(goodJSON, "idempotency-key", "k-1"))
	if again.StatusCode != 202 || again.Body != first.Body || again.Headers["idempotent-replayed"] != "true" || again.Headers["content-type"] != "application/json" {
		t.Fatalf("replay %d %v %s", again.StatusCode, again.Headers, again.Body)
	}
	if accepted(t, again).ReferralID != a.ReferralID {
		t.Fatal("replay names another referral")
	}
	// Same key, another body: 422.
	other := call(t, h, jsonReq(strings.Replace(goodJSON, "Acme", "Acme2", 1), "idempotency-key", "k-1"))
	if other.StatusCode != 422 || errorOf(t, other).Code != "idempotency_key_reused" {
		t.Fatalf("reuse: %d %s", other.StatusCode, other.Body)
	}
	if len(st.Created) != 1 || len(s.calls) != 1 {
		t.Fatalf("%d written, %d started", len(st.Created), len(s.calls))
	}
}

func TestIdempotencyReplayOfRedirect(t *testing.T) {
	h, st, _ := newHandler()
	body := "referrer_code=ann-42&referee_email=bob%40acme.io&referee_company=Acme"
	first := call(t, h, formReq(body, "accept", "text/html", "idempotency-key", "k"))
	if first.StatusCode != 303 {
		t.Fatalf("first %d", first.StatusCode)
	}
	again := call(t, h, formReq(body, "accept", "text/html", "idempotency-key", "k"))
	if again.StatusCode != 303 || again.Headers["location"] != "https://www.example.com/thanks" || again.Body != "" || again.Headers["idempotent-replayed"] != "true" {
		t.Fatalf("replay %+v", again)
	}
	if len(st.Created) != 1 {
		t.Fatal("written twice")
	}
}

func TestIdempotencyConcurrentWinner(t *testing.T) {
	// Another request with the same key stored first, between our lookup
	// and our write: we answer what it answered.
	h, st, s := newHandler()
	st.CreateErr = nil
	winner := `{"referral_id":"ref_X","status":"received","status_url":"/referrals/ref_X?token=t"}`
	hash := ""
	{
		// Compute the hash the handler uses by doing a first call on a copy.
		h2, st2, _ := newHandler()
		call(t, h2, jsonReq(goodJSON, "idempotency-key", "k"))
		hash = st2.Created[0].Idempotency.RequestHash
	}
	racing := &racingStore{Store: st, rec: &apigw.IdempotencyRecord{Key: "k", RequestHash: hash, Status: 202, Body: winner, ExpiresAt: now.Add(time.Hour)}}
	h.Intake.Store = racing
	resp := call(t, h, jsonReq(goodJSON, "idempotency-key", "k"))
	if resp.StatusCode != 202 || resp.Body != winner {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
	}
	if len(st.Created) != 0 || len(s.calls) != 0 {
		t.Fatal("the loser wrote or started")
	}
}

// racingStore lets the first Idempotency lookup miss, then stores rec as
// if a concurrent request had won.
type racingStore struct {
	*intaketest.Store
	rec     *apigw.IdempotencyRecord
	lookups int
}

func (r *racingStore) Idempotency(ctx context.Context, key string, now time.Time) (*apigw.IdempotencyRecord, error) {
	r.lookups++
	if r.lookups == 1 {
		r.Store.Idem[key] = r.rec
		return nil, store.ErrNotFound
	}
	return r.Store.Idempotency(ctx, key, now)
}

func TestStartFailsEveryAttempt(t *testing.T) {
	h, st, s := newHandler()
	s.err = errors.New("sfn unavailable")
	a := accepted(t, call(t, h, jsonReq(goodJSON)))
	if len(st.Created) != 1 || st.Created[0].Referral.ID != a.ReferralID {
		t.Fatal("the referral must be stored")
	}
	if len(s.calls) != 3 {
		t.Fatalf("%d start attempts, want 3", len(s.calls))
	}
	for _, id := range s.calls {
		if id != a.ReferralID {
			t.Fatalf("started %s", id)
		}
	}
}

func TestStartRetriesThenSucceeds(t *testing.T) {
	h, _, s := newHandler()
	n := 0
	h.Intake.Start = func(ctx context.Context, id string) error {
		s.calls = append(s.calls, id)
		n++
		if n < 2 {
			return errors.New("throttled")
		}
		return nil
	}
	accepted(t, call(t, h, jsonReq(goodJSON)))
	if len(s.calls) != 2 {
		t.Fatalf("%d attempts", len(s.calls))
	}
}

func TestThankYouRedirect(t *testing.T) {
	body := "referrer_code=ann-42&referee_email=bob%40acme.io&referee_company=Acme"
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	cases := []struct {
		name     string
		req      apigw.Request
		thankYou string
		status   int
	}{
		{"browser form", formReq(body, "accept", browser), "https://www.example.com/thanks", 303},
		{"form wanting json", formReq(body, "accept", "application/json"), "https://www.example.com/thanks", 202},
		{"form without accept", formReq(body), "https://www.example.com/thanks", 202},
		{"json from a browser", jsonReq(`{"referrer_code":"ann-42","referee_email":"bob@acme.io","referee_company":"Acme"}`, "accept", browser), "https://www.example.com/thanks", 202},
		{"no thank-you url", formReq(body, "accept", browser), "", 202},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, st, s := newHandler()
			st.Programs["partners"].ThankYouURL = c.thankYou
			resp := call(t, h, c.req)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d %s", resp.StatusCode, resp.Body)
			}
			if c.status == 303 && (resp.Headers["location"] != c.thankYou || resp.Body != "") {
				t.Fatalf("redirect %+v", resp)
			}
			if len(st.Created) != 1 || len(s.calls) != 1 {
				t.Fatal("not stored and started")
			}
		})
	}
}

func TestRefereeDomain(t *testing.T) {
	cases := []struct{ email, domain, want string }{
		{"bob@gmail.com", "", ""},
		{"bob@GMAIL.com", "", ""},
		{"bob@mailinator.com", "", ""},
		{"bob@eu.acme.io", "", "eu.acme.io"},
		{"bob@gmail.com", "https://www.acme.io/", "acme.io"},
	}
	for _, c := range cases {
		h, st, _ := newHandler()
		body, _ := json.Marshal(map[string]string{"referrer_code": "ann-42", "referee_email": c.email, "referee_company": "Acme", "referee_domain": c.domain})
		accepted(t, call(t, h, jsonReq(string(body))))
		if got := st.Created[0].Referral.RefereeDomain; got != c.want {
			t.Errorf("%s / %q: domain %q, want %q", c.email, c.domain, got, c.want)
		}
	}
}

func TestStoreFailuresAre503(t *testing.T) {
	boom := errors.New("dynamodb: throttled")
	cases := map[string]func(st *fakeStore){
		"program read":           func(st *fakeStore) { st.ReadErr = boom },
		"create":                 func(st *fakeStore) { st.CreateErr = boom },
		"idempotency lookup":     func(st *fakeStore) { st.IdemErr = boom },
		"conflict without a key": func(st *fakeStore) { st.CreateErr = store.ErrConflict },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			h, st, s := newHandler()
			mod(st)
			resp := call(t, h, jsonReq(goodJSON, "idempotency-key", "k"))
			if name == "conflict without a key" {
				resp = call(t, h, jsonReq(goodJSON))
			}
			if resp.StatusCode != 503 || errorOf(t, resp).Code != "temporarily_unavailable" || resp.Headers["retry-after"] == "" {
				t.Fatalf("got %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
			}
			if len(s.calls) != 0 {
				t.Fatal("started without a stored referral")
			}
		})
	}
}

// A bot posting the HTML form as a browser gets the same 303 a person gets:
// a different answer would tell it the honeypot was seen.
func TestHoneypotLooksLikeAPersonToABrowser(t *testing.T) {
	h, st, s := newHandler()
	req := formReq("referrer_code=ann-42&referee_email=bob%40acme.io&referee_company=Acme&_gotcha=x",
		"accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	resp := call(t, h, req)
	if resp.StatusCode != 303 || resp.Headers["location"] != "https://www.example.com/thanks" {
		t.Fatalf("honeypot browser post = %d %v, want the thank-you redirect", resp.StatusCode, resp.Headers)
	}
	if len(st.Created) != 0 || len(s.calls) != 0 {
		t.Fatal("a bot's referral was stored or started")
	}
}

// The gateway's CORS lists every program's sites; each program accepts
// browser posts only from its own (calls without an Origin, from servers,
// are not browsers and pass).
func TestProgramSiteOrigins(t *testing.T) {
	body := `{"referrer_code":"ann-42","referee_email":"bob@acme.io","referee_company":"Acme"}`
	cases := []struct {
		name, origin string
		status       int
	}{
		{"listed site", "https://www.example.com", 202},
		{"listed site, other case", "HTTPS://WWW.EXAMPLE.COM", 202},
		{"another program's site", "https://partner-portal.example", 403},
		{"no origin (server to server)", "", 202},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, st, _ := newHandler()
			st.Programs["partners"].SiteOrigins = []string{"https://www.example.com"}
			req := jsonReq(body)
			if c.origin != "" {
				req.Headers["origin"] = c.origin
			}
			resp := call(t, h, req)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, resp.Body, c.status)
			}
			if c.status == 403 {
				if e := errorOf(t, resp); e.Code != "origin_not_allowed" {
					t.Fatalf("code %q", e.Code)
				}
				if len(st.Created) != 0 {
					t.Fatal("a refused post was stored")
				}
			}
		})
	}
	// A program without site_origins accepts any origin the gateway let through.
	h, _, _ := newHandler()
	req := jsonReq(body)
	req.Headers["origin"] = "https://anywhere.example"
	if resp := call(t, h, req); resp.StatusCode != 202 {
		t.Fatalf("no site_origins: %d %s", resp.StatusCode, resp.Body)
	}
}

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

// Failing to read the referrer, or to draw the referral's id, is a 503 with
// nothing stored or started.
func TestReferrerAndIDFailuresAre503(t *testing.T) {
	cases := map[string]func(h *Handler, st *fakeStore){
		"referrer read": func(h *Handler, st *fakeStore) { st.PartnerErr = errors.New("dynamodb: throttled") },
		"referral id":   func(h *Handler, _ *fakeStore) { h.Intake.Random = errReader{} },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			h, st, s := newHandler()
			mod(h, st)
			resp := call(t, h, jsonReq(goodJSON))
			if resp.StatusCode != 503 || errorOf(t, resp).Code != "temporarily_unavailable" {
				t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
			}
			if len(st.Created) != 0 || len(s.calls) != 0 {
				t.Fatal("a referral was stored or started")
			}
		})
	}
}
