package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
)

// A partner's page in a constant number of reads, whatever the number of
// its referrals: every referrer reward is filed in GSI1 under the partner
// its referral is filed under, and a page of referrals is one batch read.
//
//	REFERRAL#<id> / REWARD#<milestone>#referrer   GSI1: PARTNER-REWARDS#<program>#<key> / <created>#<reward id>
//
// <key> is the partner key the referral item records (partner_key; its
// referrer code when it has none, as ReferralsByPartner files it), read
// by CreateRewards when it creates the rewards. Every later change of a
// reward (SetRewardStatus, PayReward, ReverseReward) is an update, which
// keeps the index attributes. Rewards created before rewards were filed
// this way have no GSI1 attributes: RewardsByPartner does not list them.

const partnerRewardsPrefix = "PARTNER-REWARDS#"

func partnerRewardsPK(programID, partnerKey string) string {
	return partnerRewardsPrefix + programID + "#" + partnerKey
}

// rewardsPartner is the partner key of referral referralID when rws has a
// referrer reward ("" when it has none): the key recorded on the referral
// item, else its referrer code (also when the referral item is missing).
func (st *Store) rewardsPartner(ctx context.Context, referralID string, rws []rewards.Reward) (string, error) {
	code := ""
	for _, r := range rws {
		if r.Party == program.PartyReferrer {
			code = r.ReferrerCode
			break
		}
	}
	if code == "" {
		return "", nil
	}
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: referralKey(referralID),
		ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String(attrPartnerKey)})
	if err != nil {
		return "", fmt.Errorf("store: read referral partner: %w", err)
	}
	if k := stringOf(out.Item[attrPartnerKey]); k != "" {
		return k, nil
	}
	return code, nil
}

// indexReward files a referrer reward's item under its partner in GSI1
// (partnerKey "" or another party: nothing).
func indexReward(item map[string]types.AttributeValue, r rewards.Reward, partnerKey string) {
	if r.Party != program.PartyReferrer || partnerKey == "" {
		return
	}
	item[attrGSI1PK], item[attrGSI1SK] = s(partnerRewardsPK(r.ProgramID, partnerKey)), s(ts(r.CreatedAt)+"#"+r.ID)
}

// RewardsByPartner lists every referrer reward of the referrals filed
// under the partner with key partnerKey in program, oldest first, in one
// paged query (a call per MB of rewards) whatever the number of referrals.
//
// It reads GSI1, which is eventually consistent (an index offers no
// strongly consistent read): a reward created or changed a moment ago may
// be missing or show its previous status. Rewards created before rewards
// were filed by partner are not listed. A paid reward that was reversed
// has ReversedAt set.
func (st *Store) RewardsByPartner(ctx context.Context, programID, partnerKey string) ([]rewards.Reward, error) {
	idx, cond := IndexByStatus, "GSI1PK = :p"
	in := &dynamodb.QueryInput{TableName: &st.table, IndexName: &idx, KeyConditionExpression: &cond,
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s(partnerRewardsPK(programID, partnerKey))}}
	var out []rewards.Reward
	for {
		page, err := st.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("store: rewards by partner: %w", err)
		}
		for _, it := range page.Items {
			var r rewards.Reward
			if err := attributevalue.UnmarshalMap(it, &r); err != nil {
				return nil, fmt.Errorf("store: decode reward: %w", err)
			}
			out = append(out, r)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// maxBatchKeys is the most keys one BatchGetItem reads.
const maxBatchKeys = 100

// ReferralsByID reads the referrals with ids as Referral reads each one
// (strongly consistent, with the personal data a closed referral moved to
// its PERSON item, none once that expired or was erased), in one
// BatchGetItem per 100 ids, and one more per 100 of them that are closed
// with personal data moved. The map holds the referrals found, by id: an
// id with no referral is missing from it. Keys the table leaves
// unprocessed (throttling, the 16 MB answer limit) are read again.
func (st *Store) ReferralsByID(ctx context.Context, ids []string) (map[string]*referral.Referral, error) {
	var keys []map[string]types.AttributeValue
	seen := map[string]bool{}
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			keys = append(keys, referralKey(id))
		}
	}
	items, err := st.batchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("store: referrals by id: %w", err)
	}
	byID := map[string]map[string]types.AttributeValue{}
	var people []map[string]types.AttributeValue
	for _, it := range items {
		id := strings.TrimPrefix(stringOf(it[attrPK]), "REFERRAL#")
		byID[id] = it
		if isTrue(it[attrPersonItem]) {
			people = append(people, personKey(id))
		}
	}
	persons, err := st.batchGet(ctx, people)
	if err != nil {
		return nil, fmt.Errorf("store: referrals' personal data: %w", err)
	}
	for _, p := range persons {
		it := byID[strings.TrimPrefix(stringOf(p[attrPK]), "REFERRAL#")]
		for _, a := range personalAttrs {
			if v, ok := p[a]; ok && it != nil {
				it[a] = v
			}
		}
	}
	out := make(map[string]*referral.Referral, len(byID))
	for id, it := range byID {
		if out[id], err = decodeReferral(it); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// batchGet reads the items with keys (strongly consistent), 100 keys per
// call, reading again what a call leaves unprocessed: at once when the
// call returned items, after a growing delay when it returned none
// (throttled), at most maxTransientRetries times in a row.
func (st *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	for stalled := 0; len(keys) > 0; {
		chunk := keys[:min(len(keys), maxBatchKeys)]
		keys = keys[len(chunk):]
		res, err := st.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			st.table: {Keys: chunk, ConsistentRead: aws.Bool(true)},
		}})
		if err != nil {
			return nil, err
		}
		got := res.Responses[st.table]
		out = append(out, got...)
		left := res.UnprocessedKeys[st.table].Keys
		if len(left) == 0 {
			continue
		}
		keys = append(left, keys...)
		if len(got) > 0 {
			stalled = 0
			continue
		}
		if stalled++; stalled > maxTransientRetries {
			return nil, fmt.Errorf("%d keys still unprocessed after %d attempts", len(keys), stalled)
		}
		if err := backoff(ctx, stalled); err != nil {
			return nil, err
		}
	}
	return out, nil
}
