package kpis

// Report is a program's KPIs over a period: the JSON of GET /admin/kpis
// (docs/api.md, "KPIs"). Amounts are decimal strings in the program's
// currency (internal/money); ratios are JSON numbers, null when their
// denominator is zero. It is computed from counters only (Build), never
// from referrals.
type Report struct {
	Program string `json:"program"`
	// From and To are the period's first and last UTC days (YYYY-MM-DD),
	// both included.
	From string `json:"from"`
	To   string `json:"to"`
	// Period is the granularity asked for: day, week, month or custom.
	Period string `json:"period"`

	Referrals Referrals `json:"referrals"`
	// Funnel has one stage per milestone of the program, in order; the
	// first stage's conversion is from the accepted referrals.
	Funnel []Stage `json:"funnel"`
	// Lost and Expired count referrals that ended so in the period.
	Lost    int64 `json:"lost"`
	Expired int64 `json:"expired"`

	Revenue Amount `json:"revenue"`
	// RevenueOther is revenue counted in other currencies than the
	// program's (deals in another currency), left out of ROI.
	RevenueOther []Amount   `json:"revenue_other,omitempty"`
	RewardCost   RewardCost `json:"reward_cost"`
	// ROI is (revenue − paid + reversed) / (paid − reversed); null when the
	// net cost is zero or less.
	ROI *float64 `json:"roi"`
	// CostPerCustomer is (paid − reversed) / customers, a decimal string;
	// null when no customer was won in the period.
	CostPerCustomer *string `json:"cost_per_customer"`
	// Customers counts referrals that reached the program's last milestone.
	Customers int64 `json:"customers"`

	TimeToMilestone []TimeTo `json:"time_to_milestone"`
	Partners        Partners `json:"partners"`
	Cohorts         []Cohort `json:"cohorts"`
	// Series is the period's figures per UTC day, for charts.
	Series []DayPoint `json:"series"`
	// Experiments are the program's reward experiments, the running one
	// first, each over its whole life (not the period): experiments.go;
	// absent when the program never ran one.
	Experiments []Experiment `json:"experiments,omitempty"`
	// Lift compares referred deals with the CRM's other deals (lift.go);
	// absent when neither side has a deal in the period.
	Lift *Lift `json:"lift,omitempty"`
}

// Referrals counts referrals by what happened to them in the period:
// received (by reception day), accepted and rejected (by decision day).
type Referrals struct {
	Received int64 `json:"received"`
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
	// RejectedBy counts rejected referrals by verification reason code (a
	// referral with two reasons counts under both).
	RejectedBy map[string]int64 `json:"rejected_by"`
}

// Stage is one milestone of the funnel.
type Stage struct {
	Milestone string `json:"milestone"`
	Reached   int64  `json:"reached"`
	// Conversion is Reached over the previous stage's count (the accepted
	// referrals for the first milestone), e.g. 0.25; null when that is zero.
	Conversion *float64 `json:"conversion"`
}

// Amount is a decimal amount in a currency.
type Amount struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	// Minor is the same amount in minor units, for charts.
	Minor int64 `json:"minor"`
}

// RewardCost is what rewards cost in the period. Earned is the amount of
// rewards created minus those voided (created − voided = paid + still
// payable); Paid is rewards paid; Reversed is paid rewards clawed back.
type RewardCost struct {
	Earned   string `json:"earned"`
	Paid     string `json:"paid"`
	Reversed string `json:"reversed"`
	Currency string `json:"currency"`
}

// TimeTo is the time from reception to a milestone, in whole days, for the
// referrals that reached it in the period. Read from a bucketed histogram:
// the value is the lower bound of the bucket holding the median (p90), so
// it is exact to the bucket's width (Width*Days fields).
type TimeTo struct {
	Milestone  string   `json:"milestone"`
	Count      int64    `json:"count"`
	MedianDays *float64 `json:"median_days"`
	P90Days    *float64 `json:"p90_days"`
	// MedianWidthDays and P90WidthDays are the widths of those buckets
	// (1 below 15 days, 7 to 91, 30 to 361, then open-ended: 0).
	MedianWidthDays int `json:"median_width_days"`
	P90WidthDays    int `json:"p90_width_days"`
	// Buckets is the histogram itself: the non-empty buckets, in order.
	Buckets []DaysBucket `json:"buckets"`
}

// DaysBucket is one bucket of a time-to-milestone histogram: the
// referrals that took from FromDays to ToDays days (both included; ToDays
// null for the open bucket beyond a year).
type DaysBucket struct {
	FromDays int   `json:"from_days"`
	ToDays   *int  `json:"to_days"`
	Count    int64 `json:"count"`
}

// Partners is partner engagement. Partner figures are kept per calendar
// month: they cover the months the period touches (Months).
type Partners struct {
	// Active counts partners with at least one referral received.
	Active int64 `json:"active"`
	// ReferralsPerActive is referrals over active partners (null when none).
	ReferralsPerActive *float64 `json:"referrals_per_active"`
	Months             []string `json:"months"`
	// Top lists up to 10 partners, most referrals first (then customers,
	// then code).
	Top []PartnerFigures `json:"top"`
}

// PartnerFigures are one partner's clicks, referrals and customers.
type PartnerFigures struct {
	ReferrerID string `json:"referrer_id"` // the partner's code
	Clicks     int64  `json:"clicks"`
	Referrals  int64  `json:"referrals"`
	Customers  int64  `json:"customers"`
}

// Cohort is the referrals received in one month and the share of them that
// reached each milestone within 0, 1, 2, ... months of that month.
type Cohort struct {
	Month    string `json:"month"` // YYYY-MM
	Received int64  `json:"received"`
	// Reached maps a milestone to cumulative counts: Reached[m][k] referrals
	// of the cohort reached m within k months after their month.
	Reached map[string][]int64 `json:"reached"`
	// Share is Reached over Received (0 when none was received).
	Share map[string][]float64 `json:"share"`
}

// DayPoint is one UTC day of the period.
type DayPoint struct {
	Day       string `json:"day"` // YYYY-MM-DD
	Received  int64  `json:"received"`
	Accepted  int64  `json:"accepted"`
	Rejected  int64  `json:"rejected"`
	Customers int64  `json:"customers"`
	// RevenueMinor and PaidMinor are in the program currency's minor units.
	RevenueMinor int64 `json:"revenue_minor"`
	PaidMinor    int64 `json:"paid_minor"`
}

// Lift compares deals that were referred with the CRM's other deals: the
// deals no referral is linked to, at stages the program maps.
type Lift struct {
	Referred DealFigures `json:"referred"`
	Other    DealFigures `json:"other"`
}

// DealFigures are closed-deal figures of one group, with the sample size
// (Deals: won or lost in the period).
type DealFigures struct {
	// Opened: referrals accepted, or other deals first seen, in the period.
	Opened  int64    `json:"opened"`
	Deals   int64    `json:"deals"`
	Won     int64    `json:"won"`
	WinRate *float64 `json:"win_rate"`
	// MedianDaysToClose is for the won deals, from the referral's arrival
	// (or the other deal's first sighting), read like TimeTo's median.
	MedianDaysToClose *float64 `json:"median_days_to_close"`
	// AvgDeal is revenue (other deals: won amounts) in the program's
	// currency over Won, a decimal string; null without a won deal.
	AvgDeal *string `json:"avg_deal"`
	// AmountBands counts won other deals by amount band in the program's
	// currency (AmountBand's lower bound, in whole units).
	AmountBands map[string]int64 `json:"amount_bands,omitempty"`
}
