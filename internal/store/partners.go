package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/referral"
)

// Partners: their referrals, their standing, their code, and the monthly
// leaderboard, without a scan.
//
//	PARTNER#<program>#<key> / REFERRAL#<created>#<id>   a partner's referrals by creation (CreateReferral)
//	PROGRAM#<program>       / BOARD#<yyyy-mm>#<key>     referrals that reached the counted milestone that month (TTL)
//
// <key> is the partner's lifelong key (Partner.Key). No item here holds a
// name or an email.

// Attributes of the referral item about its partner.
const (
	attrPartnerKey     = "partner_key"     // the partner the referral is filed under
	attrBoardMilestone = "board_milestone" // the milestone that counts it on the leaderboard
	attrBoardCounted   = "board_counted"   // the month it was counted in
)

// boardTTL keeps a month's leaderboard counters a little over a year.
const boardTTL = 400 * 24 * time.Hour

func partnerIndexPK(programID, partnerKey string) string {
	return "PARTNER#" + programID + "#" + partnerKey
}

// partnerIndexItem files referral r under its partner (key "" = its code).
func (st *Store) partnerIndexItem(r *referral.Referral, partnerKey string) types.TransactWriteItem {
	if partnerKey == "" {
		partnerKey = r.ReferrerCode
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: &st.table, Item: map[string]types.AttributeValue{
		attrPK: s(partnerIndexPK(r.ProgramID, partnerKey)), attrSK: s("REFERRAL#" + ts(r.CreatedAt) + "#" + r.ID),
		"referral_id": s(r.ID), "created_at": s(ts(r.CreatedAt)),
	}}}
}

// ReferralPage is one page of a partner's referral ids, newest first;
// Next continues after it ("" = no more).
type ReferralPage struct {
	IDs  []string
	Next string
}

// ReferralsByPartner lists the ids of the referrals filed under the
// partner with key in program, newest first, limit at a time (1-100),
// continuing after cursor (a page's Next; "" = from the newest). A cursor
// that is not one is read as the start.
func (st *Store) ReferralsByPartner(ctx context.Context, programID, partnerKey string, limit int, cursor string) (ReferralPage, error) {
	limit = min(max(limit, 1), 100)
	cond := "PK = :p AND begins_with(SK, :r)"
	in := &dynamodb.QueryInput{
		TableName: &st.table, KeyConditionExpression: &cond, ScanIndexForward: aws.Bool(false), Limit: aws.Int32(int32(limit)),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s(partnerIndexPK(programID, partnerKey)), ":r": s("REFERRAL#")},
	}
	if strings.HasPrefix(cursor, "REFERRAL#") {
		in.ExclusiveStartKey = key(partnerIndexPK(programID, partnerKey), cursor)
	}
	out, err := st.db.Query(ctx, in)
	if err != nil {
		return ReferralPage{}, fmt.Errorf("store: referrals by partner: %w", err)
	}
	var page ReferralPage
	for _, it := range out.Items {
		page.IDs = append(page.IDs, stringOf(it["referral_id"]))
	}
	if len(out.LastEvaluatedKey) > 0 && len(out.Items) > 0 {
		page.Next = stringOf(out.Items[len(out.Items)-1][attrSK])
	}
	return page, nil
}

// PartnerRef names a partner: its program and code.
type PartnerRef struct {
	ProgramID string
	Code      string
}

// PartnersByEmail lists the partners email holds, one per program at
// most, looked up under every key-hash secret (WithKeys).
func (st *Store) PartnersByEmail(ctx context.Context, email string) ([]PartnerRef, error) {
	h, err := st.hasher(ctx)
	if err != nil {
		return nil, err
	}
	var out []PartnerRef
	seen := map[string]bool{}
	for _, hash := range h.Hashes(privacy.Email, email) {
		err := st.queryPrefix(ctx, "PARTNER-EMAIL#"+hash, "PROGRAM#", func(it map[string]types.AttributeValue) error {
			ref := PartnerRef{ProgramID: stringOf(it["program_id"]), Code: stringOf(it["code"])}
			if !seen[ref.ProgramID] {
				seen[ref.ProgramID] = true
				out = append(out, ref)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b PartnerRef) int { return strings.Compare(a.ProgramID, b.ProgramID) })
	return out, nil
}

// PartnersOf lists the partners of a program, in code order, limit at a
// time (1-200), after the code cursor ("" = from the first).
func (st *Store) PartnersOf(ctx context.Context, programID string, limit int, cursor string) ([]Partner, string, error) {
	limit = min(max(limit, 1), 200)
	cond := "PK = :p AND begins_with(SK, :r)"
	in := &dynamodb.QueryInput{
		TableName: &st.table, KeyConditionExpression: &cond, Limit: aws.Int32(int32(limit)),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("PROGRAM#" + programID), ":r": s("REFERRER#")},
	}
	if cursor != "" {
		in.ExclusiveStartKey = referrerKey(programID, cursor)
	}
	out, err := st.db.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("store: partners of %s: %w", programID, err)
	}
	var list []Partner
	for _, it := range out.Items {
		p, err := decodePartner(it)
		if err != nil {
			return nil, "", err
		}
		list = append(list, *p)
	}
	next := ""
	if len(out.LastEvaluatedKey) > 0 && len(list) > 0 {
		next = list[len(list)-1].Code
	}
	return list, next, nil
}

