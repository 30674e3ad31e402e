package crm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/referflow/referflow/internal/activity"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/workflow"
)

// fakeStore is an in-memory crm.Store with the semantics of store.Store.
type fakeStore struct {
	mu         sync.Mutex
	events     map[string]*eventRec // provider#id
	links      map[string]string    // provider#record -> referral id
	emails     map[string][]string  // email -> referral ids, newest first
	referrals  map[string]*referral.Referral
	programs   map[string]*program.Program // id#version
	activities map[string][]activity.Line  // the activity log of the recorded events
	callbacks  map[string]workflow.Callbacks
	deals      []string // referral ids RecordDeal was called for, in order
	putLinks   int
	rewards    map[string][]rewards.Reward // referral id -> rewards
	reversals  map[string]rewards.Entry    // reward id -> its reversal

	// fail, when set, may fail a call: method name and its main argument.
	fail func(method, arg string) error
	// hideLinkOnce makes the next Link call miss (a concurrent PutLink race).
	hideLinkOnce bool
	// parked holds parked events (parked_fake_test.go), made on first use.
	parked *parkedFake
}

type eventRec struct {
	state, outcome, referralID string
	attempts                   int
}

func newFakeStore() *fakeStore {
	return &fakeStore{events: map[string]*eventRec{}, links: map[string]string{}, emails: map[string][]string{},
		referrals: map[string]*referral.Referral{}, programs: map[string]*program.Program{}, activities: map[string][]activity.Line{}, callbacks: map[string]workflow.Callbacks{},
		rewards: map[string][]rewards.Reward{}, reversals: map[string]rewards.Entry{}}
}

var _ Store = (*fakeStore)(nil)

func clone(r *referral.Referral) *referral.Referral {
	c := *r
	c.Milestones = maps.Clone(r.Milestones)
	if c.Milestones == nil {
		c.Milestones = map[string]time.Time{}
	}
	if r.LostAt != nil {
		t := *r.LostAt
		c.LostAt = &t
	}
	c.Reasons = slices.Clone(r.Reasons)
	c.HandNotes = slices.Clone(r.HandNotes)
	return &c
}

func (f *fakeStore) check(method, arg string) error {
	if f.fail != nil {
		return f.fail(method, arg)
	}
	return nil
}

func (f *fakeStore) addReferral(r *referral.Referral) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.referrals[r.ID] = clone(r)
	if r.RefereeEmail != "" {
		// Newest first, as the EMAIL# query returns them.
		f.emails[r.RefereeEmail] = append([]string{r.ID}, f.emails[r.RefereeEmail]...)
	}
}

func (f *fakeStore) addProgram(p *program.Program) {
	f.programs[fmt.Sprintf("%s#%d", p.ID, p.Version)] = p
}

func (f *fakeStore) get(id string) *referral.Referral {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.referrals[id]
	if !ok {
		return nil
	}
	return clone(r)
}

func (f *fakeStore) ClaimEvent(_ context.Context, provider, id string, now time.Time) (bool, error) {
	if err := f.check("ClaimEvent", id); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := provider + "#" + id
	e, ok := f.events[k]
	if ok && e.state == "applied" {
		return true, nil
	}
	if !ok {
		e = &eventRec{state: "received"}
		f.events[k] = e
	}
	e.attempts++
	return false, nil
}

func (f *fakeStore) FinishEvent(_ context.Context, provider, id, outcome, referralID string, now time.Time) error {
	if err := f.check("FinishEvent", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := provider + "#" + id
	e, ok := f.events[k]
	if !ok {
		e = &eventRec{}
		f.events[k] = e
	}
	e.state, e.outcome, e.referralID = "applied", outcome, referralID
	return nil
}

func (f *fakeStore) Link(_ context.Context, provider, recordID string) (string, error) {
	if err := f.check("Link", recordID); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hideLinkOnce {
		f.hideLinkOnce = false
		return "", fmt.Errorf("link: %w", referral.ErrNotFound)
	}
	id, ok := f.links[provider+"#"+recordID]
	if !ok {
		return "", fmt.Errorf("link %s/%s: %w", provider, recordID, referral.ErrNotFound)
	}
	return id, nil
}

func (f *fakeStore) PutLink(_ context.Context, provider, recordID, referralID string, now time.Time) (string, error) {
	if err := f.check("PutLink", recordID); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.putLinks++
	k := provider + "#" + recordID
	if id, ok := f.links[k]; ok {
		return id, nil // first link wins
	}
	f.links[k] = referralID
	return referralID, nil
}

func (f *fakeStore) ReferralsByEmail(_ context.Context, email string) ([]string, error) {
	if err := f.check("ReferralsByEmail", email); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.emails[email]), nil
}

func (f *fakeStore) Referral(_ context.Context, id string) (*referral.Referral, error) {
	if err := f.check("Referral", id); err != nil {
		return nil, err
	}
	r := f.get(id)
	if r == nil {
		return nil, fmt.Errorf("referral %s: %w", id, referral.ErrNotFound)
	}
	return r, nil
}

