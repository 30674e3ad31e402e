// Package program defines a referral program as data: who may be referred,
// the ordered milestones and the CRM stages that mean each, what each
// milestone earns, and the limits on spending. Programs are loaded from YAML
// or JSON, validated, and published as immutable versions; each referral
// freezes the version it was accepted under.
package program

// SchemaVersion is the version of the program file format this code reads.
const SchemaVersion = 1

// Program is one referral program. All durations are whole seconds in the
// loaded form (files may write "30d", "12h", "90s").
type Program struct {
	Schema  int    `json:"schema"`  // file format version (SchemaVersion)
	ID      string `json:"id"`      // stable id, [a-z0-9-], used in API calls
	Version int    `json:"version"` // set on publish; 0 in a file
	Name    string `json:"name"`

	Currency    string   `json:"currency"`      // ISO 4217 default for rewards
	SiteOrigins []string `json:"site_origins"`  // CORS origins of the marketing sites
	ThankYouURL string   `json:"thank_you_url"` // 303 target for HTML form posts
	// Links: referral links /r/{code} and the embed's attribution (links.go).
	Links Links `json:"links,omitzero"`

	Eligibility Eligibility `json:"eligibility"`
	Review      Review      `json:"review"`

	// Milestones in the order a deal reaches them.
	Milestones []Milestone `json:"milestones"`
	// Lost lists the CRM stages/statuses that mean the deal is lost.
	Lost []StageMatch `json:"lost"`
	// LaterImpliesEarlier: reaching a milestone also records every earlier one.
	LaterImpliesEarlier bool `json:"later_implies_earlier"`

	Tiers    []Tier   `json:"tiers"`
	Caps     Caps     `json:"caps"`
	Approval Approval `json:"approval"`
	Payout   Payout   `json:"payout"`

	// Experiment, when set, runs reward variants whose tiers replace Tiers
	// for the referrals assigned to them (experiment.go); nil: none.
	Experiment *Experiment `json:"experiment,omitempty"`

	// RewardsOnLoss says what happens, when the deal is lost on the way to
	// a later milestone, to the rewards of earlier milestones that were
	// earned (their holding period over) but wait for a person:
	// RewardsOnLossKeep (the default) leaves them to be approved and paid,
	// RewardsOnLossVoid voids them. Paid rewards stay paid either way; a
	// refund, or a loss after the last milestone, takes back the last
	// milestone's rewards (internal/rewards, loss.go).
	RewardsOnLoss string `json:"rewards_on_loss,omitempty"`
	// Subscription pays a reward per paid invoice of the referred
	// customer's Stripe subscription (subscription.go); nil: none.
	Subscription *Subscription `json:"subscription,omitempty"`

	// CurrencyRates converts deals in another currency into the program's
	// (deals.go): currency code -> exact decimal rate, "1.08" meaning
	// 1 unit of that currency = 1.08 program units. A deal in a currency
	// without a rate is recorded in its own currency and sent to review.
	CurrencyRates map[string]string `json:"currency_rates,omitempty"`
	// UnlinkedEventsTTLSeconds is how long CRM events about deals not yet
	// linked to a referral are kept; 0 = DefaultUnlinkedEventsTTL.
	UnlinkedEventsTTLSeconds int64 `json:"unlinked_events_ttl_seconds,omitempty"`

	// Emails is who sends and receives the program's emails, which are
	// switched off and their wording (emails.go).
	Emails EmailSettings `json:"emails"`

	// Partners is who may join as a partner, the portal's leaderboard and
	// how long sign-in links and portal sessions last (partners.go).
	Partners Partners `json:"partners"`
}