// SetPartnerStatus moves the partner with code in program to status to
// when its status is one of from (an empty status reads as active), and
// returns the partner after the change. ErrNotFound: no such partner;
// ErrConflict: its status is not one of from.
func (st *Store) SetPartnerStatus(ctx context.Context, programID, code string, from []referral.ReferrerStatus, to referral.ReferrerStatus) (*Partner, error) {
	vals := map[string]types.AttributeValue{":to": s(string(to))}
	cond := "attribute_exists(PK) AND (" + statusIn(from, vals)
	if slices.Contains(from, referral.ReferrerActive) {
		cond += " OR attribute_not_exists(#st)"
	}
	cond += ")"
	return st.updatePartner(ctx, programID, code, "SET #st = :to", cond, map[string]string{"#st": "status"}, vals)
}

// SetDisplayName sets (or, with "", clears) how the partner appears on the
// leaderboard, and returns the partner after the change; ErrNotFound when
// there is no such partner.
func (st *Store) SetDisplayName(ctx context.Context, programID, code, name string) (*Partner, error) {
	if name == "" {
		return st.updatePartner(ctx, programID, code, "REMOVE display_name", "attribute_exists(PK)", nil, nil)
	}
	return st.updatePartner(ctx, programID, code, "SET display_name = :n", "attribute_exists(PK)", nil, map[string]types.AttributeValue{":n": s(name)})
}

func (st *Store) updatePartner(ctx context.Context, programID, code, expr, cond string, names map[string]string, vals map[string]types.AttributeValue) (*Partner, error) {
	out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: referrerKey(programID, code),
		UpdateExpression: &expr, ConditionExpression: &cond,
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
		ReturnValues: types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		if _, gerr := st.Partner(ctx, programID, code); gerr != nil {
			return nil, gerr
		}
		return nil, fmt.Errorf("store: partner %s: %w", code, ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("store: update partner: %w", err)
	}
	return decodePartner(out.Attributes)
}

// ChangeCode gives the partner with code from in program the code to, in
// one transaction: the partner moves to to (keeping its key, so its
// referrals stay its own, and recording from in its previous codes), to
// is reserved (ErrCodeTaken when anyone holds it), from stays reserved to
// the program so nobody else can take it, and the partner's sign-in item
// names to. ErrNotFound: no partner holds from. Links and forms with from
// no longer attribute new referrals.
func (st *Store) ChangeCode(ctx context.Context, programID, from, to string) (*Partner, error) {
	h, err := st.hasher(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := st.Partner(ctx, programID, from)
	if err != nil {
		return nil, err
	}
	next := *cur
	next.Code = to
	next.PreviousCodes = append(slices.Clone(cur.PreviousCodes), from)
	item, err := partnerItem(next)
	if err != nil {
		return nil, err
	}
	toCode := st.reserveCode(programID, to, "")
	toCode.Put.ConditionExpression = aws.String("attribute_not_exists(PK)")
	toCode.Put.ExpressionAttributeValues = nil
	err = st.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: &st.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		toCode,
		{Delete: &types.Delete{TableName: &st.table, Key: referrerKey(programID, from), ConditionExpression: aws.String("attribute_exists(PK)")}},
		st.reserveCode(programID, from, to),
		st.putPartnerEmail(h.Hash(privacy.Email, cur.Email), programID, to, from),
	})
	switch {
	case onlyConditionFailed(err) && conditionFailedAt(err, 2):
		return nil, fmt.Errorf("store: partner %s: %w", from, ErrNotFound)
	case onlyConditionFailed(err):
		return nil, fmt.Errorf("store: code %s: %w", to, ErrCodeTaken)
	case err != nil:
		return nil, fmt.Errorf("store: change code: %w", err)
	}
	return &next, nil
}

