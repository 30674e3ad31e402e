package console

import (
	"context"
	"net/http"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// queueSize bounds each queue on the home page.
const queueSize = 50

// referralRow is a referral in a list.
type referralRow struct {
	*referral.Referral
	Href string
}

// rewardRow is a reward in a queue, with what it waits for.
type rewardRow struct {
	rewards.Reward
	Action string // rewards.ActionReverse: a refused reversal
	At     time.Time
	Amount string
	Href   string // the referral's page
	Base   string // the reward's action path, /console/rewards/{referral}/{milestone}/{party}
}

// queuesData is the home page: the four queues.
type queuesData struct {
	Review, Attention []referralRow
	Approval, Failed  []rewardRow
}

// queues answers GET /console: referrals waiting for review, rewards
// waiting for approval, referrals needing attention, failed payouts.
func (h *Handler) queues(r *Request) apigw.Response {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return h.NotFound(r)
	}
	var d queuesData
	var err error
	if d.Review, err = h.inStatus(r.Ctx, referral.StatusInReview); err == nil {
		d.Attention, err = h.inStatus(r.Ctx, referral.StatusNeedsAttention)
	}
	if err == nil {
		d.Approval, err = h.rewardQueue(r.Ctx, h.Store.AwaitingApproval)
	}
	if err == nil {
		d.Failed, err = h.rewardQueue(r.Ctx, h.Store.FailedRewards)
	}
	if err != nil {
		r.Log.Error("read queues failed", "error", err)
		return h.Unavailable(r)
	}
	return h.Render(r, http.StatusOK, "queues", "Queues", d)
}

// inStatus lists the newest referrals in status (status index, then one
// batch read).
func (h *Handler) inStatus(ctx context.Context, status referral.Status) ([]referralRow, error) {
	page, err := h.Store.ReferralsByStatus(ctx, string(status), time.Time{}, time.Time{}, queueSize, "")
	if err != nil {
		return nil, err
	}
	return h.rows(ctx, page.IDs)
}

// rows reads referrals by id, in the order of ids (missing ones skipped).
func (h *Handler) rows(ctx context.Context, ids []string) ([]referralRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	byID, err := h.Store.ReferralsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]referralRow, 0, len(ids))
	for _, id := range ids {
		if r := byID[id]; r != nil {
			out = append(out, referralRow{Referral: r, Href: "/console/referrals/" + id})
		}
	}
	return out, nil
}

// rewardQueue reads the rewards a filing lists (one read per reward, at
// most queueSize).
func (h *Handler) rewardQueue(ctx context.Context, list func(context.Context, int) ([]rewards.Due, error)) ([]rewardRow, error) {
	due, err := list(ctx, queueSize)
	if err != nil {
		return nil, err
	}
	out := make([]rewardRow, 0, len(due))
	for _, d := range due {
		rw, err := h.Store.Reward(ctx, d.ReferralID, d.Milestone, d.Party)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rewardRowOf(*rw, d.Action, d.At))
	}
	return out, nil
}

func rewardRowOf(rw rewards.Reward, action string, at time.Time) rewardRow {
	return rewardRow{Reward: rw, Action: action, At: at, Amount: moneyOf(rw.AmountMinor, rw.Currency),
		Href: "/console/referrals/" + rw.ReferralID,
		Base: "/console/rewards/" + rw.ReferralID + "/" + rw.Milestone + "/" + rw.Party}
}
