package console

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/recovery"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/rewards/rewardstest"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/internal/workflow"
)

const (
	opEmail  = "ops@example.com"
	refID    = "ref_01JB0000000000000000000000"
	otherID  = "ref_01JB0000000000000000000001"
	thirdID  = "ref_01JB0000000000000000000002"
	host     = "console.example"
	origin   = "https://" + host
	sourceIP = "203.0.113.9"
)

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// fakeSessions keeps tokens, sessions, rate-limit counts and the audit
// log in memory with the store's rules: tokens and sessions expire, a
// token is used once.
type fakeSessions struct {
	mu       sync.Mutex
	tokens   map[string]store.SignInToken
	sessions map[string]store.Session
	hits     map[string]int
	audit    []store.AuditEntry
}

func newFakeSessions() *fakeSessions {
	return &fakeSessions{tokens: map[string]store.SignInToken{}, sessions: map[string]store.Session{}, hits: map[string]int{}}
}

func (f *fakeSessions) PutSignInToken(_ context.Context, t store.SignInToken) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens[t.Hash] = t
	return nil
}

func (f *fakeSessions) SignInTokenAt(_ context.Context, hash string, now time.Time) (*store.SignInToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tokens[hash]
	if !ok || !t.ExpiresAt.After(now) {
		return nil, store.ErrNotFound
	}
	return &t, nil
}

func (f *fakeSessions) UseSignInToken(ctx context.Context, hash string, now time.Time) (*store.SignInToken, error) {
	t, err := f.SignInTokenAt(ctx, hash, now)
	f.mu.Lock()
	delete(f.tokens, hash)
	f.mu.Unlock()
	return t, err
}

func (f *fakeSessions) CreateSession(_ context.Context, s store.Session) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[s.Hash] = s
	return nil
}

func (f *fakeSessions) SessionAt(_ context.Context, hash string, now time.Time) (*store.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[hash]
	if !ok || !s.ExpiresAt.After(now) {
		return nil, store.ErrNotFound
	}
	return &s, nil
}

func (f *fakeSessions) DeleteSession(_ context.Context, hash string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sessions, hash)
	return nil
}

func (f *fakeSessions) Hit(_ context.Context, scope string, kind privacy.Kind, value string, _ time.Duration, _ time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := scope + "#" + string(kind) + "#" + value
	f.hits[k]++
	return f.hits[k], nil
}

func (f *fakeSessions) PutAudit(_ context.Context, e store.AuditEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.audit = append(f.audit, e)
	return nil
}

func (f *fakeSessions) Audit(_ context.Context, _ time.Time, limit, _ int) ([]store.AuditEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.audit)
	slices.Reverse(out)
	return out[:min(limit, len(out))], nil
}

func (f *fakeSessions) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.audit {
		out = append(out, e.Action+" "+e.Outcome+" "+strings.Join(e.Targets, ","))
	}
	return out
}

// fakeStore keeps referrals in memory with the store's conditional review
// and transition rules; rewards and events live in the in-memory rewards
// repository the handler's rewards service shares.
type fakeStore struct {
	*rewardstest.Repo
	mu        sync.Mutex
	referrals map[string]*referral.Referral
	callbacks map[string]workflow.Callbacks
}

func newFakeStore() *fakeStore {
	f := &fakeStore{Repo: rewardstest.New(), referrals: map[string]*referral.Referral{}, callbacks: map[string]workflow.Callbacks{}}
	for i, id := range []string{refID, otherID} {
		f.referrals[id] = &referral.Referral{ID: id, ProgramID: "p", ProgramVersion: 1, Status: referral.StatusInReview,
			ReferrerCode: "ACME", RefereeEmail: fmt.Sprintf("jane%d@globex.example", i), RefereeCompany: fmt.Sprintf("Globex %d", i),
			Reasons:    []referral.Reason{{Code: "icp_mismatch", Message: "Country not in the ideal customer profile"}},
			Milestones: map[string]time.Time{}, CreatedAt: t0.Add(-time.Duration(i+1) * time.Hour)}
		f.callbacks[id] = workflow.Callbacks{ReviewToken: "tok-" + id}
	}
	f.referrals[thirdID] = &referral.Referral{ID: thirdID, ProgramID: "p", ProgramVersion: 1, Status: referral.StatusNeedsAttention,
		ReferrerCode: "ACME", RefereeCompany: "Initech", Milestones: map[string]time.Time{}, CreatedAt: t0.Add(-48 * time.Hour),
		Attention: &referral.Attention{From: referral.StatusInProgress, Error: "Rewards.Timeout", Cause: "the rail did not answer", At: t0.Add(-time.Hour)}}
	return f
}

