package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/feedback"
)

// Partner feedback (internal/feedback: the monthly summary's question).
//
//	FEEDBACK#<program>#<yyyy-mm> / PARTNER#<key>  a partner's answer for the month: score, comment, first and last time (TTL: FeedbackRetention after the last answer)
//	FEEDBACK#<program>#<yyyy-mm> / COUNTS         the month's answers added up (feedback.Counts), changed in the same transaction as each answer
//
// A month's figures are one item, whatever the number of partners. The
// comment is the partner's own words: it stays in the table (never in
// events, logs or metrics) and expires with its answer.

// FeedbackRetention is how long an answer (with its comment) is kept after
// it was last given; the month's counts stay.
const FeedbackRetention = DefaultRetention

// feedbackAttempts bounds how often an answer is re-read and written again
// when another answer of the same partner and month raced it.
const feedbackAttempts = 4

// FeedbackAnswer is a partner's stored answer for a program and month.
type FeedbackAnswer = feedback.Response

// FeedbackMonth is a program's answers for a month added up.
type FeedbackMonth = feedback.MonthCounts

func feedbackPK(programID, month string) string { return "FEEDBACK#" + programID + "#" + month }

func feedbackKey(programID, month, partner string) map[string]types.AttributeValue {
	return key(feedbackPK(programID, month), "PARTNER#"+partner)
}

// RecordFeedback records a's score and comment (feedback.Answer.Validate
// at now first: an invalid answer writes nothing and is feedback.ErrInvalid):
// one answer per program, month and partner, a later one replacing the
// score and comment and keeping the first time. The month's counts change
// in the same transaction: a first answer counts once, a replaced score
// moves between the groups and the sum exactly. Answers racing for the
// same partner and month are applied one after the other; one that loses
// the race feedbackAttempts times is ErrConflict and writes nothing.
func (st *Store) RecordFeedback(ctx context.Context, a feedback.Answer, now time.Time) (*FeedbackAnswer, error) {
	if err := a.Validate(now); err != nil {
		return nil, fmt.Errorf("store: record feedback: %w", err)
	}
	for attempt := 1; ; attempt++ {
		prev, err := st.Feedback(ctx, a.Program, a.Month, a.Partner)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		got, err := st.writeFeedback(ctx, a, prev, now)
		switch {
		case err == nil || !conditionFailedAt(err, 0):
			return got, wrapErr("record feedback", err)
		case attempt >= feedbackAttempts:
			return nil, fmt.Errorf("store: record feedback: %w", ErrConflict)
		}
	}
}

// writeFeedback writes a over prev (nil: the first answer) with the
// month's counts, on condition that prev is still the stored answer.
func (st *Store) writeFeedback(ctx context.Context, a feedback.Answer, prev *FeedbackAnswer, now time.Time) (*FeedbackAnswer, error) {
	out := &FeedbackAnswer{Answer: a, FirstAt: now.UTC(), AnsweredAt: now.UTC(), Answers: 1}
	var old *int
	cond, vals := "attribute_not_exists(PK)", map[string]types.AttributeValue{}
	if prev != nil {
		old, out.FirstAt, out.Answers = &prev.Score, prev.FirstAt, prev.Answers+1
		cond, vals[":n"] = "answers = :n", n(int64(prev.Answers))
	}
	item := feedbackKey(a.Program, a.Month, a.Partner)
	item["program_id"], item["month"], item["partner_key"] = s(a.Program), s(a.Month), s(a.Partner)
	item["score"], item["answers"] = n(int64(a.Score)), n(int64(out.Answers))
	item["first_at"], item["answered_at"] = s(ts(out.FirstAt)), s(ts(out.AnsweredAt))
	item[attrExpires] = n(now.Add(FeedbackRetention).Unix())
	if a.Comment != "" {
		item["comment"] = s(a.Comment)
	}
	put := &types.Put{TableName: &st.table, Item: item, ConditionExpression: aws.String(cond)}
	if len(vals) > 0 {
		put.ExpressionAttributeValues = vals
	}
	d := feedback.Change(old, a.Score)
	counts := &types.Update{
		TableName: &st.table, Key: key(feedbackPK(a.Program, a.Month), "COUNTS"),
		UpdateExpression:         aws.String("SET program_id = :p, #m = :m ADD responses :r, score_sum :s, promoters :pr, passives :pa, detractors :de"),
		ExpressionAttributeNames: map[string]string{"#m": "month"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s(a.Program), ":m": s(a.Month),
			":r": n(d.Responses), ":s": n(d.Sum), ":pr": n(d.Promoters), ":pa": n(d.Passives), ":de": n(d.Detractors)},
	}
	if err := st.transact(ctx, []types.TransactWriteItem{{Put: put}, {Update: counts}}); err != nil {
		return nil, err
	}
	return out, nil
}

