package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/workflow"
)

func referralKey(id string) map[string]types.AttributeValue {
	return key("REFERRAL#"+id, "REFERRAL")
}

func statusIndex(st referral.Status, at time.Time, id string) (string, string) {
	return "STATUS#" + string(st), ts(at) + "#" + id
}

// NewReferral is what CreateReferral writes besides the referral itself.
type NewReferral struct {
	Referral *referral.Referral
	// Idempotency, when set, is stored in the same transaction so that a
	// repeated request finds the first answer.
	Idempotency *apigw.IdempotencyRecord
	// Event records the referral's arrival (events.ReferralReceived).
	Event events.Event
	// Retention is how long the referral's personal data is kept once it
	// is closed (0: DefaultRetention).
	Retention time.Duration
	// PartnerKey is the key of the partner the referral is filed under
	// (Partner.Key; "" = the referrer code): ReferralsByPartner lists it.
	PartnerKey string
	// CountsMilestone is the milestone whose first recording counts the
	// referral on its program's monthly leaderboard ("" = never counted).
	CountsMilestone string
}

// CreateReferral writes the referral, its dedupe keys, its email link, its
// entry in its partner's list (partners.go), the idempotency record and
// its received event in one transaction. The keys
// hold keyed hashes of the email and domain (WithKeys); the same values
// hashed under older secrets must be free too. A dedupe key past its
// expiry (a closed referral's, TTL deletes lazily) is free.
// ErrDuplicate: the referee's email or company domain is already referred
// in this program. ErrConflict: the idempotency key was taken meanwhile.
func (st *Store) CreateReferral(ctx context.Context, nr NewReferral) error {
	h, err := st.hasher(ctx)
	if err != nil {
		return err
	}
	r := nr.Referral
	if r.Milestones == nil {
		r.Milestones = map[string]time.Time{}
	}
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return fmt.Errorf("store: marshal referral: %w", err)
	}
	for k, v := range referralKey(r.ID) {
		item[k] = v
	}
	gpk, gsk := statusIndex(r.Status, r.CreatedAt, r.ID)
	item[attrGSI1PK], item[attrGSI1SK] = s(gpk), s(gsk)
	if nr.Retention > 0 {
		item[attrRetention] = n(int64(nr.Retention / time.Second))
	}
	partnerFields(item, nr)
	tx := []types.TransactWriteItem{{Put: &types.Put{TableName: &st.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}}}
	keys, isDedupe := st.personKeys(h, r, item)
	dedupeAt := map[int]bool{}
	for i, d := range isDedupe {
		dedupeAt[len(tx)+i] = d
	}
	tx = append(tx, keys...)
	idemAt := -1
	if nr.Idempotency != nil {
		ii, err := idempotencyItem(nr.Idempotency)
		if err != nil {
			return err
		}
		idemAt = len(tx)
		// A record past its expiry is free again: TTL deletes it lazily.
		tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &st.table, Item: ii,
			ConditionExpression:       aws.String("attribute_not_exists(PK) OR expires_at < :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": n(r.CreatedAt.Unix())},
		}})
	}
	act, err := eventItem(nr.Event)
	if err != nil {
		return err
	}
	tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &st.table, Item: act}}, st.partnerIndexItem(r, nr.PartnerKey))

	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
	if reasons := cancelReasons(err); reasons != nil && onlyConditionFailed(err) {
		if idemAt >= 0 && reasons[idemAt] == "ConditionalCheckFailed" {
			return fmt.Errorf("store: idempotency key in use: %w", ErrConflict)
		}
		for i, code := range reasons {
			if code == "ConditionalCheckFailed" && dedupeAt[i] {
				return fmt.Errorf("store: referee already referred: %w", ErrDuplicate)
			}
		}
		return fmt.Errorf("store: create referral: %w", err)
	}
	if err != nil {
		return fmt.Errorf("store: create referral: %w", err)
	}
	return nil
}

// Referral reads a referral (strongly consistent) with its personal data,
// also once it has moved to the PERSON item of a closed referral (absent
// once expired or erased).
func (st *Store) Referral(ctx context.Context, id string) (*referral.Referral, error) {
	item, err := st.referralItem(ctx, id, true)
	if err != nil {
		return nil, err
	}
	return decodeReferral(item)
}

// referralItem reads a referral's item (strongly consistent), with its
// personal data merged back in when person is set, or ErrNotFound.
func (st *Store) referralItem(ctx context.Context, id string, person bool) (map[string]types.AttributeValue, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: referralKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("store: get referral: %w", err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("store: referral %s: %w", id, ErrNotFound)
	}
	if person {
		if err := st.withPerson(ctx, id, out.Item); err != nil {
			return nil, err
		}
	}
	return out.Item, nil
}