// CurrentPartner reads the partner holding code in program now: the
// partner with that code, or, when the code was changed (ChangeCode),
// the partner it was changed to. ErrNotFound when neither exists.
func (st *Store) CurrentPartner(ctx context.Context, programID, code string) (*Partner, error) {
	for hops := 0; ; hops++ {
		p, err := st.Partner(ctx, programID, code)
		if err == nil || !errors.Is(err, ErrNotFound) || hops == 10 {
			return p, err
		}
		out, gerr := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: codeKey(code), ConsistentRead: aws.Bool(true)})
		if gerr != nil {
			return nil, fmt.Errorf("store: get code: %w", gerr)
		}
		moved := stringOf(out.Item["moved_to"])
		if moved == "" || stringOf(out.Item["program_id"]) != programID {
			return nil, err
		}
		code = moved
	}
}

// BoardEntry is one partner's count on a month's leaderboard.
type BoardEntry struct {
	PartnerKey string
	Count      int
}

// Leaderboard lists every partner of program with referrals counted in
// month ("2006-01"), most first (ties by key). It reads one item per
// partner counted that month.
func (st *Store) Leaderboard(ctx context.Context, programID, month string) ([]BoardEntry, error) {
	var out []BoardEntry
	prefix := "BOARD#" + month + "#"
	err := st.queryPrefix(ctx, "PROGRAM#"+programID, prefix, func(it map[string]types.AttributeValue) error {
		out = append(out, BoardEntry{PartnerKey: strings.TrimPrefix(stringOf(it[attrSK]), prefix), Count: int(numberAttr(it, "count"))})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b BoardEntry) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.PartnerKey, b.PartnerKey)
	})
	return out, nil
}

// countOnBoard counts a referral, given its item after a milestone was
// recorded, on its partner's leaderboard of the month its counted
// milestone was first reached: once (the referral remembers the month, in
// the same transaction), and only when that milestone is reached.
func (st *Store) countOnBoard(ctx context.Context, item map[string]types.AttributeValue, now time.Time) error {
	m := stringOf(item[attrBoardMilestone])
	if m == "" || stringOf(item[attrBoardCounted]) != "" {
		return nil
	}
	ms, _ := item["milestones"].(*types.AttributeValueMemberM)
	if ms == nil || stringOf(ms.Value[m]) == "" {
		return nil
	}
	reached, err := time.Parse(time.RFC3339Nano, stringOf(ms.Value[m]))
	if err != nil {
		reached = now
	}
	month, partner := reached.UTC().Format("2006-01"), stringOf(item[attrPartnerKey])
	if partner == "" {
		partner = stringOf(item["referrer_code"])
	}
	id, program := stringOf(item["referral_id"]), stringOf(item["program_id"])
	err = st.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &st.table, Key: referralKey(id),
			UpdateExpression:          aws.String("SET " + attrBoardCounted + " = :m"),
			ConditionExpression:       aws.String("attribute_exists(PK) AND attribute_not_exists(" + attrBoardCounted + ")"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":m": s(month)},
		}},
		{Update: &types.Update{
			TableName: &st.table, Key: key("PROGRAM#"+program, "BOARD#"+month+"#"+partner),
			UpdateExpression:          aws.String("ADD #c :one SET expires_at = :exp"),
			ExpressionAttributeNames:  map[string]string{"#c": "count"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1), ":exp": n(reached.Add(boardTTL).Unix())},
		}},
	})
	if err != nil && !conditionFailedAt(err, 0) { // failed: counted already
		return fmt.Errorf("store: count on leaderboard: %w", err)
	}
	return nil
}

// partnerFields records on a new referral's item the partner it is filed
// under and the milestone that counts it on the leaderboard.
func partnerFields(item map[string]types.AttributeValue, nr NewReferral) {
	if nr.PartnerKey != "" {
		item[attrPartnerKey] = s(nr.PartnerKey)
	}
	if nr.CountsMilestone != "" {
		item[attrBoardMilestone] = s(nr.CountsMilestone)
	}
}
