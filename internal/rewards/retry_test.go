package rewards_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// refs answers one referral and its program, as the store would.
type refs struct {
	r *referral.Referral
	p *program.Program
}

func (f refs) Referral(_ context.Context, id string) (*referral.Referral, error) {
	if id != f.r.ID {
		return nil, referral.ErrNotFound
	}
	return f.r, nil
}

func (f refs) ProgramVersion(context.Context, string, int) (*program.Program, error) { return f.p, nil }

// TestRetryReArmsAndPaysOnce: an operator's retry pays a failed reward
// under a new key once; one the rail paid under the old key is recorded
// without a call; a payment whose outcome is unknown is said, not failed.
func TestRetryReArmsAndPaysOnce(t *testing.T) {
	cases := []struct {
		name      string
		heldOld   bool  // the rail holds a payment under the old key
		railErr   error // what the rail answers the new key
		wantCalls int
		wantSt    rewards.Status
		notPaid   bool
	}{
		{"paid under a new key", false, nil, 1, rewards.StatusPaid, false},
		{"the old payment recorded, nothing sent", true, nil, 0, rewards.StatusPaid, false},
		{"unknown outcome left sending for the runner", false, fmt.Errorf("test: hang-up: %w", rewards.ErrUnknownOutcome), 1, rewards.StatusSending, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, r, p := newEnv(), testReferral(), testProgram()
			ctx := context.Background()
			if _, err := e.svc.Hold(ctx, r, p, "qualified"); err != nil {
				t.Fatal(err)
			}
			rw, _ := e.repo.Get(refID, "qualified", "referrer")
			rw.Status, rw.StatusReason, rw.Rail = rewards.StatusFailed, "account closed", "bank"
			e.repo.Put(rw)
			if c.heldOld {
				e.rail.sent = map[string]bool{rw.IdempotencyKey: true}
			}
			e.rail.err = c.railErr
			notPaid, err := e.svc.Retry(ctx, rw, "admin", refs{r, p})
			stored, _ := e.repo.Get(refID, "qualified", "referrer")
			if err != nil || (notPaid != nil) != c.notPaid || len(e.rail.keys) != c.wantCalls || stored.Status != c.wantSt {
				t.Fatalf("retry: notPaid %v, err %v; rail calls %v; stored %s", notPaid, err, e.rail.keys, stored.Status)
			}
			if c.wantCalls == 1 && e.rail.keys[0] != rewards.KeyFor(rw.ID, 1) {
				t.Fatalf("sent under %s, want the new generation's key", e.rail.keys[0])
			}
		})
	}
}
