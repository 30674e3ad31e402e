// Package seed loads programs and referrers into a deployment's table: the
// operator CLI uses it against AWS, the local stack at start-up.
package seed

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/crm/providers"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// Overrides shorten a program's waits for local runs and tests (waits take
// real time locally). Zero fields change nothing.
type Overrides struct {
	HoldSeconds           int64 // every milestone's holding period
	DeadlineSeconds       int64 // every milestone's deadline
	ReviewDeadlineSeconds int64
}

// Apply changes p in place.
func (o Overrides) Apply(p *program.Program) {
	for i := range p.Milestones {
		if o.HoldSeconds > 0 && p.Milestones[i].HoldSeconds > 0 {
			p.Milestones[i].HoldSeconds = o.HoldSeconds
		}
		if o.DeadlineSeconds > 0 {
			p.Milestones[i].DeadlineSeconds = o.DeadlineSeconds
		}
	}
	if o.ReviewDeadlineSeconds > 0 {
		p.Review.DeadlineSeconds = o.ReviewDeadlineSeconds
	}
}

// PublishProgram validates program file data, applies overrides and
// publishes it as the program's next version (or the current one, when
// unchanged). It returns the program as published.
func PublishProgram(ctx context.Context, st *store.Store, data []byte, o Overrides, now time.Time) (*program.Program, error) {
	p, err := program.Load(data, program.Providers(providers.Names()...))
	if err != nil {
		return nil, err
	}
	o.Apply(p)
	v, err := st.PublishProgram(ctx, p, now)
	if err != nil {
		return nil, err
	}
	p.Version = v
	return p, nil
}

// AddReferrer creates or replaces a referrer; its company domain defaults
// to its email's domain.
func AddReferrer(ctx context.Context, st *store.Store, r referral.Referrer, now time.Time) error {
	r.Email = strings.ToLower(strings.TrimSpace(r.Email))
	if r.Code == "" || r.ProgramID == "" || !strings.Contains(r.Email, "@") {
		return fmt.Errorf("seed: a referrer needs a program, a code and an email")
	}
	if r.Domain == "" {
		r.Domain = r.Email[strings.LastIndexByte(r.Email, '@')+1:]
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now.UTC()
	}
	return st.PutReferrer(ctx, r)
}
