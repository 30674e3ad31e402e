package finance

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rewards"
)

// Batch statuses.
const (
	BatchOpen = "open" // gathered, finance has not paid it yet
	BatchPaid = "paid" // paid by finance, with its remittance reference
)

// Batch is a payout batch: payable ledger entries of one program and
// currency that finance pays by bank transfer (the manual rail), each
// entry in at most one batch.
type Batch struct {
	ID        string    `json:"batch_id" dynamodbav:"batch_id"`
	ProgramID string    `json:"program" dynamodbav:"program_id"`
	Currency  string    `json:"currency" dynamodbav:"currency"`
	Status    string    `json:"status" dynamodbav:"status"`
	From      string    `json:"from" dynamodbav:"from"` // the ledger months gathered
	To        string    `json:"to" dynamodbav:"to"`
	CreatedAt time.Time `json:"created_at" dynamodbav:"created_at"`
	CreatedBy string    `json:"created_by" dynamodbav:"created_by"`
	// RemittanceReference is finance's reference of the transfers, once paid.
	RemittanceReference string     `json:"remittance_reference,omitempty" dynamodbav:"remittance_reference,omitempty"`
	PaidAt              *time.Time `json:"paid_at,omitempty" dynamodbav:"paid_at,omitempty"`
	PaidBy              string     `json:"paid_by,omitempty" dynamodbav:"paid_by,omitempty"`
	TotalMinor          int64      `json:"total_minor" dynamodbav:"-"`
	Total               string     `json:"total" dynamodbav:"-"` // major units
	Lines               []Line     `json:"lines" dynamodbav:"-"`
}

// Line is one ledger entry of a batch.
type Line struct {
	EntryID      string `json:"entry_id" dynamodbav:"entry_id"`
	RewardID     string `json:"reward_id" dynamodbav:"reward_id"`
	ReferralID   string `json:"referral_id" dynamodbav:"referral_id"`
	Milestone    string `json:"milestone" dynamodbav:"milestone"`
	Party        string `json:"party" dynamodbav:"party"`
	ReferrerCode string `json:"referrer_code" dynamodbav:"referrer_code"`
	Kind         string `json:"kind" dynamodbav:"kind"`
	AmountMinor  int64  `json:"amount_minor" dynamodbav:"amount_minor"`
	Amount       string `json:"amount" dynamodbav:"-"` // major units
	Currency     string `json:"currency" dynamodbav:"currency"`
	Period       string `json:"period" dynamodbav:"period"`
	Method       string `json:"method" dynamodbav:"method"`
	// PaidOutAt is when the batch was marked paid.
	PaidOutAt *time.Time `json:"paid_out_at,omitempty" dynamodbav:"paid_out_at,omitempty"`
}

// BatchStore keeps payout batches (the DynamoDB store).
type BatchStore interface {
	LedgerPeriod(ctx context.Context, period string) ([]rewards.Entry, error)
	// Unbatched returns the entries that are in no batch and whose reward
	// has no reversal entry, in the order given.
	Unbatched(ctx context.Context, entries []rewards.Entry) ([]rewards.Entry, error)
	// CreatePayoutBatch writes batch b with the lines it can claim: a
	// line whose entry another batch claimed meanwhile is left out. It
	// returns the lines claimed; with none, nothing is written.
	CreatePayoutBatch(ctx context.Context, b Batch, lines []Line) ([]Line, error)
	// PayoutBatch reads a batch with its lines; ErrNotFound when none.
	PayoutBatch(ctx context.Context, id string) (*Batch, error)
	// MarkPayoutBatchPaid records the batch and each of its entries paid
	// with ref, once: changed=false when it was paid with ref already; an
	// error wrapping ErrAlreadyPaid when with another reference;
	// ErrNotFound when there is no such batch.
	MarkPayoutBatchPaid(ctx context.Context, id, ref, actor string, now time.Time) (changed bool, err error)
}

// GatherMonths is how many months of the ledger a batch gathers by
// default (the batch's from month can be given instead).
const GatherMonths = 24

