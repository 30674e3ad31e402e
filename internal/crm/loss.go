package crm

import (
	"context"
	"strconv"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

// settleLoss applies a loss an event reports (u.Lost) to the rewards of
// referral cur, the referral as it is after the event was recorded, and
// adds what it did to record. Two losses are settled here:
//
//   - a refund, at any time: the sale it undoes is reversed at once;
//   - a loss (lost, deleted) of a referral that completed: the sale is
//     taken back as by a refund.
//
// On a referral that ended the loss is recorded first (its status and
// milestones stay as they were; every later payment or approval sees the
// loss). A loss of a referral still in progress is left to its workflow:
// its pay step voids the milestone the loss caught, and its closing step
// applies the loss (rewards.ApplyLoss, which a repeat leaves unchanged).
// A loss of a referral that ended otherwise (lost, expired, rejected)
// changes nothing: it had no sale to take back.
func (in *Ingester) settleLoss(ctx context.Context, ev *Event, cur *referral.Referral, p *program.Program, u referral.DealUpdate, record events.Event, now time.Time) (events.Event, error) {
	if !u.Lost || !(ev.Kind == KindRefunded || cur.Status == referral.StatusCompleted) {
		return record, nil
	}
	if cur.Status.Terminal() {
		w, err := in.Store.RecordDeal(ctx, cur.ID, referral.DealUpdate{Lost: true, LostReason: u.LostReason}, now)
		if err != nil {
			return record, err
		}
		cur = w.Referral
	}
	loss, err := in.Rewards.ApplyLoss(ctx, cur, p, events.ActorWebhook(ev.Provider))
	if err != nil {
		return record, err
	}
	return record.With("reversed", strconv.Itoa(loss.Reversed)), nil
}
