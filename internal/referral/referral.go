// Package referral is the referral domain: statuses and their transitions,
// ids and status tokens, and the validation of a submitted referral form.
// It is pure code: time and randomness are passed in.
package referral

import (
	"errors"
	"time"
)

// ErrNotFound: the referral, or a record that leads to one (a CRM link),
// does not exist. Stores return it (wrapped) and consumers match it with
// errors.Is.
var ErrNotFound = errors.New("not found")

// Status is where a referral is in its journey (docs/api.md).
type Status string

// Referral statuses.
const (
	StatusReceived   Status = "received"
	StatusVerifying  Status = "verifying"
	StatusInReview   Status = "in_review"
	StatusRejected   Status = "rejected"
	StatusInProgress Status = "in_progress"
	StatusLost       Status = "lost"
	StatusExpired    Status = "expired"
	StatusCompleted  Status = "completed"
	// StatusNeedsAttention: a step kept failing (or the execution ended
	// early); Attention says why. Only a resume leaves it (attention.go).
	StatusNeedsAttention Status = "needs_attention"
)

// Terminal reports whether no further transition can leave s.
func (s Status) Terminal() bool {
	switch s {
	case StatusRejected, StatusLost, StatusExpired, StatusCompleted:
		return true
	}
	return false
}

// transitions lists, for each status, the statuses it may move to.
var transitions = map[Status][]Status{
	StatusReceived:   {StatusVerifying, StatusRejected, StatusNeedsAttention},
	StatusVerifying:  {StatusInReview, StatusInProgress, StatusRejected, StatusNeedsAttention},
	StatusInReview:   {StatusInProgress, StatusRejected, StatusNeedsAttention},
	StatusInProgress: {StatusLost, StatusExpired, StatusCompleted, StatusNeedsAttention},
	// StatusNeedsAttention moves back to Attention.From on resume only.
}

// From lists the statuses that may move to status to (for conditional writes).
func From(to Status) []Status {
	out := []Status{to}
	for from, tos := range transitions {
		for _, s := range tos {
			if s == to {
				out = append(out, from)
			}
		}
	}
	return out
}

// Referral is one referred company/person and where it stands. Personal data
// (names, emails, phone, message) lives only here and in the table, never in
// workflow payloads.
type Referral struct {
	ID             string `dynamodbav:"referral_id"`
	ProgramID      string `dynamodbav:"program_id"`
	ProgramVersion int    `dynamodbav:"program_version"`
	Status         Status `dynamodbav:"status"`

	ReferrerCode string `dynamodbav:"referrer_code"`
	// Experiment and Variant are the program's experiment and the variant
	// the referral was assigned when it was accepted ("" without one): its
	// rewards follow the variant's tiers (program.Program.TiersFor).
	Experiment string `dynamodbav:"experiment,omitempty"`
	Variant    string `dynamodbav:"variant,omitempty"`

	RefereeEmail   string `dynamodbav:"referee_email"`
	RefereeName    string `dynamodbav:"referee_name,omitempty"`
	RefereeCompany string `dynamodbav:"referee_company"`
	RefereeDomain  string `dynamodbav:"referee_domain,omitempty"`
	RefereePhone   string `dynamodbav:"referee_phone,omitempty"`
	Message        string `dynamodbav:"message,omitempty"`
	Country        string `dynamodbav:"country,omitempty"`
	Industry       string `dynamodbav:"industry,omitempty"`
	Employees      int    `dynamodbav:"employees,omitempty"`

	// StatusTokenHash is the SHA-256 of the referrer-facing status token.
	StatusTokenHash string `dynamodbav:"status_token_hash"`

	// Milestones maps a reached milestone to when it was first recorded.
	Milestones map[string]time.Time `dynamodbav:"milestones"`

	// Deal facts learned from the CRM.
	CRMProvider     string `dynamodbav:"crm_provider,omitempty"`
	CRMRecordID     string `dynamodbav:"crm_record_id,omitempty"`
	DealAmountMinor int64  `dynamodbav:"deal_amount_minor,omitempty"`
	DealCurrency    string `dynamodbav:"deal_currency,omitempty"`
	// LostAt is set when the CRM says the deal is lost or deleted.
	LostAt     *time.Time `dynamodbav:"lost_at,omitempty"`
	LostReason string     `dynamodbav:"lost_reason,omitempty"`

	// The manual review decision once made (the callbacks an execution
	// waits on are workflow.Callbacks, stored beside the referral).
	ReviewOutcome string `dynamodbav:"review_outcome,omitempty"`
	ReviewNote    string `dynamodbav:"review_note,omitempty"`

	// HandNotes say who recorded a milestone by hand and why (the reason
	// is a person's words: personal data, erased and expired with the
	// rest, never in events).
	HandNotes []MilestoneNote `dynamodbav:"milestone_notes,omitempty"`

	// Attention is why the referral needs attention (status
	// needs_attention); cleared when it is resumed.
	Attention *Attention `dynamodbav:"attention,omitempty"`

	// Verification outcome and reasons a person can read.
	Decision string   `dynamodbav:"decision,omitempty"`
	Reasons  []Reason `dynamodbav:"reasons,omitempty"`

	CreatedAt time.Time `dynamodbav:"created_at"`
	UpdatedAt time.Time `dynamodbav:"updated_at"`
}

