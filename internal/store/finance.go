package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/finance"
	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/rewards"
)

// Finance (internal/finance): payout batches that finance pays by bank
// transfer.
//
//	PAYOUT-BATCH#<id> / BATCH              a batch: program, currency, status, remittance reference
//	PAYOUT-BATCH#<id> / LINE#<entry id>    one ledger entry of the batch (ids and amounts only)
//	LEDGER#<reward>   / BATCHED#<entry id> claims the entry for its batch (at most one, ever)
//
// A line and its claim are written in one transaction whose claim is
// conditional (attribute_not_exists), so an entry is in at most one batch
// whatever the number of operators gathering at once; the batch item is
// written in the first transaction that claims a line, so a batch that
// claimed nothing does not exist. The ledger entries themselves are never
// changed. Batches hold ids and amounts, no personal data: the payees'
// details are read from their payee items when the CSV is made.

var _ finance.Store = (*Store)(nil)
var _ finance.Payees = (*Store)(nil)

func batchPK(id string) string { return "PAYOUT-BATCH#" + id }

func batchClaimKey(l finance.Line) map[string]types.AttributeValue {
	return key("LEDGER#"+l.RewardID, "BATCHED#"+l.EntryID)
}

// Unbatched returns the entries that no batch claimed and whose reward
// has no reversal entry, in the order given: one BatchGetItem per 50
// entries.
func (st *Store) Unbatched(ctx context.Context, entries []rewards.Entry) ([]rewards.Entry, error) {
	keys := make([]map[string]types.AttributeValue, 0, 2*len(entries))
	for _, e := range entries {
		keys = append(keys, batchClaimKey(finance.Line{RewardID: e.RewardID, EntryID: e.ID}),
			key("LEDGER#"+e.RewardID, "ENTRY#"+string(rewards.EntryReversal)))
	}
	items, err := st.batchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("store: unbatched entries: %w", err)
	}
	taken := map[string]bool{} // reward ids batched (this entry) or reversed
	for _, it := range items {
		pk, sk := stringOf(it[attrPK]), stringOf(it[attrSK])
		taken[pk+"/"+sk] = true
	}
	var out []rewards.Entry
	for _, e := range entries {
		pk := "LEDGER#" + e.RewardID
		if !taken[pk+"/BATCHED#"+e.ID] && !taken[pk+"/ENTRY#"+string(rewards.EntryReversal)] {
			out = append(out, e)
		}
	}
	return out, nil
}

// linesPerTx is how many lines one transaction claims (two items each,
// and the batch item: at most 100 items).
const linesPerTx = 45

// CreatePayoutBatch writes batch b with every line of lines it can claim
// (finance.BatchStore), linesPerTx lines per transaction: a transaction
// cancelled because another batch claimed some of its entries is written
// again without them. It returns the lines claimed.
func (st *Store) CreatePayoutBatch(ctx context.Context, b finance.Batch, lines []finance.Line) ([]finance.Line, error) {
	header, err := attributevalue.MarshalMap(b)
	if err != nil {
		return nil, fmt.Errorf("store: marshal batch: %w", err)
	}
	for k, v := range key(batchPK(b.ID), "BATCH") {
		header[k] = v
	}
	var claimed []finance.Line
	for len(lines) > 0 {
		chunk := lines[:min(len(lines), linesPerTx)]
		lines = lines[len(chunk):]
		for len(chunk) > 0 {
			tx, err := st.claimTx(b, header, len(claimed) == 0, chunk)
			if err != nil {
				return nil, err
			}
			err = st.transact(ctx, tx)
			if err == nil {
				claimed = append(claimed, chunk...)
				break
			}
			if !onlyConditionFailed(err) {
				return claimed, fmt.Errorf("store: create payout batch: %w", err)
			}
			off := len(tx) - 2*len(chunk) // 1 with the batch item, else 0
			var left []finance.Line
			for i, l := range chunk {
				if !conditionFailedAt(err, off+2*i) {
					left = append(left, l)
				}
			}
			if len(left) == len(chunk) {
				return claimed, fmt.Errorf("store: create payout batch %s: it exists already: %w", b.ID, ErrConflict)
			}
			chunk = left
		}
	}
	return claimed, nil
}

