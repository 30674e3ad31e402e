package notify

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
)

// EventTypes are the domain events that can give an email: the detail
// types of the EventBridge rule of functions/notify.
//
//	referral.received          referral_received (partner), operator_new_referral
//	referral.verified          status in_review: operator_review;
//	                           status in_progress (accepted): referee_welcome
//	referral.reviewed          status in_progress (accepted after review): referee_welcome
//	referral.deal_event        milestone_reached, once per milestone reached
//	referral.closed            status rejected: referral_rejected
//	referral.needs_attention   operator_needs_attention
//	reward.created             status on_hold, the referrer's reward: reward_on_hold
//	reward.awaiting_approval   operator_reward_approval
//	reward.paid                the referrer's reward: reward_paid
//	reward.failed              operator_payout_failed
//	reward.rail_reversal       outcome refused: operator_reversal_refused
//
// "Accepted" is the referral moving to in_progress: verification approved
// it (referral.verified) or a review did (referral.reviewed, by an admin or
// the review deadline's default).
var EventTypes = []events.Type{
	events.ReferralReceived, events.ReferralVerified, events.ReferralReviewed,
	events.ReferralDealEvent, events.ReferralClosed, events.ReferralNeedsAttention,
	events.RewardCreated, events.RewardAwaitingApproval, events.RewardPaid,
	events.RewardFailed, events.RewardRailReversal,
}

// Facts are what an event's emails are written from, loaded by the
// caller: the program version the referral froze, the referral (with the
// referee's personal data), its referrer, and each recipient's
// preferences.
type Facts struct {
	Program  *program.Program
	Referral *referral.Referral
	Referrer *referral.Referrer // nil: the referral has none (no partner email)
	// PartnerKey is the partner's lifelong key (store.Partner.Key; the
	// referrer's code when empty), whose preference link speaks for them.
	PartnerKey string
	// PartnerOff and RefereeOff are the kinds the partner and the referee
	// switched off (their preferences).
	PartnerOff, RefereeOff []string
	// RefereeHash is the keyed hash of the referee's email (internal/privacy),
	// whose preference link speaks for them.
	RefereeHash string
}

// Outgoing is one email to send: to one recipient, claimed once under Key
// (the event id, or for a milestone the referral and milestone, so a
// milestone is announced once whichever events report it).
type Outgoing struct {
	Email
	To  string // the recipient (Message.To[0])
	Key string
}

// Plan decides and renders the emails event ev gives, one per recipient,
// in a fixed order: partner, referee, operators. Kinds the program or the
// recipient switched off are left out; an event that gives none returns
// nothing. The event carries ids only: every name, address and company
// comes from f.
func Plan(ev events.Event, f Facts, l Links) ([]Outgoing, error) {
	if f.Program == nil || f.Referral == nil {
		return nil, fmt.Errorf("notify: plan %s: program and referral are required", ev.Type)
	}
	pl := &planner{ev: ev, f: f, l: l}
	for _, k := range kindsFor(ev, f) {
		if err := pl.add(k); err != nil {
			return nil, fmt.Errorf("notify: plan %s %s: %w", ev.Type, k, err)
		}
	}
	return pl.out, nil
}

// kindsFor lists the kinds ev gives, before any is switched off.
func kindsFor(ev events.Event, f Facts) []Kind {
	referrerReward := ev.Get("party") == program.PartyReferrer
	accepted := ev.Status == string(referral.StatusInProgress)
	switch ev.Type {
	case events.ReferralReceived:
		return []Kind{KindReferralReceived, KindOperatorNewReferral}
	case events.ReferralVerified:
		if ev.Status == string(referral.StatusInReview) {
			return []Kind{KindOperatorReview}
		}
		if accepted {
			return []Kind{KindRefereeWelcome}
		}
	case events.ReferralReviewed:
		if accepted {
			return []Kind{KindRefereeWelcome}
		}
	case events.ReferralDealEvent:
		if ev.Get("milestone") != "" {
			return []Kind{KindMilestoneReached}
		}
	case events.ReferralClosed:
		if ev.Status == string(referral.StatusRejected) {
			return []Kind{KindReferralRejected}
		}
	case events.ReferralNeedsAttention:
		return []Kind{KindOperatorNeedsAttention}
	case events.RewardCreated:
		if referrerReward && ev.Status == "on_hold" {
			return []Kind{KindRewardOnHold}
		}
	case events.RewardAwaitingApproval:
		return []Kind{KindOperatorRewardApproval}
	case events.RewardPaid:
		if referrerReward {
			return []Kind{KindRewardPaid}
		}
	case events.RewardFailed:
		return []Kind{KindOperatorPayoutFailed}
	case events.RewardRailReversal:
		if ev.Get("outcome") == ReversalRefused {
			return []Kind{KindOperatorReversalRefused}
		}
	}
	return nil
}

// UnnamedCompany stands for a referred company whose name is not known.
const UnnamedCompany = "the company you referred"

type planner struct {
	ev  events.Event
	f   Facts
	l   Links
	out []Outgoing
}