// CreateBatch gathers every payable ledger entry of the program in
// currency that finance pays itself (method "manual", or "ledger" for
// entries written before rails; credits and discounts are left out: they
// are applied, not transferred), in no batch yet and not reversed, from
// the ledger months from ("YYYY-MM"; default GatherMonths months back)
// to this month, into a new batch by actor. Each entry ends up in exactly
// one batch even when operators gather at the same time (the store claims
// each entry with a conditional write). ErrNothingToBatch when no entry
// is waiting; *Invalid for a bad program, currency or month.
func (s *Service) CreateBatch(ctx context.Context, programID, currency, from, actor string) (*Batch, error) {
	bad := map[string]string{}
	if programID == "" {
		bad["program"] = "is required"
	}
	if _, ok := money.Exponent(currency); !ok {
		bad["currency"] = "must be an ISO 4217 currency code, upper case (USD)"
	}
	if from == "" {
		from = s.Now().UTC().AddDate(0, 1-GatherMonths, 0).Format("2006-01")
	}
	months, err := s.months(from, "")
	if err != nil || len(bad) > 0 {
		if inv, ok := err.(*Invalid); ok {
			for f, m := range inv.Fields {
				bad[f] = m
			}
		}
		return nil, &Invalid{Fields: bad}
	}
	var candidates []rewards.Entry
	for _, m := range months {
		entries, err := s.Store.LedgerPeriod(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("finance: create batch: ledger %s: %w", m, err)
		}
		for _, e := range entries {
			if e.Type == rewards.EntryPayable && e.ProgramID == programID && e.Currency == currency && manualMethod(e.Method) &&
				e.Kind != program.KindCredit && e.Kind != program.KindDiscount {
				candidates = append(candidates, e)
			}
		}
	}
	if len(candidates) > 0 {
		if candidates, err = s.Store.Unbatched(ctx, candidates); err != nil {
			return nil, fmt.Errorf("finance: create batch: %w", err)
		}
	}
	if len(candidates) == 0 {
		return nil, ErrNothingToBatch
	}
	return s.writeBatch(ctx, programID, currency, months, candidates, actor)
}

// writeBatch writes a new batch of entries.
func (s *Service) writeBatch(ctx context.Context, programID, currency string, months []string, entries []rewards.Entry, actor string) (*Batch, error) {
	id, err := newBatchID(s.Rand)
	if err != nil {
		return nil, err
	}
	b := Batch{ID: id, ProgramID: programID, Currency: currency, Status: BatchOpen, From: months[0], To: months[len(months)-1],
		CreatedAt: s.Now().UTC(), CreatedBy: actor}
	lines := make([]Line, len(entries))
	for i, e := range entries {
		lines[i] = Line{EntryID: e.ID, RewardID: e.RewardID, ReferralID: e.ReferralID, Milestone: e.Milestone, Party: e.Party,
			ReferrerCode: e.ReferrerCode, Kind: e.Kind, AmountMinor: e.AmountMinor, Currency: e.Currency, Period: e.Period, Method: e.Method}
	}
	claimed, err := s.Store.CreatePayoutBatch(ctx, b, lines)
	if err != nil {
		return nil, fmt.Errorf("finance: create batch: %w", err)
	}
	if len(claimed) == 0 {
		return nil, ErrNothingToBatch // every entry was taken by another batch meanwhile
	}
	b.Lines = claimed
	return b.totalled(), nil
}

// newBatchID is "pb_" and 24 random hex digits.
func newBatchID(r io.Reader) (string, error) {
	var b [12]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("finance: batch id: %w", err)
	}
	return "pb_" + hex.EncodeToString(b[:]), nil
}

// ValidBatchID reports whether id has the form of a batch id.
func ValidBatchID(id string) bool {
	if len(id) != 27 || !strings.HasPrefix(id, "pb_") {
		return false
	}
	_, err := hex.DecodeString(id[3:])
	return err == nil && strings.ToLower(id) == id
}

// totalled fills in the total and the lines' major-unit amounts.
func (b Batch) totalled() *Batch {
	b.TotalMinor = 0
	for i := range b.Lines {
		b.TotalMinor += b.Lines[i].AmountMinor
		b.Lines[i].Amount = money.FormatMinor(b.Lines[i].AmountMinor, b.Lines[i].Currency)
	}
	b.Total = money.FormatMinor(b.TotalMinor, b.Currency)
	if b.Lines == nil {
		b.Lines = []Line{}
	}
	return &b
}

// Batch reads a batch with its lines and total. ErrNotFound: none.
func (s *Service) Batch(ctx context.Context, id string) (*Batch, error) {
	if !ValidBatchID(id) {
		return nil, fmt.Errorf("finance: batch %q: %w", id, ErrNotFound)
	}
	b, err := s.Store.PayoutBatch(ctx, id)
	if err != nil {
		return nil, err
	}
	return b.totalled(), nil
}

// MaxRemittance is the longest remittance reference.
const MaxRemittance = 140

// MarkPaid records that finance paid batch id, with the remittance
// reference ref (its bank's reference of the transfers), by actor: the
// batch and each of its entries, once. A repeat with the same reference
// changes nothing (changed=false); another reference is ErrAlreadyPaid.
func (s *Service) MarkPaid(ctx context.Context, id, ref, actor string) (*Batch, bool, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" || len(ref) > MaxRemittance || strings.IndexFunc(ref, unicode.IsControl) >= 0 {
		return nil, false, &Invalid{Fields: map[string]string{"remittance_reference": fmt.Sprintf("is required: 1 to %d printable characters", MaxRemittance)}}
	}
	if !ValidBatchID(id) {
		return nil, false, fmt.Errorf("finance: batch %q: %w", id, ErrNotFound)
	}
	changed, err := s.Store.MarkPayoutBatchPaid(ctx, id, ref, actor, s.Now().UTC())
	if err != nil {
		return nil, false, err
	}
	b, err := s.Batch(ctx, id)
	return b, changed, err
}