func (f *fakeStore) Referral(_ context.Context, id string) (*referral.Referral, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.referrals[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	cp := *r
	return &cp, nil
}

func (f *fakeStore) Tracked(ctx context.Context, id string) (*recovery.Tracked, error) {
	r, err := f.Referral(ctx, id)
	if err != nil {
		return nil, err
	}
	return &recovery.Tracked{Referral: r}, nil
}

func (f *fakeStore) ReferralsByID(ctx context.Context, ids []string) (map[string]*referral.Referral, error) {
	out := map[string]*referral.Referral{}
	for _, id := range ids {
		if r, err := f.Referral(ctx, id); err == nil {
			out[id] = r
		}
	}
	return out, nil
}

// ReferralsByStatus answers as the status index does: newest first.
func (f *fakeStore) ReferralsByStatus(_ context.Context, status string, from, to time.Time, limit int, _ string) (store.StatusPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var rs []*referral.Referral
	for _, r := range f.referrals {
		if string(r.Status) == status && (from.IsZero() || !r.CreatedAt.Before(from)) && (to.IsZero() || r.CreatedAt.Before(to)) {
			rs = append(rs, r)
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].CreatedAt.After(rs[j].CreatedAt) })
	var page store.StatusPage
	for _, r := range rs[:min(limit, len(rs))] {
		page.IDs = append(page.IDs, r.ID)
	}
	return page, nil
}

func (f *fakeStore) ReferralsByPartner(_ context.Context, programID, key string, _ int, _ string) (store.ReferralPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var page store.ReferralPage
	for id, r := range f.referrals {
		if r.ProgramID == programID && r.ReferrerCode == key {
			page.IDs = append(page.IDs, id)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(page.IDs)))
	return page, nil
}