// Feedback reads a partner's answer for a program and month (ErrNotFound
// when there is none, or it expired).
func (st *Store) Feedback(ctx context.Context, programID, month, partner string) (*FeedbackAnswer, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: feedbackKey(programID, month, partner), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("store: get feedback: %w", err)
	}
	if out.Item == nil {
		return nil, ErrNotFound
	}
	return decodeFeedback(out.Item), nil
}

func decodeFeedback(item map[string]types.AttributeValue) *FeedbackAnswer {
	a := &FeedbackAnswer{Answer: feedback.Answer{Program: stringOf(item["program_id"]), Month: stringOf(item["month"]),
		Partner: stringOf(item["partner_key"]), Score: int(numberOf(item["score"])), Comment: stringOf(item["comment"])},
		Answers: int(numberOf(item["answers"]))}
	a.FirstAt, _ = time.Parse(time.RFC3339Nano, stringOf(item["first_at"]))
	a.AnsweredAt, _ = time.Parse(time.RFC3339Nano, stringOf(item["answered_at"]))
	return a
}

func numberOf(v types.AttributeValue) int64 {
	if nv, ok := v.(*types.AttributeValueMemberN); ok {
		i, _ := strconv.ParseInt(nv.Value, 10, 64)
		return i
	}
	return 0
}

// FeedbackSummary reads a program's counts for each month from fromMonth
// to toMonth ("2026-01", both included, at most feedback.MaxMonths),
// oldest first, months without answers included with zero counts: one
// item per month, whatever the number of answers.
func (st *Store) FeedbackSummary(ctx context.Context, programID, fromMonth, toMonth string) ([]FeedbackMonth, error) {
	if fromMonth == "" || toMonth == "" {
		return nil, fmt.Errorf("store: feedback summary: %w: from and to are needed", feedback.ErrInvalid)
	}
	months, err := feedback.Months(fromMonth, toMonth, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("store: feedback summary: %w", err)
	}
	keys := make([]map[string]types.AttributeValue, len(months))
	for i, m := range months {
		keys[i] = key(feedbackPK(programID, m), "COUNTS")
	}
	found := map[string]feedback.Counts{}
	req := map[string]types.KeysAndAttributes{st.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	for attempt := 1; len(req) > 0; attempt++ {
		out, err := st.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, fmt.Errorf("store: feedback summary: %w", err)
		}
		for _, it := range out.Responses[st.table] {
			found[stringOf(it["month"])] = feedback.Counts{Responses: numberOf(it["responses"]), Sum: numberOf(it["score_sum"]),
				Promoters: numberOf(it["promoters"]), Passives: numberOf(it["passives"]), Detractors: numberOf(it["detractors"])}
		}
		req = out.UnprocessedKeys
		if len(req) > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return nil, err
			}
		}
	}
	res := make([]FeedbackMonth, len(months))
	for i, m := range months {
		res[i] = FeedbackMonth{Month: m, Counts: found[m]}
	}
	return res, nil
}

// FeedbackComments returns up to limit answers of a program's month that
// carry a comment, the latest answered first. It reads the month's
// answers (one item per partner who answered), never the table.
func (st *Store) FeedbackComments(ctx context.Context, programID, month string, limit int) ([]FeedbackAnswer, error) {
	var out []FeedbackAnswer
	err := st.queryPrefix(ctx, feedbackPK(programID, month), "PARTNER#", func(it map[string]types.AttributeValue) error {
		if stringOf(it["comment"]) != "" {
			out = append(out, *decodeFeedback(it))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b FeedbackAnswer) int { return b.AnsweredAt.Compare(a.AnsweredAt) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