// Reason explains a verification decision.
type Reason struct {
	Code    string `dynamodbav:"code" json:"code"`
	Message string `dynamodbav:"message" json:"message"`
}

// MilestoneNote is a milestone a person recorded by hand: who (the actor
// of its event), why, and when.
type MilestoneNote struct {
	Milestone string    `dynamodbav:"milestone" json:"milestone"`
	By        string    `dynamodbav:"by" json:"by"`
	Reason    string    `dynamodbav:"reason" json:"reason"`
	At        time.Time `dynamodbav:"at" json:"at"`
}

// HandNote is the note of milestone name when a person recorded it by
// hand (the first one), else nil.
func (r *Referral) HandNote(name string) *MilestoneNote {
	for i := range r.HandNotes {
		if r.HandNotes[i].Milestone == name {
			return &r.HandNotes[i]
		}
	}
	return nil
}

// Reached reports whether milestone name has been recorded.
func (r *Referral) Reached(name string) bool {
	_, ok := r.Milestones[name]
	return ok
}

// Referrer is a person or partner who refers companies to a program.
type Referrer struct {
	ProgramID string `dynamodbav:"program_id" json:"program_id"`
	Code      string `dynamodbav:"code" json:"code"`
	Email     string `dynamodbav:"email" json:"email"`
	Name      string `dynamodbav:"name,omitempty" json:"name,omitempty"`
	Company   string `dynamodbav:"company,omitempty" json:"company,omitempty"`
	Domain    string `dynamodbav:"domain,omitempty" json:"domain,omitempty"`
	// Status is the partner's standing (ReferrerActive when empty: referrers
	// created before partners had one are active).
	Status ReferrerStatus `dynamodbav:"status,omitempty" json:"status,omitempty"`
	// DisplayName is how the partner appears where other partners can see
	// it (a leaderboard); empty = anonymised there.
	DisplayName string    `dynamodbav:"display_name,omitempty" json:"display_name,omitempty"`
	CreatedAt   time.Time `dynamodbav:"created_at" json:"created_at"`
}

// ReferrerStatus is where a partner stands in a program.
type ReferrerStatus string

// Partner statuses. Only an active partner's code attributes referrals and
// clicks; the others answer like an unknown code.
const (
	ReferrerActive   ReferrerStatus = "active"
	ReferrerPending  ReferrerStatus = "pending"  // asked to join; an operator approves
	ReferrerInvited  ReferrerStatus = "invited"  // invited; active once they sign in
	ReferrerDisabled ReferrerStatus = "disabled" // an operator turned them off
)

// State is the referrer's status, ReferrerActive when none was recorded.
func (r *Referrer) State() ReferrerStatus {
	if r.Status == "" {
		return ReferrerActive
	}
	return r.Status
}

// Active reports whether the referrer's code attributes referrals.
func (r *Referrer) Active() bool { return r.State() == ReferrerActive }

// DealUpdate is what a CRM event teaches about a referral's deal.
type DealUpdate struct {
	Milestones  []string  // milestones reached (first record wins; never undone)
	ReachedAt   time.Time // when the CRM says they were reached (zero: now)
	Provider    string    // CRM provider, recorded with RecordID
	RecordID    string
	AmountMinor int64 // deal amount, 0 = unknown
	Currency    string
	Lost        bool   // the deal is lost or deleted
	LostReason  string // "lost", "deleted", "refunded"
	// Note, on a milestone a person records by hand, says who and why.
	Note *MilestoneNote
}

// ReferrerCounts are a referrer's referrals counted in the current UTC day
// and month, including the one that was just counted.
type ReferrerCounts struct {
	Today     int
	ThisMonth int
}
