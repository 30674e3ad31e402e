package crm

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/program"
)

// An event about a CRM record no referral is linked to yet is parked, not
// dropped: the delivery is answered 2xx (counted as untracked, so the CRM
// does not retry for days), and the event is kept, with ids and deal facts
// only, until the program's unlinked_events_ttl. When the record links to
// a referral (a later event carries its referral id or the contact's
// email, or a referral is created whose email matches, see AdoptReferral),
// the parked events are applied first, in the order they happened, each
// once: it is claimed for a short lease, applied through the one path every
// event takes (its dedupe record then holds its real outcome), and removed.

// ParkedGroup is where parked events are filed: by the CRM record they are
// about or, for events that name no record, by the contact's email.
type ParkedGroup struct {
	Provider string
	RecordID string // "" for a group of events that name no record
	Email    string // lower-cased; set only when RecordID is ""
}

// Parked is an event kept until a referral is linked to its record.
type Parked struct {
	Group ParkedGroup
	// Event is the event as parked (after enrichment); its Email is never
	// kept: the store files the group under a keyed hash of it.
	Event     Event
	ParkedAt  time.Time
	ExpiresAt time.Time
	// Key is where the store keeps it (opaque; set by ClaimParked).
	Key string
}

// ParkedStore keeps parked events; internal/store implements it.
type ParkedStore interface {
	// ParkEvent keeps p until p.ExpiresAt; when email is not "", the
	// group can also be found by it (ParkedGroups). Parking an event again
	// replaces its copy, unless a caller holds it.
	ParkEvent(ctx context.Context, p Parked, email string) error
	// ParkedGroups lists the groups events were parked in under email.
	ParkedGroups(ctx context.Context, email string) ([]ParkedGroup, error)
	// ClaimParked claims until now+lease the unexpired events of g that
	// no other caller holds, and reports whether another caller holds some.
	ClaimParked(ctx context.Context, g ParkedGroup, now time.Time, lease time.Duration) (claimed []Parked, busy bool, err error)
	// ReleaseParked gives claimed events back, unapplied.
	ReleaseParked(ctx context.Context, ps []Parked) error
	// UnparkEvent removes an event once applied (or expired).
	UnparkEvent(ctx context.Context, p Parked) error
	// CurrentProgram reads a program's current version.
	CurrentProgram(ctx context.Context, id string) (*program.Program, error)
}

// ErrParkedBusy: another delivery is applying events parked for the same
// record; this one is retried (5xx) so that they are applied in order.
var ErrParkedBusy = errors.New("crm: parked events of this record are being applied elsewhere; retry")

// ParkLease is how long a caller holds the parked events it claimed; a
// caller that dies holding them delays them by at most this long.
const ParkLease = 2 * time.Minute

// ttlFor is how long the deployment's default program's TTL is reused.
const ttlFor = 5 * time.Minute

// ttlCache remembers the TTL of the deployment's default program.
type ttlCache struct {
	mu  sync.Mutex
	at  time.Time
	ttl time.Duration
}

// groupOf is the group ev is parked in: its record, else its email.
func groupOf(ev *Event) ParkedGroup {
	if ev.RecordID != "" {
		return ParkedGroup{Provider: ev.Provider, RecordID: ev.RecordID}
	}
	return ParkedGroup{Provider: ev.Provider, Email: ev.Email}
}

// park keeps an event no referral is linked to, then looks for a link once
// more (one may have appeared meanwhile: a concurrent event or referral
// either sees the parked event or is seen here). It returns the referral
// now linked, or "" with the event finished as untracked. An event that
// names neither a record nor an email could never link: it is not kept.
func (in *Ingester) park(ctx context.Context, ev *Event, now time.Time, log *slog.Logger) (string, error) {
	if ev.RecordID != "" || ev.Email != "" {
		p := Parked{Group: groupOf(ev), Event: *ev, ParkedAt: now, ExpiresAt: now.Add(in.unlinkedTTL(ctx, log))}
		p.Event.Email = ""
		if err := in.Store.ParkEvent(ctx, p, ev.Email); err != nil {
			return "", err
		}
		id, linked, err := in.link(ctx, ev)
		if err != nil {
			return "", err
		}
		if id != "" && !linked && ev.RecordID != "" {
			return in.Store.PutLink(ctx, ev.Provider, ev.RecordID, id, now)
		}
		if id != "" {
			return id, nil
		}
		log.Info("event about a record no referral is linked to: kept until a referral is", "expires_at", p.ExpiresAt)
		if err := in.observe(ctx, ev, now, log); err != nil {
			return "", err
		}
	} else {
		log.Info("event names no record and no contact: untracked")
	}
	return "", in.Store.FinishEvent(ctx, ev.Provider, ev.ID, OutcomeUntracked, "", now)
}

// adoptFor applies, before ev itself, the events parked for ev's record
// (and for its email, when it carries one) now that ev links to referral id.
func (in *Ingester) adoptFor(ctx context.Context, ev *Event, id string, now time.Time, log *slog.Logger) error {
	var groups []ParkedGroup
	if ev.RecordID != "" {
		groups = append(groups, ParkedGroup{Provider: ev.Provider, RecordID: ev.RecordID})
	}
	if ev.Email != "" {
		groups = append(groups, ParkedGroup{Provider: ev.Provider, Email: ev.Email})
	}
	for _, g := range groups {
		if _, err := in.adoptGroup(ctx, g, id, ev.ID, now, log); err != nil {
			return err
		}
	}
	return nil
}