func (f *fakeStore) ReferralsByEmail(_ context.Context, email string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id, r := range f.referrals {
		if r.RefereeEmail == email {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (f *fakeStore) ProgramVersion(context.Context, string, int) (*program.Program, error) {
	return &program.Program{ID: "p", Milestones: []program.Milestone{{Name: "qualified"}, {Name: "won"}}}, nil
}

func (f *fakeStore) Reward(_ context.Context, id, milestone, party string) (*rewards.Reward, error) {
	rw, ok := f.Get(id, milestone, party)
	if !ok {
		return nil, store.ErrNotFound
	}
	return &rw, nil
}

func (f *fakeStore) LedgerEntries(_ context.Context, rewardID string) ([]rewards.Entry, error) {
	var out []rewards.Entry
	for _, e := range f.Entries() {
		if e.RewardID == rewardID {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeStore) Events(_ context.Context, id string) ([]events.Event, error) {
	var out []events.Event
	for _, ev := range f.AllEvents() {
		if ev.ReferralID == id {
			out = append(out, ev)
		}
	}
	return out, nil
}

// AwaitingApproval lists pending rewards needing approval.
func (f *fakeStore) AwaitingApproval(_ context.Context, limit int) ([]rewards.Due, error) {
	var out []rewards.Due
	for _, rw := range f.All() {
		if rw.Status == rewards.StatusPending && rw.NeedsApproval && len(out) < limit {
			out = append(out, rewards.Due{RewardID: rw.ID, ReferralID: rw.ReferralID, ProgramID: rw.ProgramID, Milestone: rw.Milestone, Party: rw.Party, At: rw.UpdatedAt})
		}
	}
	return out, nil
}

func (f *fakeStore) RecordReview(_ context.Context, id, outcome, note string, _ time.Time) (*workflow.Waiting, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.referrals[id]
	if !ok {
		return nil, false, store.ErrNotFound
	}
	if r.Status != referral.StatusInReview || r.ReviewOutcome != "" {
		cp := *r
		return &workflow.Waiting{Referral: &cp, Callbacks: f.callbacks[id]}, false, nil
	}
	r.ReviewOutcome, r.ReviewNote = outcome, note
	cp := *r
	return &workflow.Waiting{Referral: &cp, Callbacks: f.callbacks[id]}, true, nil
}

func (f *fakeStore) Transition(ctx context.Context, id string, to referral.Status, _ time.Time, _ map[string]any, ev events.Event) error {
	f.mu.Lock()
	r := f.referrals[id]
	if !slices.Contains(referral.From(to), r.Status) {
		f.mu.Unlock()
		return store.ErrConflict
	}
	r.Status = to
	f.mu.Unlock()
	return f.Record(ctx, ev)
}

// fakeSFN records the review decisions sent to waiting executions.
type fakeSFN struct {
	mu      sync.Mutex
	outputs map[string]string
}

func (s *fakeSFN) StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	return &sfn.StartExecutionOutput{}, nil
}

func (s *fakeSFN) SendTaskSuccess(_ context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, done := s.outputs[*in.TaskToken]; done {
		return nil, &sfntypes.InvalidToken{}
	}
	s.outputs[*in.TaskToken] = *in.Output
	return &sfn.SendTaskSuccessOutput{}, nil
}

func (s *fakeSFN) SendTaskFailure(context.Context, *sfn.SendTaskFailureInput, ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	return &sfn.SendTaskFailureOutput{}, nil
}

// fakeResumer records resumes.
type fakeResumer struct {
	st      *fakeStore
	resumed []string
}

func (r *fakeResumer) Resume(ctx context.Context, id, actor string) (recovery.Result, error) {
	ref, err := r.st.Referral(ctx, id)
	if err != nil {
		return recovery.Result{}, err
	}
	if ref.Status.Terminal() {
		return recovery.Result{ReferralID: id, Status: ref.Status}, recovery.ErrNotResumable
	}
	r.resumed = append(r.resumed, id+" by "+actor)
	return recovery.Result{ReferralID: id, Status: ref.Attention.From, Action: "resumed"}, nil
}

// outbox records the emails sent.
type outbox struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (o *outbox) Send(_ context.Context, m mail.Message) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, m)
	return fmt.Sprint("msg-", len(o.sent)), nil
}

// env is a console with fakes and a browser-like client with cookies.
type env struct {
	t        *testing.T
	h        *Handler
	sessions *fakeSessions
	st       *fakeStore
	sfn      *fakeSFN
	resumer  *fakeResumer
	mail     *outbox
	clock    *clock
	cookies  map[string]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	hasher, err := privacy.NewHasher("test-secret-0123456789abcdef0123456789")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, sessions: newFakeSessions(), st: newFakeStore(), sfn: &fakeSFN{outputs: map[string]string{}},
		mail: &outbox{}, clock: &clock{t: t0}, cookies: map[string]string{}}
	e.resumer = &fakeResumer{st: e.st}
	e.h = &Handler{Sessions: e.sessions, Store: e.st, Rewards: &rewards.Service{Repo: e.st.Repo, Now: e.clock.Now},
		Resumer: e.resumer, SFN: e.sfn, Mail: e.mail, Keys: privacy.Fixed(hasher), Operators: []string{opEmail},
		From: "referflow@example.com", Region: "eu-west-1",
		StateMachineARN: "arn:aws:states:eu-west-1:123456789012:stateMachine:rf-referral",
		Now:             e.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return e
}

// do sends a request like a browser on the console's origin would, with
// the cookies it holds, and keeps the cookies the answer sets.
func (e *env) do(method, path string, form url.Values, headers ...string) apigw.Response {
	e.t.Helper()
	p, q, _ := strings.Cut(path, "?")
	req := lambdaevents.APIGatewayV2HTTPRequest{RawPath: p, RawQueryString: q, Headers: map[string]string{"host": host}}
	req.RequestContext.HTTP.Method, req.RequestContext.HTTP.SourceIP = method, sourceIP
	if qs, err := url.ParseQuery(q); err == nil && len(qs) > 0 {
		req.QueryStringParameters = map[string]string{}
		for k := range qs {
			req.QueryStringParameters[k] = qs.Get(k)
		}
	}
	if form != nil {
		req.Body = form.Encode()
		req.Headers["content-type"] = "application/x-www-form-urlencoded"
		req.Headers["origin"] = origin
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Headers[headers[i]] = headers[i+1]
	}
	for k, v := range e.cookies {
		req.Cookies = append(req.Cookies, k+"="+v)
	}
	resp, err := e.h.Handle(context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range resp.Cookies {
		kv, _, _ := strings.Cut(c, ";")
		k, v, _ := strings.Cut(kv, "=")
		if v == "" || strings.Contains(c, "Max-Age=0") {
			delete(e.cookies, k)
		} else {
			e.cookies[k] = v
		}
	}
	return resp
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the first CSRF token of a page.
func (e *env) csrf(body string) string {
	e.t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("no CSRF token in the page: %s", body)
	}
	return m[1]
}

var linkRe = regexp.MustCompile(`/console/sign-in/[A-Za-z0-9_-]+`)

// signIn signs the operator in through the emailed link.
func (e *env) signIn() {
	e.t.Helper()
	page := e.do("GET", "/console/sign-in", nil)
	e.do("POST", "/console/sign-in", url.Values{"csrf": {e.csrf(page.Body)}, "email": {opEmail}})
	if len(e.mail.sent) == 0 {
		e.t.Fatal("no sign-in email sent")
	}
	link := linkRe.FindString(e.mail.sent[len(e.mail.sent)-1].Text)
	confirm := e.do("GET", link, nil)
	resp := e.do("POST", link, url.Values{"csrf": {e.csrf(confirm.Body)}})
	if resp.StatusCode != 303 || resp.Headers["location"] != "/console" {
		e.t.Fatalf("sign-in confirm answered %d %v: %s", resp.StatusCode, resp.Headers, resp.Body)
	}
}

// post sends a signed-in form with the session's CSRF token.
func (e *env) post(path string, form url.Values) apigw.Response {
	e.t.Helper()
	home := e.do("GET", "/console", nil)
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", e.csrf(home.Body))
	return e.do("POST", path, form)
}
