package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// memStore is the handler's Store in memory, with the table's semantics
// for claims (claimed once, a lease, released, finished).
type memStore struct {
	mu        sync.Mutex
	referrals map[string]*referral.Referral
	partners  map[string]store.Partner // program/code
	programs  map[string]*program.Program
	off       map[string][]string
	claims    map[string]string // key|recipient -> status
	finished  map[string]string // key|recipient -> detail
	activity  map[string]*store.MailActivity
	months    map[string][]string
	rewards   map[string]*rewards.Reward
}

func newMemStore() *memStore {
	return &memStore{
		referrals: map[string]*referral.Referral{}, partners: map[string]store.Partner{},
		programs: map[string]*program.Program{}, off: map[string][]string{}, claims: map[string]string{},
		finished: map[string]string{}, activity: map[string]*store.MailActivity{}, months: map[string][]string{},
		rewards: map[string]*rewards.Reward{},
	}
}

var _ Store = (*memStore)(nil)

func notFound(what string) error { return fmt.Errorf("mem: %s: %w", what, store.ErrNotFound) }

func (m *memStore) Referral(_ context.Context, id string) (*referral.Referral, error) {
	if r, ok := m.referrals[id]; ok {
		cp := *r
		return &cp, nil
	}
	return nil, notFound(id)
}

func (m *memStore) CurrentPartner(_ context.Context, programID, code string) (*store.Partner, error) {
	for _, p := range m.partners {
		if p.ProgramID == programID && (p.Code == code || slices.Contains(p.PreviousCodes, code)) {
			return &p, nil
		}
	}
	return nil, notFound(code)
}

func (m *memStore) ProgramVersion(_ context.Context, id string, v int) (*program.Program, error) {
	if p, ok := m.programs[fmt.Sprintf("%s/%d", id, v)]; ok {
		return p, nil
	}
	return nil, notFound(id)
}

func (m *memStore) CurrentProgram(_ context.Context, id string) (*program.Program, error) {
	if p, ok := m.programs[id+"/current"]; ok {
		return p, nil
	}
	return nil, notFound(id)
}

func (m *memStore) MailOff(_ context.Context, programID, subscriber string) ([]string, error) {
	return m.off[programID+"/"+subscriber], nil
}

func claimKey(key, recipient string) string {
	return key + "|" + privacy.Normalize(privacy.Email, recipient)
}

func (m *memStore) ClaimMail(_ context.Context, key, recipient, _ string, _ time.Time) (store.MailClaim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.claims[claimKey(key, recipient)] {
	case "":
		m.claims[claimKey(key, recipient)] = store.MailSending
		return store.MailClaimed, nil
	case store.MailSending:
		return store.MailInFlight, nil
	}
	return store.MailDone, nil
}

func (m *memStore) FinishMail(_ context.Context, key, recipient, status, detail string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.claims[claimKey(key, recipient)] = status
	m.finished[claimKey(key, recipient)] = detail
	return nil
}

func (m *memStore) ReleaseMail(_ context.Context, key, recipient string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.claims[claimKey(key, recipient)] == store.MailSending {
		delete(m.claims, claimKey(key, recipient))
	}
	return nil
}

func (m *memStore) RecordMailActivity(_ context.Context, programID, code, month string, f store.ActivityField, value string, _ time.Time) error {
	k := programID + "/" + code + "/" + month
	a := m.activity[k]
	if a == nil {
		a = &store.MailActivity{}
		m.activity[k] = a
	}
	set := map[store.ActivityField]*[]string{store.ActivityReferrals: &a.Referrals, store.ActivityRewards: &a.Rewards, store.ActivityPaid: &a.Paid}[f]
	if !slices.Contains(*set, value) {
		*set = append(*set, value)
	}
	if !slices.Contains(m.months[month], programID) {
		m.months[month] = append(m.months[month], programID)
	}
	return nil
}

func (m *memStore) MailActivityOf(_ context.Context, programID, code, month string) (*store.MailActivity, error) {
	return m.activity[programID+"/"+code+"/"+month], nil
}

func (m *memStore) MailPrograms(_ context.Context, month string) ([]string, error) {
	return m.months[month], nil
}

// PartnersOf pages one partner at a time, to exercise the paging.
func (m *memStore) PartnersOf(_ context.Context, programID string, _ int, cursor string) ([]store.Partner, string, error) {
	var codes []string
	for _, p := range m.partners {
		if p.ProgramID == programID {
			codes = append(codes, p.Code)
		}
	}
	sort.Strings(codes)
	for i, c := range codes {
		if c > cursor {
			next := ""
			if i < len(codes)-1 {
				next = c
			}
			return []store.Partner{m.partners[programID+"/"+c]}, next, nil
		}
	}
	return nil, "", nil
}

