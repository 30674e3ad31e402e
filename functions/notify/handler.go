package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/logging"
	"github.com/referflow/referflow/internal/mail"
	"github.com/referflow/referflow/internal/metrics"
	"github.com/referflow/referflow/internal/notify"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// Store is what the handler reads and the mail claims it writes.
type Store interface {
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	CurrentPartner(ctx context.Context, programID, code string) (*store.Partner, error)
	ProgramVersion(ctx context.Context, id string, v int) (*program.Program, error)
	CurrentProgram(ctx context.Context, id string) (*program.Program, error)
	MailOff(ctx context.Context, programID, subscriber string) ([]string, error)
	ClaimMail(ctx context.Context, key, recipient, kind string, now time.Time) (store.MailClaim, error)
	FinishMail(ctx context.Context, key, recipient, status, detail string, now time.Time) error
	ReleaseMail(ctx context.Context, key, recipient string) error
	RecordMailActivity(ctx context.Context, programID, code, month string, f store.ActivityField, value string, now time.Time) error
	MailActivityOf(ctx context.Context, programID, code, month string) (*store.MailActivity, error)
	MailPrograms(ctx context.Context, month string) ([]string, error)
	PartnersOf(ctx context.Context, programID string, limit int, cursor string) ([]store.Partner, string, error)
	Reward(ctx context.Context, referralID, milestone, party string) (*rewards.Reward, error)
}

// Handler sends the emails of domain events (EventBridge rule targets)
// and, on its monthly schedule, the partners' summaries. Each email is
// claimed once per (event id, recipient) before it is sent: a repeated
// event sends nothing twice. A send that may pass later releases its claim
// and fails the invocation so EventBridge retries; one SES refuses for good
// keeps its claim, marked failed, and is logged without the address.
type Handler struct {
	Store  Store
	Sender mail.Sender
	// Keys hash recipients' addresses (claims) and referees' (preference
	// links).
	Keys privacy.Source
	// LinkSecrets reads notify.LinkSecretSetting (newest first).
	LinkSecrets func(ctx context.Context) ([]string, error)
	Base        string // REFERFLOW_PUBLIC_BASE_URL
	From        string // the sender of programs that name none (REFERFLOW_MAIL_FROM)
	Now         func() time.Time
	Log         *slog.Logger
	Metrics     *metrics.Emitter
}

// Scheduled events (the monthly summary) come from this source.
const scheduleSource = "aws.events"

// errInFlight: another attempt is sending the email; retry later.
var errInFlight = errors.New("notify: email being sent by another attempt")

// Handle takes one EventBridge event: a domain event (source referflow,
// detail the events.Event) or the monthly schedule.
func (h *Handler) Handle(ctx context.Context, in lambdaevents.EventBridgeEvent) error {
	if in.Source == scheduleSource {
		return h.Summaries(ctx, in.Time)
	}
	var ev events.Event
	if err := json.Unmarshal(in.Detail, &ev); err != nil {
		h.Log.Warn("undecodable event skipped", "detail_type", in.DetailType, "error", err)
		return nil
	}
	return h.Event(ctx, ev)
}

// Event sends the emails of one domain event.
func (h *Handler) Event(ctx context.Context, ev events.Event) error {
	log := logging.From(ctx, h.Log).With("event_id", ev.ID, "event_type", ev.Type, "referral_id", ev.ReferralID)
	switch {
	case !slices.Contains(notify.EventTypes, ev.Type):
		return nil
	case ev.Version > events.SchemaVersion || ev.ID == "":
		log.Warn("event skipped: unknown version or no id", "version", ev.Version)
		return nil
	}
	h.countRefusal(ev)
	f, err := h.facts(ctx, ev)
	if errors.Is(err, store.ErrNotFound) {
		log.Info("event skipped: referral or program gone")
		return nil
	}
	if err != nil {
		return err
	}
	if err := h.recordActivity(ctx, ev, f); err != nil {
		return err
	}
	links, err := h.links(ctx)
	if err != nil {
		return err
	}
	out, err := notify.Plan(ev, f, links)
	if err != nil {
		return err
	}
	return h.deliverAll(ctx, log, out)
}

// Metrics of payments and reversals a rail refused, counted with
// CountTotal: template.yaml alarms on their totals (PayoutsFailedAlarm,
// RailReversalsRefusedAlarm).
const (
	MetricPayoutsFailed        = "PayoutsFailed"
	MetricRailReversalsRefused = "RailReversalsRefused"
)

// countRefusal counts a reward.failed, or a reward.rail_reversal the rail
// refused, for the alarms, before anything else can fail: this function
// gets every such event whoever wrote it (the workflow's pay step, the
// payouts runner, an operator's re-arm), also when the program lists no
// operators or the referral is gone. An event retried after a failed send
// is counted again: the alarms fire on one, so a repeat changes nothing.
// Ids only: no personal datum reaches a metric.
func (h *Handler) countRefusal(ev events.Event) {
	name := ""
	switch {
	case ev.Type == events.RewardFailed:
		name = MetricPayoutsFailed
	case ev.Type == events.RewardRailReversal && ev.Get("outcome") == notify.ReversalRefused:
		name = MetricRailReversalsRefused
	default:
		return
	}
	h.Metrics.CountTotal(name, 1, "program", ev.ProgramID, "rail", ev.Get("rail"), "reward_id", ev.RewardID, "event_id", ev.ID)
}

