// Package intaketest is an in-memory intake.Store for the tests of the
// doors intake serves (functions/intake, the portal) and of intake
// itself. It keeps the store's guarantees that intake relies on: dedupe
// keys and the idempotency key are conditional, and a referral is written
// all or nothing.
package intaketest

import (
	"context"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// Store is an in-memory intake.Store. Set the Err fields to make reads or
// writes fail.
type Store struct {
	mu         sync.Mutex
	Programs   map[string]*program.Program
	Partners   map[string]*store.Partner // "<program>#<code>"
	Created    []store.NewReferral
	Idem       map[string]*apigw.IdempotencyRecord
	Dedupe     map[string]bool
	CreateErr  error // CreateReferral
	ReadErr    error // CurrentProgram
	IdemErr    error // Idempotency
	PartnerErr error // Partner
	keys       *privacy.Hasher
}

// New returns an empty store.
func New() *Store {
	h, err := privacy.NewHasher("intaketest-key-hash-secret")
	if err != nil {
		panic(err)
	}
	return &Store{Programs: map[string]*program.Program{}, Partners: map[string]*store.Partner{},
		Idem: map[string]*apigw.IdempotencyRecord{}, Dedupe: map[string]bool{}, keys: h}
}

// AddPartner stores an active partner (status as given) whose key is its code.
func (f *Store) AddPartner(r referral.Referrer) *store.Partner {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := &store.Partner{Referrer: r, Key: r.Code}
	f.Partners[r.ProgramID+"#"+r.Code] = p
	return p
}

// CurrentProgram implements intake.Store.
func (f *Store) CurrentProgram(_ context.Context, id string) (*program.Program, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ReadErr != nil {
		return nil, f.ReadErr
	}
	p, ok := f.Programs[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return p, nil
}

// Partner implements intake.Store.
func (f *Store) Partner(_ context.Context, programID, code string) (*store.Partner, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.PartnerErr != nil {
		return nil, f.PartnerErr
	}
	p, ok := f.Partners[programID+"#"+code]
	if !ok {
		return nil, store.ErrNotFound
	}
	cp := *p
	return &cp, nil
}

// CreateReferral mirrors store.CreateReferral: dedupe keys and the
// idempotency key are conditional, all or nothing.
func (f *Store) CreateReferral(_ context.Context, nr store.NewReferral) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.CreateErr != nil {
		return f.CreateErr
	}
	r := nr.Referral
	var keys []string
	for _, k := range store.DedupeKeys(f.keys, r.ProgramID, r.RefereeEmail, r.RefereeDomain) {
		keys = append(keys, k.Key)
	}
	if nr.Idempotency != nil {
		if _, ok := f.Idem[nr.Idempotency.Key]; ok {
			return store.ErrConflict
		}
	}
	for _, k := range keys {
		if f.Dedupe[k] {
			return store.ErrDuplicate
		}
	}
	for _, k := range keys {
		f.Dedupe[k] = true
	}
	if nr.Idempotency != nil {
		rec := *nr.Idempotency
		f.Idem[rec.Key] = &rec
	}
	cp := *r
	nr.Referral = &cp
	f.Created = append(f.Created, nr)
	return nil
}

// Idempotency implements intake.Store.
func (f *Store) Idempotency(_ context.Context, key string, now time.Time) (*apigw.IdempotencyRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.IdemErr != nil {
		return nil, f.IdemErr
	}
	r, ok := f.Idem[key]
	if !ok || now.After(r.ExpiresAt) {
		return nil, store.ErrNotFound
	}
	cp := *r
	return &cp, nil
}

// Referrals returns the referrals created so far.
func (f *Store) Referrals() []store.NewReferral {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]store.NewReferral(nil), f.Created...)
}
