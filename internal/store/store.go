// Package store keeps all of Referflow's state in one DynamoDB table. Every
// change that must not happen twice is a conditional write; every change
// that must happen together is one transaction. No request path scans.
//
// Items (PK / SK):
//
//	PROGRAM#<id>          / CURRENT                 current published version
//	PROGRAM#<id>          / V#<000001>              an immutable program version
//	PROGRAM#<id>          / REFERRER#<code>         a referrer
//	PROGRAM#<id>          / PAYEE#<key>             a partner's payout method and details (personal data; payees.go)
//	PROGRAM#<id>          / MAILPREF#<subscriber>   email kinds a partner or referee switched off (mail.go)
//	PROGRAM#<id>          / MAILMONTH#<m>#<key>     a partner's activity in a month, for its summary (TTL; mail.go)
//	MAILMONTH#<m>         / PROGRAM#<id>            programs with partner activity in a month (TTL; mail.go)
//	MAIL#<key>#<h>        / MAIL                    one email's claim: sent once per event and recipient (TTL 30 days; mail.go)
//	CODE#<code>           / CODE                    reserves a referral code across programs (referrers.go)
//	PARTNER-EMAIL#<h>     / PROGRAM#<program>       a partner's email → its code in the program (sign-in; referrers.go)
//	PARTNER#<program>#<key> / REFERRAL#<created>#<id> a partner's referrals (partners.go)
//	PROGRAM#<id>          / BOARD#<yyyy-mm>#<key>   the month's leaderboard count of a partner (TTL; partners.go)
//	SIGNIN#<sha256>       / SIGNIN                  a portal or console sign-in link's token (TTL; portal.go)
//	RATE#<scope>#<h>#<t>  / RATE                    portal sign-in requests in a window (TTL; portal.go)
//	SESSION#<sha256>      / SESSION                 a portal or console session, by kind (TTL; sessions.go)
//	AUDIT#<yyyy-mm>       / <time>#<nonce>          an operator's action in the console (audit.go)
//	CLICKS#<program>#<code> / DAY#<yyyy-mm-dd>      clicks on a referral link that day (clicks.go)
//	CLICKS#<program>#<code> / VISITOR#<day>#<h>     a visitor counted that day (TTL 2 days; <h> hashes IP, User-Agent, day)
//	REFERRAL#<id>         / REFERRAL                the referral (GSI1: STATUS#<status>)
//	REFERRAL#<id>         / PERSON                  a closed referral's personal data (TTL: retention)
//	REFERRAL#<id>         / PAYEE                   the referee's payee: its Stripe customer (personal data, erased with the person; payees.go)
//	REFERRAL#<id>         / REWARD#<milestone>#<party> a reward (referrer rewards, GSI1: PARTNER-REWARDS#<program>#<key>; partner_rewards.go)
//	REFERRAL#<id>         / EVENT#<time>#<suffix>   a domain event: the activity log; the table's stream publishes it to EventBridge (GSI1: EVENTS#<yyyy-mm-dd>; records.go)
//	DEDUPE#<program>#<k>  / DEDUPE                  one referral per email / company domain (<k>: email#<h>, domain#<h>)
//	EMAIL#<h>             / REFERRAL#<id>           referee email → referrals (webhook linking, erasure)
//	CRM#<provider>#<rec>  / LINK                    CRM record → referral
//	EVENT#<provider>#<id> / EVENT                   webhook event dedupe (TTL)
//	PARKED#<provider>#<g> / EVENT#<id>              a CRM event about a deal not linked yet (TTL; parked.go)
//	PARKED-EMAIL#<h>      / <provider>#<g>          where events were parked under an email (TTL)
//	IDEMPOTENCY#<key>     / IDEMPOTENCY             intake Idempotency-Key answers (TTL)
//	LEDGER#<reward>       / ENTRY#<type>            ledger entries (GSI1: LEDGER#<period>)
//	LEDGER#<reward>       / BATCHED#<entry>         claims a ledger entry for its payout batch (finance.go)
//	PAYOUT-BATCH#<id>     / BATCH, LINE#<entry>     a payout batch and its lines (ids and amounts; finance.go)
//	WEBHOOKS              / ENDPOINT#<id>           an outbound webhook endpoint (outbound.go)
//	FEEDBACK#<program>#<m> / PARTNER#<key>          a partner's answer to the monthly summary's question: score, comment (TTL; feedback.go)
//	FEEDBACK#<program>#<m> / COUNTS                 the month's answers added up, in the same transaction as each answer (feedback.go)
//	WEBHOOK#<endpoint>    / DELIVERY#<id>           a delivery and its attempts (TTL 30 days; GSI1 while pending: WEBHOOK-DUE / <due>#…)
//	KPI#<program>         / DAY#<d>, PARTNER#<m>#<code>, COHORT#<m>, EXP#<experiment>#<variant> KPI counters (internal/kpis; kpis.go)
//	KPI-EVENT#<event id>  / KPI-EVENT               a domain event applied to the KPI counters (TTL 14 days; kpis.go)
//	KPI-REF#<referral id> / STATE                   what the KPI counters counted of a referral (kpis.go)
//	KPI-DEAL#<program>#<deal key> / STATE           what the KPI counters counted of a CRM deal no referral is linked to (kpis_deals.go)
//	EXPORT#<id>           / EXPORT, CHUNK#<n>       an operator's CSV export, its cursor and its chunks (TTL a day; exports.go)
//
// <h> is a keyed hash of the referee's email or domain (internal/privacy),
// never the value: see people.go for personal data, its retention and
// erasure.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// DynamoDB is the part of the DynamoDB API the store uses.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store is the table.
type Store struct {
	db    DynamoDB
	table string
	keys  privacy.Source // hashes emails and domains into keys (WithKeys)
}

