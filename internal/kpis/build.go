package kpis

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/money"
)

// Program is what Build needs of the program: its id, currency and
// milestones in order.
type Program struct {
	ID         string
	Currency   string
	Milestones []string
	// Experiment is the running experiment (ExperimentOf; nil: none).
	Experiment *ExperimentDef
}

// TopPartners is how many partners Report.Partners.Top lists.
const TopPartners = 10

// Build computes the KPIs of program p over period from the counter items
// read for it (store.KPICounters: the period's days, the partner items and
// cohorts of the months it touches). Items outside the period are ignored,
// so a caller may read more.
func Build(p Program, per Period, items []Item) Report {
	r := Report{Program: p.ID, From: day(per.From), To: day(per.To), Period: per.Kind,
		Referrals: Referrals{RejectedBy: map[string]int64{}}}
	tot := map[string]int64{}
	byDay := map[string]map[string]int64{}
	partners := map[string]*PartnerFigures{}
	var cohorts []Item
	months := per.Months()
	for _, it := range items {
		switch {
		case strings.HasPrefix(it.SK, DayPrefix):
			d := strings.TrimPrefix(it.SK, DayPrefix)
			if d < r.From || d > r.To {
				continue
			}
			byDay[d] = it.N
			for k, v := range it.N {
				tot[k] += v
			}
		case strings.HasPrefix(it.SK, PartnerPrefix):
			month, code, ok := strings.Cut(strings.TrimPrefix(it.SK, PartnerPrefix), "#")
			if !ok || !slices.Contains(months, month) {
				continue
			}
			f := partners[code]
			if f == nil {
				f = &PartnerFigures{ReferrerID: code}
				partners[code] = f
			}
			f.Referrals += it.N[PartnerReferrals]
			f.Customers += it.N[Customers]
		case strings.HasPrefix(it.SK, CohortPrefix):
			if slices.Contains(months, strings.TrimPrefix(it.SK, CohortPrefix)) {
				cohorts = append(cohorts, it)
			}
		}
	}
	r.Referrals.Received, r.Referrals.Accepted, r.Referrals.Rejected = tot[Received], tot[Accepted], tot[Rejected]
	r.Lost, r.Expired, r.Customers = tot[Lost], tot[Expired], tot[Customers]
	prefix := Rejected + ":"
	for k, v := range tot {
		if code, ok := strings.CutPrefix(k, prefix); ok && v != 0 {
			r.Referrals.RejectedBy[code] = v
		}
	}
	r.Funnel, r.TimeToMilestone = funnel(p.Milestones, r.Referrals.Accepted, tot)
	money3(&r, p.Currency, tot)
	r.Partners = partnerFigures(partners, months)
	r.Cohorts = cohortFigures(cohorts, p.Milestones, per.To)
	r.Series = series(per, byDay, p.Currency)
	r.Experiments = experimentFigures(p, items)
	r.Lift = lift(p, tot)
	return r
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// ratio is a/b rounded to 4 decimals, nil when b is 0.
func ratio(a, b int64) *float64 {
	if b == 0 {
		return nil
	}
	v := math.Round(float64(a)/float64(b)*1e4) / 1e4
	return &v
}

func funnel(milestones []string, accepted int64, tot map[string]int64) ([]Stage, []TimeTo) {
	stages := make([]Stage, 0, len(milestones))
	times := make([]TimeTo, 0, len(milestones))
	prev := accepted
	for _, m := range milestones {
		n := tot[Name(Reached, m)]
		stages = append(stages, Stage{Milestone: m, Reached: n, Conversion: ratio(n, prev)})
		prev = n
		times = append(times, timeTo(m, tot))
	}
	return stages, times
}

// timeTo reads milestone m's histogram: the median and p90 are the lower
// bounds of the buckets holding the ceil(n/2)-th and ceil(0.9n)-th values.
func timeTo(m string, tot map[string]int64) TimeTo {
	prefix := Name(TTM, m) + ":"
	var los []int
	counts := map[int]int64{}
	var n int64
	for k, v := range tot {
		s, ok := strings.CutPrefix(k, prefix)
		lo, err := strconv.Atoi(s)
		if !ok || err != nil || v <= 0 {
			continue
		}
		los = append(los, lo)
		counts[lo] = v
		n += v
	}
	slices.Sort(los)
	t := TimeTo{Milestone: m, Count: n, Buckets: []DaysBucket{}}
	if n == 0 {
		return t
	}
	for _, lo := range los {
		b := DaysBucket{FromDays: lo, Count: counts[lo]}
		if _, w := Bucket(lo); w > 0 {
			to := lo + w - 1
			b.ToDays = &to
		}
		t.Buckets = append(t.Buckets, b)
	}
	at := func(rank int64) (*float64, int) {
		var seen int64
		for _, lo := range los {
			seen += counts[lo]
			if seen >= rank {
				v := float64(lo)
				_, w := Bucket(lo)
				return &v, w
			}
		}
		return nil, 0
	}
	t.MedianDays, t.MedianWidthDays = at((n + 1) / 2)
	t.P90Days, t.P90WidthDays = at((9*n + 9) / 10)
	return t
}

// money3 fills revenue, reward cost, ROI and cost per customer in the
// program's currency; revenue in other currencies is listed apart.
func money3(r *Report, cur string, tot map[string]int64) {
	rev, paid, rev2 := tot[Name(Revenue, cur)], tot[Name(Paid, cur)], tot[Name(Reversed, cur)]
	r.Revenue = Amount{Amount: money.FormatMinor(rev, cur), Currency: cur, Minor: rev}
	r.RewardCost = RewardCost{Earned: money.FormatMinor(tot[Name(Earned, cur)], cur),
		Paid: money.FormatMinor(paid, cur), Reversed: money.FormatMinor(rev2, cur), Currency: cur}
	if net := paid - rev2; net > 0 {
		v := math.Round(float64(rev-net)/float64(net)*1e4) / 1e4
		r.ROI = &v
	}
	r.CostPerCustomer = perCustomer(paid-rev2, r.Customers, cur)
	prefix := Revenue + ":"
	for k, v := range tot {
		if c, ok := strings.CutPrefix(k, prefix); ok && c != cur && v != 0 {
			r.RevenueOther = append(r.RevenueOther, Amount{Amount: money.FormatMinor(v, c), Currency: c, Minor: v})
		}
	}
	slices.SortFunc(r.RevenueOther, func(a, b Amount) int { return strings.Compare(a.Currency, b.Currency) })
}

func partnerFigures(by map[string]*PartnerFigures, months []string) Partners {
	p := Partners{Months: months, Top: []PartnerFigures{}}
	var refs int64
	for _, f := range by {
		if f.Referrals > 0 {
			p.Active++
			refs += f.Referrals
		}
		p.Top = append(p.Top, *f)
	}
	p.ReferralsPerActive = ratio(refs, p.Active)
	slices.SortFunc(p.Top, func(a, b PartnerFigures) int {
		switch {
		case a.Referrals != b.Referrals:
			return int(b.Referrals - a.Referrals)
		case a.Customers != b.Customers:
			return int(b.Customers - a.Customers)
		}
		return strings.Compare(a.ReferrerID, b.ReferrerID)
	})
	if len(p.Top) > TopPartners {
		p.Top = p.Top[:TopPartners]
	}
	return p
}

func cohortFigures(items []Item, milestones []string, to time.Time) []Cohort {
	out := make([]Cohort, 0, len(items))
	for _, it := range items {
		month := strings.TrimPrefix(it.SK, CohortPrefix)
		start, err := time.Parse("2006-01", month)
		if err != nil {
			continue
		}
		span := MonthsAfter(start, to) + 1
		c := Cohort{Month: month, Received: it.N[Received], Reached: map[string][]int64{}, Share: map[string][]float64{}}
		for _, m := range milestones {
			cum := make([]int64, span)
			share := make([]float64, span)
			var run int64
			for k := range span {
				run += it.N[Name(Reached, m, strconv.Itoa(k))]
				cum[k] = run
				if v := ratio(run, c.Received); v != nil {
					share[k] = *v
				}
			}
			c.Reached[m], c.Share[m] = cum, share
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Cohort) int { return strings.Compare(a.Month, b.Month) })
	return out
}

func series(per Period, byDay map[string]map[string]int64, cur string) []DayPoint {
	var out []DayPoint
	for d := per.From; !d.After(per.To); d = d.AddDate(0, 0, 1) {
		n := byDay[day(d)]
		out = append(out, DayPoint{Day: day(d), Received: n[Received], Accepted: n[Accepted], Rejected: n[Rejected],
			Customers: n[Customers], RevenueMinor: n[Name(Revenue, cur)], PaidMinor: n[Name(Paid, cur)]})
	}
	return out
}