func (f *fakeStore) ProgramVersion(_ context.Context, id string, v int) (*program.Program, error) {
	if err := f.check("ProgramVersion", id); err != nil {
		return nil, err
	}
	p, ok := f.programs[fmt.Sprintf("%s#%d", id, v)]
	if !ok {
		return nil, fmt.Errorf("program %s v%d: %w", id, v, referral.ErrNotFound)
	}
	return p, nil
}

// RecordDeal mirrors store.RecordDeal: milestones keep their first time, the
// CRM record is set once, the amount is replaced, lost keeps its first time.
func (f *fakeStore) RecordDeal(_ context.Context, id string, u referral.DealUpdate, now time.Time) (*workflow.Waiting, error) {
	if err := f.check("RecordDeal", id); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.referrals[id]
	if !ok {
		return nil, fmt.Errorf("referral %s: %w", id, referral.ErrNotFound)
	}
	f.deals = append(f.deals, id)
	r.UpdatedAt = now
	if r.Milestones == nil {
		r.Milestones = map[string]time.Time{}
	}
	reached := now
	if !u.ReachedAt.IsZero() {
		reached = u.ReachedAt
	}
	for _, m := range u.Milestones {
		if _, ok := r.Milestones[m]; !ok {
			r.Milestones[m] = reached
		}
	}
	if u.RecordID != "" {
		if r.CRMProvider == "" {
			r.CRMProvider = u.Provider
		}
		if r.CRMRecordID == "" {
			r.CRMRecordID = u.RecordID
		}
	}
	if u.AmountMinor > 0 {
		r.DealAmountMinor, r.DealCurrency = u.AmountMinor, u.Currency
	}
	if u.Note != nil {
		r.HandNotes = append(r.HandNotes, *u.Note)
	}
	if u.Lost {
		if r.LostAt == nil {
			t := now
			r.LostAt = &t
		}
		if r.LostReason == "" {
			r.LostReason = u.LostReason
		}
	}
	return &workflow.Waiting{Referral: clone(r), Callbacks: f.callbacks[id]}, nil
}

func (f *fakeStore) Record(_ context.Context, evs ...events.Event) error {
	for _, ev := range evs {
		if err := f.check("Record", ev.ReferralID); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ev := range evs {
		f.activities[ev.ReferralID] = append(f.activities[ev.ReferralID], activity.Describe(ev))
	}
	return nil
}

func (f *fakeStore) event(provider, id string) eventRec {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.events[provider+"#"+id]; ok {
		return *e
	}
	return eventRec{}
}

// fakeSFN records task callbacks.
type fakeSFN struct {
	mu        sync.Mutex
	err       error
	successes []*sfn.SendTaskSuccessInput
	failures  []*sfn.SendTaskFailureInput
}

var _ workflow.SFN = (*fakeSFN)(nil)

func (f *fakeSFN) StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	return nil, errors.New("ingestion never starts executions")
}

func (f *fakeSFN) SendTaskSuccess(_ context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.successes = append(f.successes, in)
	return &sfn.SendTaskSuccessOutput{}, f.err
}

func (f *fakeSFN) SendTaskFailure(_ context.Context, in *sfn.SendTaskFailureInput, _ ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, in)
	return &sfn.SendTaskFailureOutput{}, f.err
}

func (f *fakeSFN) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.successes) + len(f.failures)
}

func str(p *string) string { return aws.ToString(p) }

func (f *fakeStore) MilestoneRewards(_ context.Context, referralID, milestone string) ([]rewards.Reward, error) {
	if err := f.check("MilestoneRewards", referralID); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []rewards.Reward
	for _, r := range f.rewards[referralID] {
		if r.Milestone == milestone {
			out = append(out, r)
		}
	}
	return out, nil
}

// ReverseReward mirrors the store: only a paid reward, at most once.
func (f *fakeStore) ReverseReward(_ context.Context, r rewards.Reward, e rewards.Entry, ev events.Event) (bool, error) {
	if err := f.check("ReverseReward", r.ID); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, done := f.reversals[r.ID]; done || r.Status != rewards.StatusPaid {
		return false, nil
	}
	f.reversals[r.ID] = e
	f.activities[r.ReferralID] = append(f.activities[r.ReferralID], activity.Describe(ev))
	return true, nil
}

// rewardRepo gives the rewards lifecycle the fake's rewards: ingestion
// only ever settles a loss (ApplyLoss reads the rewards, writes reversals
// and voids; Rewards and SetRewardStatus are in loss_test.go); any other
// call panics on the nil Repository.
type rewardRepo struct {
	rewards.Repository
	f *fakeStore
}

func (r rewardRepo) MilestoneRewards(ctx context.Context, referralID, milestone string) ([]rewards.Reward, error) {
	return r.f.MilestoneRewards(ctx, referralID, milestone)
}

func (r rewardRepo) ReverseReward(ctx context.Context, rw rewards.Reward, e rewards.Entry, ev events.Event) (bool, error) {
	return r.f.ReverseReward(ctx, rw, e, ev)
}

// wait stores the callback an execution of referral id waits on.
func (f *fakeStore) wait(id, milestone, token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.callbacks[id] = workflow.Callbacks{WaitMilestone: milestone, WaitToken: token}
}