// New returns a Store over table.
func New(db DynamoDB, table string) *Store { return &Store{db: db, table: table} }

// Table is the table name.
func (s *Store) Table() string { return s.table }

// Errors callers match with errors.Is.
var (
	// ErrNotFound is referral.ErrNotFound, so that consumers that must not
	// import the store (internal/crm) can match it.
	ErrNotFound  = referral.ErrNotFound
	ErrDuplicate = errors.New("store: already exists")
	ErrConflict  = errors.New("store: condition not met")
)

// Attribute names of the key schema and indexes (template.yaml matches).
const (
	attrPK      = "PK"
	attrSK      = "SK"
	attrGSI1PK  = "GSI1PK"
	attrGSI1SK  = "GSI1SK"
	attrExpires = "expires_at"
	// IndexByStatus is GSI1: referrals by status, ledger entries by
	// period, events by day, due webhook deliveries, a partner's referrer
	// rewards.
	IndexByStatus = "GSI1"
)

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: s(pk), attrSK: s(sk)}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: fmt.Sprint(v)}
}

// ts formats times the way the table stores them (sortable, UTC, ms).
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// conditionFailed reports whether err is a failed condition on a single write.
func conditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

// cancelReasons returns the per-item cancellation codes of a cancelled
// transaction, or nil when err is not a cancellation.
func cancelReasons(err error) []string {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return nil
	}
	out := make([]string, len(tc.CancellationReasons))
	for i, r := range tc.CancellationReasons {
		if r.Code != nil {
			out[i] = *r.Code
		}
	}
	return out
}

// onlyConditionFailed reports whether err is a cancelled transaction whose
// only causes are failed conditions (not conflicts or throttling, which are
// transient and must be retried).
func onlyConditionFailed(err error) bool {
	reasons := cancelReasons(err)
	if reasons == nil {
		return false
	}
	failed := false
	for _, r := range reasons {
		switch r {
		case "", "None":
		case "ConditionalCheckFailed":
			failed = true
		default:
			return false
		}
	}
	return failed
}

// The store is the repository of every consumer in internal/ (the
// functions assert theirs in their main.go).
var (
	_ rewards.Repository = (*Store)(nil)
	_ crm.Store          = (*Store)(nil)
)

// statusIn is the condition "#st IN (:f0, :f1, ...)" over statuses, adding
// the values it names to vals (#st must name the status attribute).
func statusIn[S ~string](statuses []S, vals map[string]types.AttributeValue) string {
	keys := make([]string, len(statuses))
	for i, st := range statuses {
		keys[i] = fmt.Sprintf(":f%d", i)
		vals[keys[i]] = s(string(st))
	}
	return "#st IN (" + strings.Join(keys, ", ") + ")"
}