// claimTx claims chunk for batch b (writing its item first when withHeader).
func (st *Store) claimTx(b finance.Batch, header map[string]types.AttributeValue, withHeader bool, chunk []finance.Line) ([]types.TransactWriteItem, error) {
	var tx []types.TransactWriteItem
	if withHeader {
		tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &st.table, Item: header, ConditionExpression: aws.String("attribute_not_exists(PK)")}})
	}
	for _, l := range chunk {
		item, err := attributevalue.MarshalMap(l)
		if err != nil {
			return nil, fmt.Errorf("store: marshal batch line: %w", err)
		}
		for k, v := range key(batchPK(b.ID), "LINE#"+l.EntryID) {
			item[k] = v
		}
		claim := batchClaimKey(l)
		claim["batch_id"], claim["entry_id"] = s(b.ID), s(l.EntryID)
		tx = append(tx,
			types.TransactWriteItem{Put: &types.Put{TableName: &st.table, Item: claim, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
			types.TransactWriteItem{Put: &types.Put{TableName: &st.table, Item: item}})
	}
	return tx, nil
}

// PayoutBatch reads a batch and its lines (strongly consistent), lines in
// entry id order; ErrNotFound when there is none.
func (st *Store) PayoutBatch(ctx context.Context, id string) (*finance.Batch, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: key(batchPK(id), "BATCH"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("store: get payout batch: %w", err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("store: payout batch %s: %w", id, ErrNotFound)
	}
	var b finance.Batch
	if err := attributevalue.UnmarshalMap(out.Item, &b); err != nil {
		return nil, fmt.Errorf("store: decode payout batch: %w", err)
	}
	err = st.queryPrefix(ctx, batchPK(id), "LINE#", func(it map[string]types.AttributeValue) error {
		var l finance.Line
		if err := attributevalue.UnmarshalMap(it, &l); err != nil {
			return err
		}
		b.Lines = append(b.Lines, l)
		return nil
	})
	return &b, err
}

// MarkPayoutBatchPaid records batch id paid with remittance reference ref
// by actor at now (finance.BatchStore): the batch item moves from open to
// paid under a condition, then each line and its entry's claim get the
// batch's paid time and reference (a line already marked is skipped, so a
// repeat, or a run after a crash, completes what is missing and changes
// nothing else).
func (st *Store) MarkPayoutBatchPaid(ctx context.Context, id, ref, actor string, now time.Time) (bool, error) {
	at := s(now.UTC().Format(time.RFC3339Nano))
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: key(batchPK(id), "BATCH"),
		UpdateExpression:          aws.String("SET #st = :paid, remittance_reference = :r, paid_at = :t, paid_by = :a"),
		ConditionExpression:       aws.String("attribute_exists(PK) AND #st = :open"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":paid": s(finance.BatchPaid), ":open": s(finance.BatchOpen), ":r": s(ref), ":t": at, ":a": s(actor)},
	})
	changed := err == nil
	if err != nil && !conditionFailed(err) {
		return false, fmt.Errorf("store: mark payout batch paid: %w", err)
	}
	b, err := st.PayoutBatch(ctx, id)
	if err != nil {
		return false, err
	}
	if b.Status != finance.BatchPaid || b.PaidAt == nil {
		return false, fmt.Errorf("store: payout batch %s is %s: %w", id, b.Status, ErrConflict)
	}
	if b.RemittanceReference != ref {
		return false, fmt.Errorf("store: payout batch %s: %w", id, finance.ErrAlreadyPaid)
	}
	paidAt := s(b.PaidAt.UTC().Format(time.RFC3339Nano))
	for _, l := range b.Lines {
		if l.PaidOutAt != nil {
			continue
		}
		set := &types.Update{TableName: &st.table, UpdateExpression: aws.String("SET paid_out_at = :t, remittance_reference = :r"),
			ConditionExpression:       aws.String("attribute_exists(PK)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": paidAt, ":r": s(ref)}}
		line, claim := *set, *set
		line.Key, claim.Key = key(batchPK(id), "LINE#"+l.EntryID), batchClaimKey(l)
		if err := st.transact(ctx, []types.TransactWriteItem{{Update: &line}, {Update: &claim}}); err != nil {
			return changed, fmt.Errorf("store: mark batch line paid: %w", err)
		}
	}
	return changed, nil
}

// PartyContact reads a party's name and email (finance.Payees): the
// partner holding code in program now, or the referral's referee (none
// once erased: ErrNotFound).
func (st *Store) PartyContact(ctx context.Context, programID, party, referralID, code string) (finance.Contact, error) {
	if party == program.PartyReferee {
		r, err := st.Referral(ctx, referralID)
		if err != nil {
			return finance.Contact{}, err
		}
		if r.RefereeEmail == "" {
			return finance.Contact{}, fmt.Errorf("store: referee of %s: %w", referralID, ErrNotFound)
		}
		return finance.Contact{Name: r.RefereeName, Email: r.RefereeEmail}, nil
	}
	p, err := st.CurrentPartner(ctx, programID, code)
	if err != nil {
		return finance.Contact{}, err
	}
	return finance.Contact{Name: p.Name, Email: p.Email}, nil
}

// PartnerKeys lists the keys of every partner of a program (one query per
// 200 partners).
func (st *Store) PartnerKeys(ctx context.Context, programID string) ([]string, error) {
	var out []string
	for cursor := ""; ; {
		page, next, err := st.PartnersOf(ctx, programID, 200, cursor)
		if err != nil {
			return nil, err
		}
		for _, p := range page {
			out = append(out, p.Key)
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// Unsettled lists the rewards in status sending or failed: every claimed
// reward is filed for the payouts runner until it is paid (ClaimReward),
// every failed one for a person (FailReward), so it reads the two filings
// (GSI1 PAYOUT-DUE and PAYOUT-ATTENTION) and each filed reward once: no
// scan, a cost in proportion to what is unsettled.
func (st *Store) Unsettled(ctx context.Context) ([]rewards.Reward, error) {
	due, err := st.DueRewards(ctx, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), 0)
	if err != nil {
		return nil, err
	}
	failed, err := st.FailedRewards(ctx, 0)
	if err != nil {
		return nil, err
	}
	var out []rewards.Reward
	for _, d := range append(due, failed...) {
		rw, err := st.Reward(ctx, d.ReferralID, d.Milestone, d.Party)
		switch {
		case errors.Is(err, ErrNotFound):
			continue
		case err != nil:
			return nil, err
		case rw.Status == rewards.StatusSending || rw.Status == rewards.StatusFailed:
			out = append(out, *rw)
		}
	}
	return out, nil
}
