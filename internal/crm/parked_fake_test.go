package crm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

// parkedFake holds the fake store's parked events with the semantics of
// internal/store parked.go: one copy per event id and group, found by
// group or by email, claimed for a lease, expired ones never claimed.
type parkedFake struct {
	events map[string]*parkedRec     // group key # event id
	groups map[string][]ParkedGroup  // email -> groups parked under it
	emails map[string]map[string]int // email -> group key -> parks (what was filed by email)
}

type parkedRec struct {
	p       Parked
	claimed time.Time // held until
}

func groupKey(g ParkedGroup) string {
	if g.RecordID != "" {
		return g.Provider + "#record#" + g.RecordID
	}
	return g.Provider + "#email#" + g.Email
}

// park returns the parked events, made on first use (f.mu held).
func (f *fakeStore) park() *parkedFake {
	if f.parked == nil {
		f.parked = &parkedFake{events: map[string]*parkedRec{}, groups: map[string][]ParkedGroup{}, emails: map[string]map[string]int{}}
	}
	return f.parked
}

func (f *fakeStore) ParkEvent(_ context.Context, p Parked, email string) error {
	if err := f.check("ParkEvent", p.Event.ID); err != nil {
		return err
	}
	if p.Event.Email != "" {
		return errors.New("fake: a parked event must not keep the email")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	pf := f.park()
	k := groupKey(p.Group) + "#" + p.Event.ID
	p.Key = groupKey(p.Group)
	if r, ok := pf.events[k]; ok && r.claimed.After(p.ParkedAt) {
		return nil // held by an adopter: it applies it
	}
	pf.events[k] = &parkedRec{p: p}
	if email != "" {
		if !slices.Contains(pf.groups[email], p.Group) {
			pf.groups[email] = append(pf.groups[email], p.Group)
		}
		if pf.emails[email] == nil {
			pf.emails[email] = map[string]int{}
		}
		pf.emails[email][groupKey(p.Group)]++
	}
	return nil
}

func (f *fakeStore) ParkedGroups(_ context.Context, email string) ([]ParkedGroup, error) {
	if err := f.check("ParkedGroups", email); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.park().groups[email]), nil
}

func (f *fakeStore) ClaimParked(_ context.Context, g ParkedGroup, now time.Time, lease time.Duration) ([]Parked, bool, error) {
	if err := f.check("ClaimParked", groupKey(g)); err != nil {
		return nil, false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Parked
	busy := false
	for _, r := range f.park().events { // map order: the ingester sorts
		if r.p.Key != groupKey(g) || now.After(r.p.ExpiresAt) {
			continue
		}
		if r.claimed.After(now) {
			busy = true
			continue
		}
		r.claimed = now.Add(lease)
		out = append(out, r.p)
	}
	return out, busy, nil
}

func (f *fakeStore) ReleaseParked(_ context.Context, ps []Parked) error {
	if err := f.check("ReleaseParked", ""); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range ps {
		if r, ok := f.park().events[p.Key+"#"+p.Event.ID]; ok {
			r.claimed = time.Time{}
		}
	}
	return nil
}

func (f *fakeStore) UnparkEvent(_ context.Context, p Parked) error {
	if err := f.check("UnparkEvent", p.Event.ID); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.park().events, p.Key+"#"+p.Event.ID)
	return nil
}

// CurrentProgram is the program's highest version.
func (f *fakeStore) CurrentProgram(_ context.Context, id string) (*program.Program, error) {
	if err := f.check("CurrentProgram", id); err != nil {
		return nil, err
	}
	var cur *program.Program
	for _, p := range f.programs {
		if p.ID == id && (cur == nil || p.Version > cur.Version) {
			cur = p
		}
	}
	if cur == nil {
		return nil, fmt.Errorf("program %s: %w", id, referral.ErrNotFound)
	}
	return cur, nil
}

// parkedIDs lists the ids of the events parked in g, sorted.
func (f *fakeStore) parkedIDs(g ParkedGroup) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, r := range f.park().events {
		if r.p.Key == groupKey(g) {
			ids = append(ids, r.p.Event.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// parkedEvent returns the event parked in g under id.
func (f *fakeStore) parkedEvent(g ParkedGroup, id string) (Parked, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.park().events[groupKey(g)+"#"+id]
	if !ok {
		return Parked{}, false
	}
	return r.p, true
}