// add renders kind k for each of its recipients who wants it.
func (pl *planner) add(k Kind) error {
	if !pl.f.Program.Sends(string(k)) {
		return nil
	}
	switch k.Audience() {
	case Partner:
		return pl.partner(k)
	case Referee:
		return pl.referee(k)
	}
	return pl.operators(k)
}

// base is the view every kind of the event starts from.
func (pl *planner) base(k Kind) View {
	r := pl.f.Referral
	company := r.RefereeCompany
	if company == "" {
		company = UnnamedCompany // erased on request, or never given
	}
	return View{
		Kind: k, Program: programName(pl.f.Program), Company: company,
		Referral: r.ID, Status: string(r.Status), Milestone: pl.ev.Get("milestone"),
		Amount: amount(pl.ev), Link: pl.l.Portal(),
	}
}

func (pl *planner) partner(k Kind) error {
	ref := pl.f.Referrer
	if ref == nil || ref.Email == "" || ref.State() == referral.ReferrerDisabled || slices.Contains(pl.f.PartnerOff, string(k)) {
		return nil
	}
	key := pl.f.PartnerKey
	if key == "" {
		key = ref.Code
	}
	prefs, err := pl.l.Preferences(Subscriber{ProgramID: pl.f.Program.ID, Code: key})
	if err != nil {
		return err
	}
	v := pl.base(k)
	v.Name, v.Code, v.Preferences = ref.Name, ref.Code, prefs
	if k == KindReferralRejected {
		v.Reasons = PartnerReasons(pl.f.Referral)
	}
	if k != KindMilestoneReached {
		return pl.emit(v, ref.Email, pl.ev.ID)
	}
	for _, m := range pl.milestones() {
		v.Milestone = m
		if err := pl.emit(v, ref.Email, pl.f.Referral.ID+"#milestone#"+m); err != nil {
			return err
		}
	}
	return nil
}

// milestones are the milestones the deal event announces: its milestone
// and, when the program says later implies earlier, each earlier one,
// keeping those the referral has recorded.
func (pl *planner) milestones() []string {
	name, p := pl.ev.Get("milestone"), pl.f.Program
	idx := slices.IndexFunc(p.Milestones, func(m program.Milestone) bool { return m.Name == name })
	if idx < 0 {
		return []string{name}
	}
	var out []string
	for _, i := range p.Implied(idx) {
		if m := p.Milestones[i].Name; m == name || pl.f.Referral.Reached(m) {
			out = append(out, m)
		}
	}
	return out
}

func (pl *planner) referee(k Kind) error {
	r := pl.f.Referral
	if r.RefereeEmail == "" || pl.f.RefereeHash == "" || slices.Contains(pl.f.RefereeOff, string(k)) {
		return nil // erased, or no way to give a preference link
	}
	prefs, err := pl.l.Preferences(Subscriber{ProgramID: pl.f.Program.ID, EmailHash: pl.f.RefereeHash})
	if err != nil {
		return err
	}
	v := pl.base(k)
	v.Name, v.Preferences, v.Link = r.RefereeName, prefs, ""
	v.Incentives = Incentives(pl.f.Program)
	return pl.emit(v, r.RefereeEmail, pl.ev.ID)
}

func (pl *planner) operators(k Kind) error {
	v := pl.base(k)
	v.Admin, v.Link = pl.l.Admin(pl.f.Referral.ID), ""
	if pl.f.Referrer != nil {
		v.Code = pl.f.Referrer.Code
	}
	switch k {
	case KindOperatorReview:
		v.Reasons = PartnerReasons(pl.f.Referral)
		if s := pl.f.Program.Review.DeadlineSeconds; s > 0 {
			v.Expires = durationSeconds(s)
		}
	case KindOperatorNeedsAttention:
		v.Reasons = attentionCause(pl.ev)
	case KindOperatorPayoutFailed, KindOperatorReversalRefused:
		payoutView(&v, pl.ev, pl.f)
	}
	for _, to := range pl.f.Program.Emails.Operators {
		if err := pl.emit(v, to, pl.ev.ID); err != nil {
			return err
		}
	}
	return nil
}

func (pl *planner) emit(v View, to, key string) error {
	m, err := render(pl.f.Program, v, to)
	if err != nil {
		return err
	}
	pl.out = append(pl.out, Outgoing{Email: Email{Kind: v.Kind, Message: m}, To: to, Key: key})
	return nil
}

// amount is a reward event's amount, "500.00 USD" ("" for other events).
func amount(ev events.Event) string {
	minor, err := strconv.ParseInt(ev.Get("amount_minor"), 10, 64)
	if err != nil || ev.Get("currency") == "" {
		return ""
	}
	return money.Format(minor, ev.Get("currency"))
}

// attentionCause is what an operator reads about a needs_attention event:
// the failure's name and its short cause (both free of personal data).
func attentionCause(ev events.Event) []string {
	var out []string
	if e := ev.Get("error"); e != "" {
		out = append(out, e)
	}
	if c := ev.Get("cause"); c != "" {
		out = append(out, referral.ShortCause(c))
	}
	return out
}