// decodeWaiting decodes a referral item with the callbacks stored on it.
func decodeWaiting(item map[string]types.AttributeValue) (*workflow.Waiting, error) {
	r, err := decodeReferral(item)
	if err != nil {
		return nil, err
	}
	w := &workflow.Waiting{Referral: r}
	if err := attributevalue.UnmarshalMap(item, &w.Callbacks); err != nil {
		return nil, fmt.Errorf("store: decode callbacks: %w", err)
	}
	return w, nil
}

// Waiting reads a referral with the callbacks its execution waits on
// (strongly consistent), or ErrNotFound.
func (st *Store) Waiting(ctx context.Context, id string) (*workflow.Waiting, error) {
	item, err := st.referralItem(ctx, id, true)
	if err != nil {
		return nil, err
	}
	return decodeWaiting(item)
}

func decodeReferral(item map[string]types.AttributeValue) (*referral.Referral, error) {
	var r referral.Referral
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return nil, fmt.Errorf("store: decode referral: %w", err)
	}
	if r.Milestones == nil {
		r.Milestones = map[string]time.Time{}
	}
	return &r, nil
}

// Transition moves a referral to status to when its current status allows
// it (referral.From), setting extra attributes and recording ev in the same
// transaction. Moving to the status it already has succeeds and changes
// nothing else (and records nothing) when the status is terminal. A final
// status also moves the referral's personal data to its expiring PERSON
// item (close, people.go). ErrConflict: the move is not allowed.
func (st *Store) Transition(ctx context.Context, id string, to referral.Status, now time.Time, set map[string]any, ev events.Event) error {
	if to.Terminal() {
		return st.close(ctx, id, to, now, set, ev)
	}
	u, err := newStatusUpdate(id, to, now, set)
	if err != nil {
		return err
	}
	cond := "attribute_exists(PK) AND " + statusIn(referral.From(to), u.values)
	put, err := st.putEvent(ev)
	if err != nil {
		return err
	}
	tx := []types.TransactWriteItem{{Update: &types.Update{
		TableName: &st.table, Key: referralKey(id),
		UpdateExpression: aws.String(u.expr()), ConditionExpression: &cond,
		ExpressionAttributeNames: u.names, ExpressionAttributeValues: u.values,
	}}, put}
	for attempt := 1; ; attempt++ {
		_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		reasons := cancelReasons(err)
		switch {
		case err == nil:
			return nil
		case len(reasons) > 0 && reasons[0] == "ConditionalCheckFailed":
			cur, gerr := st.Referral(ctx, id)
			if gerr != nil {
				return gerr
			}
			if cur.Status == to {
				return nil
			}
			return fmt.Errorf("store: referral %s is %s, cannot become %s: %w", id, cur.Status, to, ErrConflict)
		case reasons == nil || attempt > maxTransientRetries:
			return fmt.Errorf("store: transition referral: %w", err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}

// SetWait stores the task token the workflow waits on for milestone and
// returns the referral as it is after the write, so the caller can see a
// milestone (or a lost deal) recorded before the wait began.
func (st *Store) SetWait(ctx context.Context, id, milestone, token string, now time.Time) (*workflow.Waiting, error) {
	return st.setToken(ctx, id, "SET wait_milestone = :m, wait_token = :t, updated_at = :u", map[string]types.AttributeValue{
		":m": s(milestone), ":t": s(token), ":u": s(now.UTC().Format(time.RFC3339Nano)),
	})
}

// StartWait records when the workflow first began waiting for milestone
// (the first call wins, across executions of the same referral) and
// returns that time: a milestone's deadline runs from it.
func (st *Store) StartWait(ctx context.Context, id, milestone string, now time.Time) (time.Time, error) {
	out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: referralKey(id),
		UpdateExpression:          aws.String("SET #ws = if_not_exists(#ws, :now)"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeNames:  map[string]string{"#ws": "wait_started:" + milestone},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": s(now.UTC().Format(time.RFC3339Nano))},
		// ALL_NEW, not UPDATED_NEW: an if_not_exists that keeps the old
		// value is "not updated" for moto, and the old value is the answer.
		ReturnValues: types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return time.Time{}, fmt.Errorf("store: referral %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: start wait: %w", err)
	}
	v, ok := out.Attributes["wait_started:"+milestone].(*types.AttributeValueMemberS)
	if !ok {
		return time.Time{}, fmt.Errorf("store: start wait: no time returned")
	}
	return time.Parse(time.RFC3339Nano, v.Value)
}

// SetReviewWait stores the task token of the manual review and returns the
// referral after the write (a decision made before the wait began shows).
func (st *Store) SetReviewWait(ctx context.Context, id, token string, now time.Time) (*workflow.Waiting, error) {
	return st.setToken(ctx, id, "SET review_token = :t, updated_at = :u", map[string]types.AttributeValue{
		":t": s(token), ":u": s(now.UTC().Format(time.RFC3339Nano)),
	})
}

// RecordReview stores a reviewer's decision once: the first decision wins.
// It returns the referral after the write and whether this call decided.
func (st *Store) RecordReview(ctx context.Context, id, outcome, note string, now time.Time) (*workflow.Waiting, bool, error) {
	cond := "attribute_exists(PK) AND attribute_not_exists(review_outcome) AND #st = :inreview"
	out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: referralKey(id),
		UpdateExpression:         aws.String("SET review_outcome = :o, review_note = :n, updated_at = :u"),
		ConditionExpression:      &cond,
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":o": s(outcome), ":n": s(note), ":u": s(now.UTC().Format(time.RFC3339Nano)), ":inreview": s(string(referral.StatusInReview)),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		r, gerr := st.Waiting(ctx, id)
		return r, false, gerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: record review: %w", err)
	}
	r, err := decodeWaiting(out.Attributes)
	return r, true, err
}

func (st *Store) setToken(ctx context.Context, id, expr string, values map[string]types.AttributeValue) (*workflow.Waiting, error) {
	cond := "attribute_exists(PK)"
	out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: referralKey(id),
		UpdateExpression: &expr, ConditionExpression: &cond,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return nil, fmt.Errorf("store: referral %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: set wait: %w", err)
	}
	return decodeWaiting(out.Attributes)
}

// RecordDeal applies a CRM update to a referral in one write and returns
// the referral after it. Milestones only move forward: a milestone keeps
// the time it was first reached (u.ReachedAt, the CRM's time, or now). A
// lost deal keeps its first lost time.
func (st *Store) RecordDeal(ctx context.Context, id string, u referral.DealUpdate, now time.Time) (*workflow.Waiting, error) {
	at := s(now.UTC().Format(time.RFC3339Nano))
	reached := at
	if !u.ReachedAt.IsZero() {
		reached = s(u.ReachedAt.UTC().Format(time.RFC3339Nano))
	}
	names := map[string]string{}
	values := map[string]types.AttributeValue{":now": at}
	expr := "SET updated_at = :now"
	for i, m := range u.Milestones {
		nk := fmt.Sprintf("#m%d", i)
		names[nk] = m
		values[":reached"] = reached
		expr += fmt.Sprintf(", milestones.%s = if_not_exists(milestones.%s, :reached)", nk, nk)
	}
	if u.RecordID != "" {
		expr += ", crm_provider = if_not_exists(crm_provider, :p), crm_record_id = if_not_exists(crm_record_id, :r)"
		values[":p"], values[":r"] = s(u.Provider), s(u.RecordID)
	}
	if u.AmountMinor > 0 {
		expr += ", deal_amount_minor = :a, deal_currency = :c"
		values[":a"], values[":c"] = n(u.AmountMinor), s(u.Currency)
	}
	if u.Lost {
		expr += ", lost_at = if_not_exists(lost_at, :now), lost_reason = if_not_exists(lost_reason, :lr)"
		values[":lr"] = s(u.LostReason)
	}
	if u.Note != nil { // a milestone recorded by hand: who and why (personal data, people.go)
		note, err := attributevalue.Marshal([]referral.MilestoneNote{*u.Note})
		if err != nil {
			return nil, fmt.Errorf("store: marshal milestone note: %w", err)
		}
		expr += ", milestone_notes = list_append(if_not_exists(milestone_notes, :nonotes), :note)"
		values[":note"], values[":nonotes"] = note, &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	}
	cond := "attribute_exists(PK)"
	in := &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: referralKey(id),
		UpdateExpression: &expr, ConditionExpression: &cond,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	}
	if len(names) > 0 {
		in.ExpressionAttributeNames = names
	}
	out, err := st.db.UpdateItem(ctx, in)
	if conditionFailed(err) {
		return nil, fmt.Errorf("store: referral %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: record deal: %w", err)
	}
	if len(u.Milestones) > 0 {
		// The leaderboard counts the referral once its counted milestone is
		// reached (partners.go); a failure is retried with the event.
		if err := st.countOnBoard(ctx, out.Attributes, now); err != nil {
			return nil, err
		}
	}
	return decodeWaiting(out.Attributes)
}
