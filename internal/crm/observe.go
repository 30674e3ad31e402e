package crm

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

// An event about a CRM deal no referral is linked to is also observed, so
// the KPIs can compare referred deals with the others (internal/kpis
// lift.go): for each program of Ingester.Observe, a deal.observed event says
// what the CRM event means under the program's stage mapping (a milestone,
// the last one, lost, deleted, or only an amount) with the deal's record
// id, pipeline, amount and time. Ids, stages and amounts only: never the
// contact, the company or the deal's name.

// observedFor is how long a program read for observing is reused.
const observedFor = ttlFor

// programCache keeps the programs deals are observed under.
type programCache struct {
	mu sync.Mutex
	at map[string]time.Time
	p  map[string]*program.Program
}

// observe records the deal.observed events of ev, an event about a record
// no referral is linked to (nothing for an event that names no record, a
// refund, or without Observe).
func (in *Ingester) observe(ctx context.Context, ev *Event, now time.Time, log *slog.Logger) error {
	if len(in.Observe) == 0 || ev.RecordID == "" || ev.Kind == KindRefunded {
		return nil
	}
	var out []events.Event
	for _, id := range in.Observe {
		p, err := in.observedProgram(ctx, id, now)
		if errors.Is(err, referral.ErrNotFound) {
			log.Warn("program to observe deals under not found", "program", id)
			continue
		}
		if err != nil {
			return err
		}
		if o, ok := observation(p, ev, now); ok {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return in.Store.Record(ctx, out...)
}

func (in *Ingester) observedProgram(ctx context.Context, id string, now time.Time) (*program.Program, error) {
	c := &in.observed
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.p[id]; ok && now.Sub(c.at[id]) < observedFor {
		return p, nil
	}
	p, err := in.Store.CurrentProgram(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.p == nil {
		c.p, c.at = map[string]*program.Program{}, map[string]time.Time{}
	}
	c.p[id], c.at[id] = p, now
	return p, nil
}

// observation is the deal.observed event that ev, about a record no
// referral is linked to, makes under program p (recorded at now), and
// whether it says anything to p: a stage p maps, a deletion, or an amount.
func observation(p *program.Program, ev *Event, now time.Time) (events.Event, bool) {
	outcome, milestone := events.DealNone, -1
	if ev.Kind == KindDeleted {
		outcome = events.DealDeleted
	} else if o := p.Match(ev.Provider, ev.Pipeline, ev.Stage, ev.Status); o.Lost {
		outcome = events.DealLost
	} else if o.Milestone >= 0 {
		outcome, milestone = events.DealOpen, o.Milestone
		if o.Milestone == len(p.Milestones)-1 {
			outcome = events.DealWon
		}
	}
	amount := dealAmount(p, ev)
	if outcome == events.DealNone && amount.minor <= 0 {
		return events.Event{}, false
	}
	rec := events.New(events.DealObserved, events.DealKey(ev.Provider, ev.RecordID), events.ActorWebhook(ev.Provider), now).
		With("provider", ev.Provider).With("event_id", ev.ID).With("record_id", ev.RecordID).
		With("pipeline", ev.Pipeline).With("outcome", outcome)
	rec.ProgramID, rec.ProgramVersion = p.ID, p.Version
	if milestone >= 0 {
		rec = rec.With("milestone", p.Milestones[milestone].Name).With("milestone_index", strconv.Itoa(milestone))
	}
	if amount.minor > 0 {
		rec = rec.With("amount_minor", strconv.FormatInt(amount.minor, 10)).With("currency", amount.currency)
	}
	if at := ev.OccurredAt; !at.IsZero() && !at.After(now) {
		rec = rec.With("occurred_at", at.UTC().Format(time.RFC3339Nano))
	}
	return rec, true
}
