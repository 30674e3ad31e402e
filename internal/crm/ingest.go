package crm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/workflow"
)

// Store is what ingestion reads and writes.
type Store interface {
	ClaimEvent(ctx context.Context, provider, id string, now time.Time) (applied bool, err error)
	FinishEvent(ctx context.Context, provider, id, outcome, referralID string, now time.Time) error
	Link(ctx context.Context, provider, recordID string) (string, error)
	PutLink(ctx context.Context, provider, recordID, referralID string, now time.Time) (string, error)
	ReferralsByEmail(ctx context.Context, email string) ([]string, error)
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error)
	RecordDeal(ctx context.Context, id string, u referral.DealUpdate, now time.Time) (*workflow.Waiting, error)
	Record(ctx context.Context, evs ...events.Event) error
	// Events about records not linked yet are parked (parked.go).
	ParkedStore
}

// Enricher fills in what an event lacks (pipeline, stage, linking hints)
// from the CRM's API; HubSpot's Webhooks API sends only the deal id.
type Enricher interface {
	Enrich(ctx context.Context, ev *Event) error
}

// Outcomes of one event, as recorded and counted.
const (
	OutcomeMilestone = "milestone" // milestone(s) recorded
	OutcomeLost      = "lost"      // deal lost / deleted recorded
	OutcomeRefunded  = "refunded"  // refund recorded; paid rewards reversed
	OutcomeAmount    = "amount"    // deal amount recorded
	OutcomeNoChange  = "no_change" // a stage the program does not map
	OutcomeClosed    = "closed"    // the referral had ended already
	OutcomeUntracked = "untracked" // no referral for this record yet: the event is parked (parked.go)
	OutcomeDuplicate = "duplicate" // delivered before
	OutcomeIgnored   = "ignored"   // not about a deal stage
)

// Summary counts a delivery's events by outcome.
type Summary struct {
	Received int            `json:"received"`
	Outcomes map[string]int `json:"outcomes"`
}

// Ingester applies normalised events: the one path every provider shares.
type Ingester struct {
	Store Store
	// Rewards reverses paid rewards when a deal is refunded.
	Rewards   *rewards.Service
	SFN       workflow.SFN
	Enrichers map[string]Enricher // by provider, optional
	Now       func() time.Time
	Log       *slog.Logger
	// DefaultProgram is the program whose unlinked_events_ttl applies to
	// events parked before any referral is known ("": the default TTL).
	DefaultProgram string
	ttl            ttlCache
	// Observe lists the programs under whose stage mapping events about
	// deals no referral is linked to are observed for the KPIs (observe.go).
	Observe  []string
	observed programCache
}

// Ingest applies every event of a delivery in order. Each event is first
// claimed (dedupe on the provider's event id), then linked, mapped and
// recorded, then the waiting workflow is resumed. A failure on one event
// does not stop the others; the first error is returned (answer 5xx so the
// sender redelivers: applied events are duplicates then, the failed one is
// applied again, idempotently).
func (in *Ingester) Ingest(ctx context.Context, events []Event) (Summary, error) {
	sum := Summary{Received: len(events), Outcomes: map[string]int{}}
	var first error
	for i := range events {
		ev := events[i]
		outcome, err := in.apply(ctx, &ev)
		if err != nil {
			in.Log.Error("webhook event failed", "provider", ev.Provider, "event_id", ev.ID, "error", err)
			if first == nil {
				first = err
			}
			continue
		}
		sum.Outcomes[outcome]++
	}
	return sum, first
}

func (in *Ingester) apply(ctx context.Context, ev *Event) (string, error) {
	if ev.Kind == KindIgnored || ev.ID == "" {
		return OutcomeIgnored, nil
	}
	now := in.Now().UTC()
	log := in.Log.With("provider", ev.Provider, "event_id", ev.ID, "record_id", ev.RecordID)
	applied, err := in.Store.ClaimEvent(ctx, ev.Provider, ev.ID, now)
	if err != nil {
		return "", err
	}
	if applied {
		return OutcomeDuplicate, nil
	}
	id, err := in.resolve(ctx, ev, now)
	if err != nil {
		return "", err
	}
	if id == "" {
		if id, err = in.park(ctx, ev, now, log); id == "" || err != nil {
			return OutcomeUntracked, err
		}
	}
	// Events parked for the record before it linked happened first.
	if err := in.adoptFor(ctx, ev, id, now, log); err != nil {
		return "", err
	}
	return in.applyTo(ctx, ev, id, now, log)
}

