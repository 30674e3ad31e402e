package portal

import (
	"strings"

	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// Words a partner reads for statuses and names.

var referralWords = map[referral.Status]string{
	referral.StatusReceived:       "Received",
	referral.StatusVerifying:      "Being checked",
	referral.StatusInReview:       "Under review",
	referral.StatusRejected:       "Not accepted",
	referral.StatusInProgress:     "In progress",
	referral.StatusLost:           "Deal lost",
	referral.StatusExpired:        "Expired",
	referral.StatusCompleted:      "Completed",
	referral.StatusNeedsAttention: "Being looked at by our team",
}

// referralWord says a referral's status in words.
func referralWord(s referral.Status) string {
	if w, ok := referralWords[s]; ok {
		return w
	}
	return humanize(string(s))
}

var rewardWords = map[rewards.Status]string{
	rewards.StatusPending:  "Pending",
	rewards.StatusOnHold:   "On hold",
	rewards.StatusApproved: "Approved",
	rewards.StatusPaid:     "Paid",
	rewards.StatusFailed:   "Being looked at by our team",
	rewards.StatusVoided:   "Cancelled",
}

// rewardWord says a reward's status in words.
func rewardWord(s rewards.Status) string {
	if w, ok := rewardWords[s]; ok {
		return w
	}
	return humanize(string(s))
}

// humanize turns an identifier ("gift_card", "closed_won") into words
// ("Gift card", "Closed won").
func humanize(id string) string {
	s := strings.ReplaceAll(strings.ReplaceAll(id, "_", " "), "-", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
