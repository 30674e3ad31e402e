package finance

import (
	"context"
	"crypto/rand"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/payees"
	"github.com/referflow/referflow/internal/rewards"
)

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// memStore is a Store in memory.
type memStore struct {
	mu        sync.Mutex
	ledger    map[string][]rewards.Entry // by period
	rewards   map[string]rewards.Reward  // by referral/milestone/party
	partners  map[string][]rewards.Reward
	unsettled []rewards.Reward
	claims    map[string]string // entry id -> batch id
	batches   map[string]*Batch
	reads     []string // ledger periods read
}

func newMem() *memStore {
	return &memStore{ledger: map[string][]rewards.Entry{}, rewards: map[string]rewards.Reward{}, partners: map[string][]rewards.Reward{},
		claims: map[string]string{}, batches: map[string]*Batch{}}
}

func (m *memStore) add(e rewards.Entry) { m.ledger[e.Period] = append(m.ledger[e.Period], e) }

func (m *memStore) LedgerPeriod(_ context.Context, p string) ([]rewards.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads = append(m.reads, p)
	return append([]rewards.Entry(nil), m.ledger[p]...), nil
}

func (m *memStore) PartnerKey(_ context.Context, programID, code string) (string, error) {
	if _, ok := m.partners[programID+"/"+code]; ok {
		return code, nil
	}
	return "", fmt.Errorf("no partner: %w", ErrNotFound)
}

func (m *memStore) RewardsByPartner(_ context.Context, programID, key string) ([]rewards.Reward, error) {
	return m.partners[programID+"/"+key], nil
}

func (m *memStore) PartnerKeys(_ context.Context, programID string) ([]string, error) {
	var out []string
	for k := range m.partners {
		if p, code, _ := cut(k); p == programID {
			out = append(out, code)
		}
	}
	sort.Strings(out)
	return out, nil
}

func cut(k string) (string, string, bool) {
	for i := range k {
		if k[i] == '/' {
			return k[:i], k[i+1:], true
		}
	}
	return k, "", false
}

func (m *memStore) Unbatched(_ context.Context, es []rewards.Entry) ([]rewards.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	reversed := map[string]bool{}
	for _, p := range m.ledger {
		for _, e := range p {
			if e.Type == rewards.EntryReversal {
				reversed[e.RewardID] = true
			}
		}
	}
	var out []rewards.Entry
	for _, e := range es {
		if m.claims[e.ID] == "" && !reversed[e.RewardID] {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memStore) CreatePayoutBatch(_ context.Context, b Batch, lines []Line) ([]Line, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var got []Line
	for _, l := range lines {
		if m.claims[l.EntryID] == "" {
			m.claims[l.EntryID] = b.ID
			got = append(got, l)
		}
	}
	if len(got) > 0 {
		b.Lines = got
		m.batches[b.ID] = &b
	}
	return got, nil
}

func (m *memStore) PayoutBatch(_ context.Context, id string) (*Batch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.batches[id]
	if !ok {
		return nil, fmt.Errorf("batch %s: %w", id, ErrNotFound)
	}
	c := *b
	c.Lines = append([]Line(nil), b.Lines...)
	return &c, nil
}

func (m *memStore) MarkPayoutBatchPaid(_ context.Context, id, ref, actor string, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.batches[id]
	switch {
	case !ok:
		return false, ErrNotFound
	case b.Status == BatchPaid && b.RemittanceReference == ref:
		return false, nil
	case b.Status == BatchPaid:
		return false, ErrAlreadyPaid
	}
	b.Status, b.RemittanceReference, b.PaidAt, b.PaidBy = BatchPaid, ref, &now, actor
	for i := range b.Lines {
		b.Lines[i].PaidOutAt = &now
	}
	return true, nil
}

func (m *memStore) Reward(_ context.Context, referralID, milestone, party string) (*rewards.Reward, error) {
	r, ok := m.rewards[referralID+"/"+milestone+"/"+party]
	if !ok {
		return nil, ErrNotFound
	}
	return &r, nil
}

func (m *memStore) Unsettled(context.Context) ([]rewards.Reward, error) { return m.unsettled, nil }

// memPayees answers payees and contacts by referral id.
type memPayees struct {
	payees   map[string]payees.Payee
	contacts map[string]Contact
}

func (p memPayees) PayeeOf(_ context.Context, _, _, referralID string) (*payees.Record, error) {
	if pp, ok := p.payees[referralID]; ok {
		return &payees.Record{Payee: pp}, nil
	}
	return nil, payees.ErrNotFound
}

func (p memPayees) PartyContact(_ context.Context, _, _, referralID, _ string) (Contact, error) {
	if c, ok := p.contacts[referralID]; ok {
		return c, nil
	}
	return Contact{}, ErrNotFound
}

func newService(m *memStore) *Service {
	return &Service{Store: m, Payees: memPayees{}, Now: func() time.Time { return t0 }, Rand: rand.Reader}
}

// entry is a payable (or reversal) ledger entry.
func entry(reward, program, currency, method, kind string, minor int64, period string) rewards.Entry {
	return rewards.Entry{ID: reward + ":payable", Type: rewards.EntryPayable, RewardID: reward, ReferralID: "ref_" + reward,
		ProgramID: program, Milestone: "won", Party: "referrer", ReferrerCode: "ANN42", Kind: kind, AmountMinor: minor,
		Currency: currency, Period: period, Method: method, CreatedAt: t0}
}