func (m *memStore) Reward(_ context.Context, referralID, milestone, party string) (*rewards.Reward, error) {
	if r, ok := m.rewards[referralID+"|"+milestone+"|"+party]; ok {
		return r, nil
	}
	return nil, notFound("reward")
}

// statuses returns a copy of every claim's status by claimKey.
func (m *memStore) statuses() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.claims)
}

// memSender records messages; fail, when set, decides each send's error.
type memSender struct {
	mu   sync.Mutex
	sent []mail.Message
	fail func(m mail.Message) error
	n    int
}

func (s *memSender) Send(_ context.Context, m mail.Message) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		if err := s.fail(m); err != nil {
			return "", err
		}
	}
	if err := m.Validate(); err != nil {
		return "", err
	}
	s.n++
	s.sent = append(s.sent, m)
	return fmt.Sprintf("msg-%d", s.n), nil
}

// to lists "kind>recipient" of what was sent, in order.
func (s *memSender) to() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.sent {
		out = append(out, m.Tags["kind"]+">"+strings.Join(m.To, ","))
	}
	return out
}

const (
	linkSecret   = "link-secret-for-notify-tests-0123"
	hashSecret   = "key-hash-secret-for-notify-tests"
	partnerEmail = "ann@partner.example"
	refereeEmail = "jane@acme-robotics.example"
)

var (
	now0     = time.Date(2026, 2, 14, 10, 0, 0, 0, time.UTC)
	errSES   = errors.New("mail: send: operation error SESv2: SendEmail, https response error StatusCode: 503")
	hasher   = func() *privacy.Hasher { h, _ := privacy.NewHasher(hashSecret); return h }()
	noSecret = errors.New("settings: not configured")
)

// fixture is a handler over a memStore with one program (version 3, one
// operator), one partner and one referral of theirs.
type fixture struct {
	h      *Handler
	st     *memStore
	sender *memSender
	logs   *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := newMemStore()
	p := &program.Program{
		ID: "b2b", Version: 3, Name: "Acme Partners", Currency: "USD",
		Milestones: []program.Milestone{{Name: "won"}},
		Emails:     program.EmailSettings{From: "partners@acme.example", Operators: []string{"ops@acme.example"}},
	}
	st.programs["b2b/3"], st.programs["b2b/current"] = p, p
	st.partners["b2b/ANN42"] = store.Partner{Key: "ANN1", PreviousCodes: []string{"ANN1"},
		Referrer: referral.Referrer{ProgramID: "b2b", Code: "ANN42", Email: partnerEmail, Name: "Ann Partner"}}
	st.referrals["ref_01"] = &referral.Referral{ID: "ref_01", ProgramID: "b2b", ProgramVersion: 3, ReferrerCode: "ANN1",
		Status: referral.StatusReceived, RefereeEmail: refereeEmail, RefereeName: "Jane Doe", RefereeCompany: "Acme Robotics",
		CreatedAt: now0}
	f := &fixture{st: st, sender: &memSender{}, logs: &bytes.Buffer{}}
	f.h = &Handler{
		Store: st, Sender: f.sender, Keys: privacy.Fixed(hasher),
		LinkSecrets: func(context.Context) ([]string, error) { return []string{linkSecret}, nil },
		Base:        "https://refer.acme.example", From: "referflow@acme.example",
		Now: func() time.Time { return now0 }, Log: slog.New(slog.NewJSONHandler(f.logs, nil)),
	}
	return f
}

// bridge is the EventBridge event the bus delivers for e (detail =
// json.Marshal(events.Event), as functions/publish puts it).
func bridge(t *testing.T, e events.Event) lambdaevents.EventBridgeEvent {
	t.Helper()
	detail, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return lambdaevents.EventBridgeEvent{Version: "0", ID: "eb-1", DetailType: string(e.Type), Source: "referflow", Time: e.At, Detail: detail}
}

func event(id string, typ events.Type, status string, data ...string) events.Event {
	e := events.New(typ, "ref_01", events.ActorWorkflow, now0).WithStatus(status)
	e.ID, e.ProgramID, e.ProgramVersion = id, "b2b", 3
	for i := 0; i+1 < len(data); i += 2 {
		e = e.With(data[i], data[i+1])
	}
	return e
}