// Eligibility decides what a valid referral is.
type Eligibility struct {
	// AllowSelfReferral: false rejects a referee with the referrer's email or
	// company domain.
	AllowSelfReferral bool `json:"allow_self_referral"`
	// RequireCompanyDomain: reject free-mail and disposable domains.
	RequireCompanyDomain bool `json:"require_company_domain"`
	// BlockedDomains are never eligible (exact or parent domain match).
	BlockedDomains []string `json:"blocked_domains"`
	// CustomerDomains are existing customers (existing-customer policy).
	CustomerDomains []string `json:"customer_domains"`
	// ExistingCustomer: "reject" or "review" (default "reject").
	ExistingCustomer string `json:"existing_customer"`
	// Velocity limits per referrer.
	MaxPerReferrerPerDay   int `json:"max_per_referrer_per_day"`
	MaxPerReferrerPerMonth int `json:"max_per_referrer_per_month"`
	// ICP criteria applied when the form supplies the field.
	Countries     []string `json:"countries"`       // ISO 3166 alpha-2
	Industries    []string `json:"industries"`      // free text, case-insensitive
	MinEmployees  int      `json:"min_employees"`   // 0 = no minimum
	MaxEmployees  int      `json:"max_employees"`   // 0 = no maximum
	OnICPMismatch string   `json:"on_icp_mismatch"` // "reject" or "review"
}

// Review is the manual review step.
type Review struct {
	DeadlineSeconds int64  `json:"deadline_seconds"` // how long a reviewer has
	Default         string `json:"default"`          // "approve" or "reject" when the deadline passes
}

// Milestone is one step of the deal that earns rewards.
type Milestone struct {
	Name            string       `json:"name"`             // e.g. "qualified", "won"
	DeadlineSeconds int64        `json:"deadline_seconds"` // max wait once the wait begins
	HoldSeconds     int64        `json:"hold_seconds"`     // holding period before payout
	Stages          []StageMatch `json:"stages"`           // CRM stages that mean this milestone
	Rewards         []Reward     `json:"rewards"`
}

// StageMatch matches a CRM event. Empty Pipeline matches any pipeline; a
// match needs Stage or Status (or both).
type StageMatch struct {
	Provider string `json:"provider"` // a CRM provider's name (internal/crm/providers)
	Pipeline string `json:"pipeline,omitempty"`
	Stage    string `json:"stage,omitempty"`
	Status   string `json:"status,omitempty"` // won / lost
}

// Parties that receive rewards.
const (
	PartyReferrer = "referrer"
	PartyReferee  = "referee"
)

// Reward kinds.
const (
	KindCash     = "cash"
	KindCredit   = "credit"
	KindDiscount = "discount"
	KindGiftCard = "gift_card"
)

// Reward is what a party earns when a milestone is reached.
type Reward struct {
	Party       string `json:"party"`
	Kind        string `json:"kind"`
	Currency    string `json:"currency"`     // defaults to the program currency
	AmountMinor int64  `json:"amount_minor"` // fixed amount in minor units
	// PercentBasisPoints pays a share of the deal amount (1000 = 10%),
	// bounded by FloorMinor and CeilingMinor (0 = none).
	PercentBasisPoints int64  `json:"percent_bp"`
	FloorMinor         int64  `json:"floor_minor"`
	CeilingMinor       int64  `json:"ceiling_minor"`
	Description        string `json:"description"`
}

// Tier multiplies referrer rewards by the referrer's count of successful
// referrals in a period: the tier with the highest From not above the
// referral's rank applies.
type Tier struct {
	From            int    `json:"from"`             // rank of the successful referral (1-based)
	MultiplierBP    int64  `json:"multiplier_bp"`    // 15000 = 1.5x
	Period          string `json:"period"`           // "month", "quarter", "year", "all"
	CountsMilestone string `json:"counts_milestone"` // which milestone makes a referral successful (default last)
}

// Caps bound spending.
type Caps struct {
	Period           string `json:"period"`             // "month", "quarter", "year", "all"
	PerReferrerMinor int64  `json:"per_referrer_minor"` // 0 = no cap
	BudgetMinor      int64  `json:"budget_minor"`       // program budget per period, 0 = none
	OnExhausted      string `json:"on_exhausted"`       // "review" or "next_period"
}

// Approval decides which rewards need a person.
type Approval struct {
	// AutoBelowMinor: rewards below this are approved automatically;
	// at or above it they wait for manual approval. 0 = all automatic.
	AutoBelowMinor int64 `json:"auto_below_minor"`
}

