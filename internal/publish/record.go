package publish

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/internal/events"
)

// The keys of a recorded domain event: REFERRAL#<id> / EVENT#<time>#<suffix>
// (internal/store). Other items have sort keys that begin with EVENT# too
// (parked CRM events, PARKED#…), so both keys are checked.
const (
	eventPK = "REFERRAL#"
	eventSK = "EVENT#"
)

// storageAttributes are the item's keys, not part of the event.
var storageAttributes = map[string]bool{"PK": true, "SK": true, "GSI1PK": true, "GSI1SK": true}

// errNotAnEvent is a record that holds no new domain event (the template's
// FilterCriteria keeps them away; a record that arrives anyway is skipped).
var errNotAnEvent = errors.New("publish: not a new domain event")

// IsEvent reports whether a stream record is the insert of a domain event:
// the same test as PublishFunction's FilterCriteria in template.yaml.
func IsEvent(rec lambdaevents.DynamoDBEventRecord) bool {
	pk, sk := rec.Change.Keys["PK"], rec.Change.Keys["SK"]
	return rec.EventName == string(lambdaevents.DynamoDBOperationTypeInsert) &&
		pk.DataType() == lambdaevents.DataTypeString && strings.HasPrefix(pk.String(), eventPK) &&
		sk.DataType() == lambdaevents.DataTypeString && strings.HasPrefix(sk.String(), eventSK)
}

// Decode returns the domain event a stream record inserted and the detail
// to publish for it. The detail is exactly json.Marshal(events.Event) for
// every version this code knows (events.SchemaVersion or lower); an event of
// a higher version is passed on unchanged, every stored attribute but the
// item's keys, so a consumer that knows the newer shape reads all of it.
// An event recorded without an id gets "evt_" + the stream record's id,
// which is the same on every retry of the record.
func Decode(rec lambdaevents.DynamoDBEventRecord) (events.Event, []byte, error) {
	if !IsEvent(rec) {
		return events.Event{}, nil, errNotAnEvent
	}
	item, err := itemOf(rec.Change.NewImage)
	if err != nil {
		return events.Event{}, nil, fmt.Errorf("publish: decode image: %w", err)
	}
	var ev events.Event
	if err := attributevalue.UnmarshalMap(item, &ev); err != nil {
		return events.Event{}, nil, fmt.Errorf("publish: decode event: %w", err)
	}
	if ev.Type == "" || ev.ReferralID == "" || ev.At.IsZero() {
		return events.Event{}, nil, fmt.Errorf("publish: event %s without a type, referral id or time", rec.Change.Keys["SK"].String())
	}
	if ev.ID == "" {
		ev.ID = "evt_" + rec.EventID
		item["id"] = &types.AttributeValueMemberS{Value: ev.ID}
	}
	if ev.Version <= events.SchemaVersion {
		detail, err := json.Marshal(ev)
		if err != nil {
			return events.Event{}, nil, fmt.Errorf("publish: encode event: %w", err)
		}
		return ev, detail, nil
	}
	detail, err := passThrough(item)
	if err != nil {
		return events.Event{}, nil, err
	}
	return ev, detail, nil
}

// passThrough is the JSON of every attribute of a stored event except the
// item's keys, numbers kept as written.
func passThrough(item map[string]types.AttributeValue) ([]byte, error) {
	m := make(map[string]any, len(item))
	for k, v := range item {
		if !storageAttributes[k] {
			m[k] = jsonValue(v)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("publish: encode newer event: %w", err)
	}
	return b, nil
}

// itemOf converts a stream image (Lambda's event shape) into the SDK's
// attribute values.
func itemOf(image map[string]lambdaevents.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	if len(image) == 0 {
		return nil, errors.New("no NewImage (the stream must be NEW_IMAGE or NEW_AND_OLD_IMAGES)")
	}
	return mapOf(image)
}

func mapOf(image map[string]lambdaevents.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(image))
	for k, v := range image {
		av, err := attributeOf(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func attributeOf(v lambdaevents.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case lambdaevents.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case lambdaevents.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case lambdaevents.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case lambdaevents.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case lambdaevents.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case lambdaevents.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case lambdaevents.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case lambdaevents.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case lambdaevents.DataTypeMap:
		m, err := mapOf(v.Map())
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	case lambdaevents.DataTypeList:
		l := make([]types.AttributeValue, 0, len(v.List()))
		for i, e := range v.List() {
			av, err := attributeOf(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			l = append(l, av)
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	}
	return nil, fmt.Errorf("unsupported attribute type %d", v.DataType())
}

// jsonValue is the JSON form of an attribute value: numbers as written,
// sets as arrays, binary as base64 (encoding/json's []byte).
func jsonValue(av types.AttributeValue) any {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return json.Number(v.Value)
	case *types.AttributeValueMemberBOOL:
		return v.Value
	case *types.AttributeValueMemberB:
		return v.Value
	case *types.AttributeValueMemberSS:
		return v.Value
	case *types.AttributeValueMemberNS:
		l := make([]json.Number, len(v.Value))
		for i, n := range v.Value {
			l[i] = json.Number(n)
		}
		return l
	case *types.AttributeValueMemberBS:
		return v.Value
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			l[i] = jsonValue(e)
		}
		return l
	case *types.AttributeValueMemberM:
		m := make(map[string]any, len(v.Value))
		for k, e := range v.Value {
			m[k] = jsonValue(e)
		}
		return m
	}
	return nil // NULL
}