// facts loads what the event's emails are written from.
func (h *Handler) facts(ctx context.Context, ev events.Event) (notify.Facts, error) {
	r, err := h.Store.Referral(ctx, ev.ReferralID)
	if err != nil {
		return notify.Facts{}, err
	}
	p, err := h.Store.ProgramVersion(ctx, r.ProgramID, r.ProgramVersion)
	if err != nil {
		return notify.Facts{}, err
	}
	f := notify.Facts{Program: p, Referral: r}
	if r.ReferrerCode != "" {
		partner, err := h.Store.CurrentPartner(ctx, r.ProgramID, r.ReferrerCode)
		switch {
		case err == nil:
			f.Referrer, f.PartnerKey = &partner.Referrer, partner.Key
			if f.PartnerOff, err = h.Store.MailOff(ctx, p.ID, notify.Subscriber{Code: partner.Key}.Key()); err != nil {
				return notify.Facts{}, err
			}
		case !errors.Is(err, store.ErrNotFound):
			return notify.Facts{}, err
		}
	}
	if r.RefereeEmail != "" && p.Sends(string(notify.KindRefereeWelcome)) {
		keys, err := h.Keys(ctx)
		if err != nil {
			return notify.Facts{}, fmt.Errorf("notify: %w", err)
		}
		f.RefereeHash = keys.Hash(privacy.Email, r.RefereeEmail)
		if f.RefereeOff, err = h.Store.MailOff(ctx, p.ID, notify.Subscriber{EmailHash: f.RefereeHash}.Key()); err != nil {
			return notify.Facts{}, err
		}
	}
	return f, nil
}

// recordActivity files what the monthly summary counts: a partner's new
// referral, reward earned and reward paid, under the month of the event.
func (h *Handler) recordActivity(ctx context.Context, ev events.Event, f notify.Facts) error {
	if f.Referrer == nil {
		return nil
	}
	field, value := store.ActivityField(""), f.Referral.ID
	reward := f.Referral.ID + "|" + ev.Get("milestone") + "|" + ev.Get("party")
	switch {
	case ev.Type == events.ReferralReceived:
		field = store.ActivityReferrals
	case ev.Type == events.RewardCreated && ev.Get("party") == program.PartyReferrer:
		field, value = store.ActivityRewards, reward
	case ev.Type == events.RewardPaid && ev.Get("party") == program.PartyReferrer:
		field, value = store.ActivityPaid, reward
	default:
		return nil
	}
	return h.Store.RecordMailActivity(ctx, f.Program.ID, f.PartnerKey, month(ev.At), field, value, h.Now())
}

// month is the "2006-01" of t in UTC.
func month(t time.Time) string { return t.UTC().Format("2006-01") }

func (h *Handler) links(ctx context.Context) (notify.Links, error) {
	secrets, err := h.LinkSecrets(ctx)
	if err != nil {
		return notify.Links{}, fmt.Errorf("notify: read %s: %w", notify.LinkSecretSetting, err)
	}
	if len(secrets) == 0 {
		return notify.Links{}, notify.ErrNoLinkSecret
	}
	return notify.Links{Base: h.Base, Secret: secrets[0], Now: h.Now}, nil
}

// deliverAll sends each email, going on after a failure so one bad
// address does not hold back the others; the first failure that may pass
// is returned (EventBridge retries the event; sent emails stay claimed).
func (h *Handler) deliverAll(ctx context.Context, log *slog.Logger, out []notify.Outgoing) error {
	var first error
	for _, o := range out {
		if err := h.deliver(ctx, log, o); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// deliver claims, sends and records one email.
func (h *Handler) deliver(ctx context.Context, log *slog.Logger, o notify.Outgoing) error {
	log = log.With("kind", o.Kind)
	now := h.Now()
	claim, err := h.Store.ClaimMail(ctx, o.Key, o.To, string(o.Kind), now)
	switch {
	case err != nil:
		return err
	case claim == store.MailDone:
		log.Info("email already sent")
		return nil
	case claim == store.MailInFlight:
		return errInFlight
	}
	m := o.Message
	if m.From == "" {
		m.From = h.From
	}
	id, err := h.Sender.Send(ctx, m)
	if errors.Is(err, mail.ErrInvalid) {
		// The error may quote an address: ShortCause masks it.
		cause := referral.ShortCause(err.Error())
		log.Warn("email refused for good", "cause", cause)
		h.Metrics.Count("EmailsRefused", 1, "kind", string(o.Kind))
		return h.Store.FinishMail(ctx, o.Key, o.To, store.MailFailed, cause, h.Now())
	}
	if err != nil {
		if rerr := h.Store.ReleaseMail(ctx, o.Key, o.To); rerr != nil {
			log.Error("release mail claim", "error", referral.ShortCause(rerr.Error()))
		}
		return fmt.Errorf("notify: send %s: %w", o.Kind, err)
	}
	log.Info("email sent", "message_id", id)
	h.Metrics.Count("EmailsSent", 1, "kind", string(o.Kind))
	if err := h.Store.FinishMail(ctx, o.Key, o.To, store.MailSent, id, h.Now()); err != nil {
		// Sent: failing the event now would send it again once the
		// claim's lease is over. The claim keeps it from a quick retry.
		log.Error("record sent email", "error", err)
	}
	return nil
}