// applyTo maps and records ev for referral id, resumes the waiting
// workflow and finishes the event with its outcome.
func (in *Ingester) applyTo(ctx context.Context, ev *Event, id string, now time.Time, log *slog.Logger) (string, error) {
	log = log.With("referral_id", id)
	r, err := in.Store.Referral(ctx, id)
	if err != nil {
		return "", err
	}
	p, err := in.Store.ProgramVersion(ctx, r.ProgramID, r.ProgramVersion)
	if err != nil {
		return "", err
	}
	if needsEnrich(ev) {
		if e := in.Enrichers[ev.Provider]; e != nil {
			if err := e.Enrich(ctx, ev); err != nil {
				return "", fmt.Errorf("crm: enrich %s %s: %w", ev.Provider, ev.RecordID, err)
			}
		}
	}
	u, outcome := Update(p, ev)
	u.ReachedAt = reachedAt(ev, r, now)
	if ev.Kind == KindByHand {
		u.Note = &referral.MilestoneNote{Milestone: ev.Stage, By: ev.Actor, Reason: ev.Reason, At: now}
	}
	record := withAmount(dealEvent(ev, r, u, now), p, ev)
	after := &workflow.Waiting{Referral: r} // an ended referral resumes nothing
	if r.Status.Terminal() {
		// The referral has ended: its milestones and deal facts stay as
		// they were when it ended; the event is only logged, except a
		// loss, which still takes back what it undoes (settleLoss).
		record = record.With("closed", string(r.Status)).With("change", outcome)
		outcome = OutcomeClosed
	} else if after, err = in.Store.RecordDeal(ctx, id, u, now); err != nil {
		return "", err
	}
	// A refund reverses the sale it undoes (paid rewards are never
	// changed: each gets a reversal entry); see loss.go.
	if record, err = in.settleLoss(ctx, ev, after.Referral, p, u, record, now); err != nil {
		return "", err
	}
	if ev.Kind == KindRefunded {
		outcome = OutcomeRefunded
	}
	resumed, err := workflow.Resume(ctx, in.SFN, after)
	if err != nil {
		return "", err
	}
	if err := in.Store.Record(ctx, record.With("outcome", outcome)); err != nil {
		return "", err
	}
	log.Info("webhook event applied", "outcome", outcome, "milestones", u.Milestones, "lost", u.Lost, "resumed", resumed)
	return outcome, in.Store.FinishEvent(ctx, ev.Provider, ev.ID, outcome, id, now)
}

// resolve finds the referral an event is about (asking the provider's
// enricher for linking hints when the event carries none that match) and
// remembers the CRM record's link to it. It returns "" when no referral is
// linked to the record.
func (in *Ingester) resolve(ctx context.Context, ev *Event, now time.Time) (string, error) {
	id, linked, err := in.link(ctx, ev)
	if err != nil {
		return "", err
	}
	if id == "" {
		if e := in.Enrichers[ev.Provider]; e != nil && ev.RecordID != "" {
			if err := e.Enrich(ctx, ev); err != nil {
				return "", fmt.Errorf("crm: enrich %s %s: %w", ev.Provider, ev.RecordID, err)
			}
			if id, linked, err = in.link(ctx, ev); err != nil {
				return "", err
			}
		}
	}
	if id != "" && !linked && ev.RecordID != "" {
		// Remember the link so later events need no hints (first link wins).
		return in.Store.PutLink(ctx, ev.Provider, ev.RecordID, id, now)
	}
	return id, nil
}

// dealEvent is the event that records a CRM event about referral r (its
// outcome is added once known).
func dealEvent(ev *Event, r *referral.Referral, u referral.DealUpdate, now time.Time) events.Event {
	actor := events.ActorWebhook(ev.Provider)
	if ev.Kind == KindByHand {
		actor = ev.Actor // a person, never a webhook
	}
	record := events.New(events.ReferralDealEvent, r.ID, actor, now).
		With("provider", ev.Provider).With("event_id", ev.ID).With("record_id", ev.RecordID).
		With("where", describeStage(ev)).With("lost", u.LostReason)
	record.ProgramID, record.ProgramVersion = r.ProgramID, r.ProgramVersion
	if len(u.Milestones) > 0 {
		record = record.With("milestone", u.Milestones[len(u.Milestones)-1])
	}
	return record
}