// AdoptReferral applies the events parked under the email of referral id
// (a referral created after the CRM reported its deal): each record is
// linked to it (first link wins: a record linked to another referral has
// its events applied there), then its events are applied in order. It
// returns how many events were applied. The workflow calls it before each
// milestone wait, so what was parked is honoured when the wait begins.
func (in *Ingester) AdoptReferral(ctx context.Context, id string) (int, error) {
	r, err := in.Store.Referral(ctx, id)
	if err != nil || r.RefereeEmail == "" {
		return 0, err
	}
	groups, err := in.Store.ParkedGroups(ctx, r.RefereeEmail)
	if err != nil {
		return 0, err
	}
	now := in.Now().UTC()
	n := 0
	for _, g := range groups {
		to := id
		if g.RecordID != "" {
			if to, err = in.Store.PutLink(ctx, g.Provider, g.RecordID, id, now); err != nil {
				return n, err
			}
		}
		log := in.Log.With("provider", g.Provider, "record_id", g.RecordID)
		k, err := in.adoptGroup(ctx, g, to, "", now, log)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// adoptGroup applies the parked events of g to referral id, oldest first,
// and removes them; the event skip (being applied by its own delivery) and
// expired events are only removed. Events held by another caller make it
// apply nothing and return ErrParkedBusy.
func (in *Ingester) adoptGroup(ctx context.Context, g ParkedGroup, id, skip string, now time.Time, log *slog.Logger) (int, error) {
	ps, busy, err := in.Store.ClaimParked(ctx, g, now, ParkLease)
	switch {
	case err != nil:
		in.release(ctx, ps, log)
		return 0, err
	case busy:
		in.release(ctx, ps, log)
		return 0, ErrParkedBusy
	case len(ps) == 0:
		return 0, nil
	}
	slices.SortStableFunc(ps, func(a, b Parked) int {
		return cmp.Or(happened(a).Compare(happened(b)), a.ParkedAt.Compare(b.ParkedAt), cmp.Compare(a.Event.ID, b.Event.ID))
	})
	ttl, err := in.referralTTL(ctx, id)
	if err != nil {
		in.release(ctx, ps, log)
		return 0, err
	}
	n := 0
	for i, p := range ps {
		if p.Event.ID != skip && !now.After(p.ParkedAt.Add(ttl)) {
			ev := p.Event
			if _, err := in.applyTo(ctx, &ev, id, now, log.With("parked_event_id", ev.ID)); err != nil {
				in.release(ctx, ps[i:], log)
				return n, err
			}
			n++
		}
		if err := in.Store.UnparkEvent(ctx, p); err != nil {
			in.release(ctx, ps[i+1:], log)
			return n, err
		}
	}
	log.Info("parked events applied", "referral_id", id, "applied", n, "removed", len(ps))
	return n, nil
}

// happened is when a parked event happened: the CRM's time, else when it
// was parked.
func happened(p Parked) time.Time {
	if !p.Event.OccurredAt.IsZero() {
		return p.Event.OccurredAt
	}
	return p.ParkedAt
}

func (in *Ingester) release(ctx context.Context, ps []Parked, log *slog.Logger) {
	if len(ps) == 0 {
		return
	}
	if err := in.Store.ReleaseParked(ctx, ps); err != nil {
		log.Warn("parked events not released: they wait for their lease to end", "error", err)
	}
}

// referralTTL is the unlinked-events TTL of referral id's program: events
// parked longer ago than it are not applied to it.
func (in *Ingester) referralTTL(ctx context.Context, id string) (time.Duration, error) {
	r, err := in.Store.Referral(ctx, id)
	if err != nil {
		return 0, err
	}
	p, err := in.Store.ProgramVersion(ctx, r.ProgramID, r.ProgramVersion)
	if err != nil {
		return 0, err
	}
	return p.UnlinkedEventsTTL(), nil
}

// unlinkedTTL is how long an event is parked before any referral is known:
// the unlinked_events_ttl of the deployment's default program (read at most
// every ttlFor), else program.DefaultUnlinkedEventsTTL.
func (in *Ingester) unlinkedTTL(ctx context.Context, log *slog.Logger) time.Duration {
	if in.DefaultProgram == "" {
		return program.DefaultUnlinkedEventsTTL
	}
	c := &in.ttl
	c.mu.Lock()
	defer c.mu.Unlock()
	now := in.Now()
	if !c.at.IsZero() && now.Sub(c.at) < ttlFor {
		return c.ttl
	}
	p, err := in.Store.CurrentProgram(ctx, in.DefaultProgram)
	if err != nil {
		log.Warn("default program unreadable: parked events get the default TTL", "program", in.DefaultProgram, "error", err)
		return program.DefaultUnlinkedEventsTTL
	}
	c.at, c.ttl = now, p.UnlinkedEventsTTL()
	return c.ttl
}