// Payout says through which rail each kind of reward is paid, and when.
type Payout struct {
	// Method is the rail of every kind Rails does not name: "ledger" (the
	// default: finance pays from the ledger export), "manual" (finance pays
	// payout batches with the payees' details), "stripe", "paypal" or
	// "tremendous" (gift cards).
	Method string `json:"method" yaml:"method"`
	// Rails names the rail of a reward kind (cash, credit, discount,
	// gift_card), e.g. {cash: stripe, discount: stripe, gift_card: tremendous}.
	Rails map[string]string `json:"rails,omitempty" yaml:"rails,omitempty"`
	// Schedule is when rewards whose hold is over are paid: "at_once" (the
	// default), or gathered and paid "weekly" (Mondays) or "monthly" (the
	// 1st), 00:00 UTC.
	Schedule string `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	// MinimumMinor: a scheduled payout pays a party only once what it is
	// owed in a currency reaches this amount (minor units); less waits for
	// the next payout day. 0 = no minimum.
	MinimumMinor int64 `json:"minimum_minor,omitempty" yaml:"minimum_minor,omitempty"`
}

// RailFor is the rail that pays rewards of kind under p (Payout.Rails, else
// Payout.Method, else the ledger).
func (p *Program) RailFor(kind string) string {
	if r := p.Payout.Rails[kind]; r != "" {
		return r
	}
	if p.Payout.Method != "" {
		return p.Payout.Method
	}
	return PayoutLedger
}

// Payout schedules.
const (
	ScheduleAtOnce  = "at_once"
	ScheduleWeekly  = "weekly"
	ScheduleMonthly = "monthly"
)

// ProviderGeneric is the name of the generic provider (Standard Webhooks,
// internal/crm/generic), whose stages are the sender's own words: Match
// compares them ignoring case and reads a stage named after a milestone as
// that milestone. Which providers a StageMatch may name is the provider
// registry's to say (Providers).
const ProviderGeneric = "generic"

// Deal statuses a StageMatch may test (Salesforce IsWon/IsClosed, Pipedrive
// status, generic senders).
const (
	StatusWon  = "won"
	StatusLost = "lost"
)

// LostName is the reserved name that means "the deal is lost"; no milestone
// may use it, and generic senders may send it as a stage.
const LostName = "lost"

// Periods for tiers and caps.
const (
	PeriodMonth   = "month"
	PeriodQuarter = "quarter"
	PeriodYear    = "year"
	PeriodAll     = "all"
)

// Policies for Eligibility.ExistingCustomer, Eligibility.OnICPMismatch and
// Review.Default.
const (
	PolicyReject  = "reject"
	PolicyReview  = "review"
	PolicyApprove = "approve"
)

// What RewardsOnLoss may say.
const (
	RewardsOnLossKeep = "keep"
	RewardsOnLossVoid = "void"
)

// KeepsRewardsOnLoss reports whether earned rewards waiting for a person
// stay payable when the deal is lost on the way to a later milestone
// (RewardsOnLoss; a program stored before the field existed keeps them).
func (p *Program) KeepsRewardsOnLoss() bool { return p.RewardsOnLoss != RewardsOnLossVoid }

// OnExhaustedNextPeriod defers a reward that does not fit a cap to the next
// period (the alternative is PolicyReview).
const OnExhaustedNextPeriod = "next_period"

// Payout rails a program may name (rewards.Rail* are the same names).
const (
	// PayoutLedger: rewards are written to the ledger and finance pays
	// from its export. The default.
	PayoutLedger     = "ledger"
	PayoutManual     = "manual"
	PayoutStripe     = "stripe"
	PayoutPayPal     = "paypal"
	PayoutTremendous = "tremendous"
)

// Defaults applied to a loaded program when the file leaves a field out.
const (
	DefaultCurrency              = "USD"
	DefaultReviewDeadlineSeconds = 7 * 24 * 3600
)