// reachedAt is when the CRM says the change happened, bounded to the
// referral's life so far (a clock skewed into the future, or a time before
// the referral existed, counts as now).
func reachedAt(ev *Event, r *referral.Referral, now time.Time) time.Time {
	at := ev.OccurredAt.UTC()
	if at.IsZero() || at.After(now) || at.Before(r.CreatedAt) {
		return now
	}
	return at
}

// link finds the referral an event is about: a stored link for the CRM
// record, a referral id carried on the record, or the referee's email. It
// reports whether the stored link was the source.
func (in *Ingester) link(ctx context.Context, ev *Event) (id string, linked bool, err error) {
	if ev.RecordID != "" {
		id, err := in.Store.Link(ctx, ev.Provider, ev.RecordID)
		if err == nil {
			return id, true, nil
		}
		if !errors.Is(err, referral.ErrNotFound) {
			return "", false, err
		}
	}
	if rid := strings.TrimSpace(ev.ReferralID); referral.ValidID(rid) {
		if _, err := in.Store.Referral(ctx, rid); err == nil {
			return rid, false, nil
		} else if !errors.Is(err, referral.ErrNotFound) {
			return "", false, err
		}
	}
	if ev.Email != "" {
		ids, err := in.Store.ReferralsByEmail(ctx, strings.ToLower(ev.Email))
		if err != nil {
			return "", false, err
		}
		// Newest first: prefer the newest referral that is still open.
		var fallback string
		for _, rid := range ids {
			r, err := in.Store.Referral(ctx, rid)
			if err != nil {
				if errors.Is(err, referral.ErrNotFound) {
					continue
				}
				return "", false, err
			}
			if !r.Status.Terminal() {
				return rid, false, nil
			}
			if fallback == "" {
				fallback = rid
			}
		}
		return fallback, false, nil
	}
	return "", false, nil
}

// Update maps an event to the change it makes to a referral under program
// p, with the outcome. Milestones only move forward (the store keeps the
// first time each was reached).
func Update(p *program.Program, ev *Event) (referral.DealUpdate, string) {
	u := referral.DealUpdate{Provider: ev.Provider, RecordID: ev.RecordID}
	// In the program's currency, converted at its rate, or in its own for
	// review; never an amount relabelled with the program's currency.
	if f := dealAmount(p, ev); f.minor > 0 {
		u.AmountMinor, u.Currency = f.minor, f.currency
	}
	switch ev.Kind {
	case KindDeleted:
		u.Lost, u.LostReason = true, "deleted"
		return u, OutcomeLost
	case KindRefunded:
		u.Lost, u.LostReason = true, "refunded"
		return u, OutcomeLost
	}
	o := p.Match(ev.Provider, ev.Pipeline, ev.Stage, ev.Status)
	if ev.Kind == KindByHand { // Stage names the milestone itself
		o = program.Outcome{Milestone: p.MilestoneIndex(ev.Stage)}
	}
	switch {
	case o.Lost:
		u.Lost, u.LostReason = true, "lost"
		return u, OutcomeLost
	case o.Milestone >= 0:
		for _, i := range p.Implied(o.Milestone) {
			u.Milestones = append(u.Milestones, p.Milestones[i].Name)
		}
		return u, OutcomeMilestone
	case u.AmountMinor > 0:
		return u, OutcomeAmount
	}
	return u, OutcomeNoChange
}

func describeStage(ev *Event) string {
	var parts []string
	if ev.Pipeline != "" {
		parts = append(parts, "pipeline "+ev.Pipeline)
	}
	if ev.Stage != "" {
		parts = append(parts, "stage "+ev.Stage)
	}
	if ev.Status != "" {
		parts = append(parts, "status "+ev.Status)
	}
	if len(parts) == 0 {
		return "no stage"
	}
	return strings.Join(parts, ", ")
}
