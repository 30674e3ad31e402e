package generic

import (
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/stdwebhooks"
)

// Official test vector of the Standard Webhooks specification
// (standardwebhooks.com, its reference libraries' tests); docs/crm/generic.md
// describes the scheme.
const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = int64(1614265330)
	vecBody   = `{"test": 2432232314}`
	vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func newAdapter(t testing.TB, now time.Time, secrets ...string) *Adapter {
	t.Helper()
	a, err := New(Config{Secrets: secrets}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func signed(secret, id string, ts time.Time, body string) crm.Request {
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, Sign(secret, id, ts, []byte(body)))
	return crm.Request{Method: "POST", URL: "https://x/webhooks/generic", Headers: h, Body: []byte(body)}
}

func TestOfficialVector(t *testing.T) {
	if got := Sign(vecSecret, vecID, time.Unix(vecTS, 0), []byte(vecBody)); got != vecSig {
		t.Fatalf("Sign = %s, want %s", got, vecSig)
	}
	a := newAdapter(t, time.Unix(vecTS+10, 0), vecSecret)
	h := http.Header{}
	h.Set(HeaderID, vecID)
	h.Set(HeaderTimestamp, strconv.FormatInt(vecTS, 10))
	h.Set(HeaderSignature, vecSig)
	if err := a.Authenticate(crm.Request{Headers: h, Body: []byte(vecBody)}); err != nil {
		t.Fatal(err)
	}
}

func TestAuthenticate(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := `{"type":"deal.stage_changed","data":{"referral_id":"r1","stage":"won"}}`
	other := "whsec_" + "c2Vjb25kLXNlY3JldC1rZXktMzItYnl0ZXMhISE="
	tests := []struct {
		name string
		req  func() crm.Request
		ok   bool
	}{
		{"valid", func() crm.Request { return signed(vecSecret, "msg_1", now, body) }, true},
		{"signed with the other (rotated) secret", func() crm.Request { return signed(other, "msg_1", now, body) }, true},
		{"several signatures, one valid", func() crm.Request {
			r := signed(vecSecret, "msg_1", now, body)
			r.Headers.Set(HeaderSignature, "v1,AAAA v1a,xyz "+r.Headers.Get(HeaderSignature)+" v1,!!!")
			return r
		}, true},
		{"exactly 5 min old", func() crm.Request { return signed(vecSecret, "msg_1", now.Add(-5*time.Minute), body) }, true},
		{"exactly 5 min ahead", func() crm.Request { return signed(vecSecret, "msg_1", now.Add(5*time.Minute), body) }, true},
		{"raw lower-case header keys", func() crm.Request {
			r := signed(vecSecret, "msg_1", now, body)
			h := http.Header{}
			for k, v := range r.Headers {
				h[strings.ToLower(k)] = v
			}
			r.Headers = h
			return r
		}, true},
		{"wrong secret", func() crm.Request {
			return signed("whsec_"+"d3Jvbmctc2VjcmV0LWtleS0zMi1ieXRlcy4uLi4=", "msg_1", now, body)
		}, false},
		{"stale", func() crm.Request { return signed(vecSecret, "msg_1", now.Add(-5*time.Minute-time.Second), body) }, false},
		{"future", func() crm.Request { return signed(vecSecret, "msg_1", now.Add(5*time.Minute+time.Second), body) }, false},
		{"missing id", func() crm.Request { r := signed(vecSecret, "msg_1", now, body); r.Headers.Del(HeaderID); return r }, false},
		{"missing timestamp", func() crm.Request {
			r := signed(vecSecret, "msg_1", now, body)
			r.Headers.Del(HeaderTimestamp)
			return r
		}, false},
		{"missing signature", func() crm.Request {
			r := signed(vecSecret, "msg_1", now, body)
			r.Headers.Del(HeaderSignature)
			return r
		}, false},
		{"timestamp not a number", func() crm.Request {
			r := signed(vecSecret, "msg_1", now, body)
			r.Headers.Set(HeaderTimestamp, "2024-01-01T00:00:00Z")
			return r
		}, false},
		{"timestamp in milliseconds", func() crm.Request {
			r := signed(vecSecret, "msg_1", now, body)
			r.Headers.Set(HeaderTimestamp, strconv.FormatInt(now.UnixMilli(), 10))
			return r
		}, false},
		{"bad base64", func() crm.Request {
			r := signed(vecSecret, "msg_1", now, body)
			r.Headers.Set(HeaderSignature, "v1,not*base64")
			return r
		}, false},
		{"signature without version", func() crm.Request {
			r := signed(vecSecret, "msg_1", now, body)
			r.Headers.Set(HeaderSignature, strings.TrimPrefix(r.Headers.Get(HeaderSignature), "v1,"))
			return r
		}, false},
		{"other id than signed", func() crm.Request {
			r := signed(vecSecret, "msg_1", now, body)
			r.Headers.Set(HeaderID, "msg_2")
			return r
		}, false},
		{"tampered body", func() crm.Request {
			r := signed(vecSecret, "msg_1", now, body)
			r.Body = []byte(strings.Replace(body, "won", "lost", 1))
			return r
		}, false},
	}
	a := newAdapter(t, now, vecSecret, other)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.Authenticate(tt.req())
			if tt.ok && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !tt.ok && !errors.Is(err, crm.ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want crm.Event
	}{
		{
			name: "stage change with every field",
			body: `{"type":"deal.stage_changed","data":{"referral_id":"ref_1","crm_record_id":"D-9","referee_email":" Ann@Example.COM ","stage":"won","pipeline":"sales","amount":"12500.50","currency":"eur","occurred_at":"2024-05-01T10:00:00+02:00"}}`,
			want: crm.Event{Kind: crm.KindStageChanged, ReferralID: "ref_1", RecordID: "D-9", Email: "ann@example.com", Stage: "won", Pipeline: "sales",
				Amount: &money.Money{Minor: 1250050, Currency: "EUR"}, OccurredAt: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)},
		},
		{
			name: "only an email, numeric record id, numeric amount, unix time",
			body: `{"type":"deal.stage_changed","data":{"referee_email":"b@c.io","crm_record_id":12345,"stage":"demo","amount":99.9,"occurred_at":1714557600}}`,
			want: crm.Event{Kind: crm.KindStageChanged, RecordID: "12345", Email: "b@c.io", Stage: "demo", Amount: &money.Money{Minor: 9990}, OccurredAt: time.Unix(1714557600, 0).UTC()},
		},
		{
			name: "status",
			body: `{"type":"deal.stage_changed","data":{"referral_id":"r","stage":"Closed Lost","status":"lost"}}`,
			want: crm.Event{Kind: crm.KindStageChanged, ReferralID: "r", Stage: "Closed Lost", Status: crm.StatusLost},
		},
		{
			name: "deleted",
			body: `{"type":"deal.deleted","data":{"crm_record_id":"D-9"}}`,
			want: crm.Event{Kind: crm.KindDeleted, RecordID: "D-9"},
		},
		{
			name: "refunded with amount",
			body: `{"type":"deal.refunded","data":{"referral_id":"r","amount":"10","currency":"JPY"}}`,
			want: crm.Event{Kind: crm.KindRefunded, ReferralID: "r", Amount: &money.Money{Minor: 10, Currency: "JPY"}},
		},
		{
			name: "unknown type is ignored",
			body: `{"type":"contact.created","data":{"whatever":true}}`,
			want: crm.Event{Kind: crm.KindIgnored},
		},
	}
	a := newAdapter(t, time.Now(), vecSecret)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signed(vecSecret, "msg_42", time.Now(), tt.body)
			got, err := a.Parse(r)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Provider, want.ID = "generic", "msg_42"
			if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name, body, field string
	}{
		{"not JSON", `nope`, "body"},
		{"array", `[]`, "body"},
		{"trailing data", `{"type":"x"} {}`, "body"},
		{"no type", `{"data":{}}`, "type"},
		{"no data", `{"type":"deal.stage_changed"}`, "data"},
		{"no stage", `{"type":"deal.stage_changed","data":{"referral_id":"r"}}`, "data.stage"},
		{"blank stage", `{"type":"deal.stage_changed","data":{"referral_id":"r","stage":"  "}}`, "data.stage"},
		{"stage of the wrong type", `{"type":"deal.stage_changed","data":{"referral_id":"r","stage":5}}`, "data.stage"},
		{"no linking field", `{"type":"deal.stage_changed","data":{"stage":"won"}}`, "data.referral_id"},
		{"deleted without linking field", `{"type":"deal.deleted","data":{}}`, "data.referral_id"},
		{"bad email", `{"type":"deal.stage_changed","data":{"referee_email":"nobody","stage":"won"}}`, "data.referee_email"},
		{"bad amount", `{"type":"deal.stage_changed","data":{"referral_id":"r","stage":"won","amount":"1,000"}}`, "data.amount"},
		{"bad currency", `{"type":"deal.stage_changed","data":{"referral_id":"r","stage":"won","currency":"euro"}}`, "data.currency"},
		{"bad status", `{"type":"deal.stage_changed","data":{"referral_id":"r","stage":"won","status":"maybe"}}`, "data.status"},
		{"bad time", `{"type":"deal.stage_changed","data":{"referral_id":"r","stage":"won","occurred_at":"yesterday"}}`, "data.occurred_at"},
	}
	a := newAdapter(t, time.Now(), vecSecret)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Parse(signed(vecSecret, "msg_1", time.Now(), tt.body))
			var fe *FieldError
			if !errors.Is(err, crm.ErrMalformed) || !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("err = %v, want ErrMalformed naming %s", err, tt.field)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("message %q does not name %s", err, tt.field)
			}
		})
	}
	// Parse needs the webhook-id header (the event id).
	r := signed(vecSecret, "msg_1", time.Now(), `{"type":"x"}`)
	r.Headers.Del(HeaderID)
	if _, err := a.Parse(r); !errors.Is(err, crm.ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Config{}, time.Now); err == nil {
		t.Error("no secret accepted")
	}
	if _, err := New(Config{Secrets: []string{"whsec_not base64!"}}, time.Now); err == nil {
		t.Error("bad secret accepted")
	}
	if _, err := New(Config{Secrets: []string{vecSecret}}, nil); err == nil {
		t.Error("nil clock accepted")
	}
	// The whsec_ prefix is optional.
	if _, err := New(Config{Secrets: []string{strings.TrimPrefix(vecSecret, "whsec_")}}, time.Now); err != nil {
		t.Error(err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"type":"deal.stage_changed","data":{"referral_id":"ref_1","crm_record_id":"D-9","referee_email":"a@b.c","stage":"won","amount":"12500.50","currency":"EUR","occurred_at":"2024-05-01T10:00:00Z"}}`))
	f.Add([]byte(`{"type":"deal.refunded","data":{"crm_record_id":1,"amount":1e3}}`))
	f.Add([]byte(vecBody))
	a := newAdapter(f, time.Now(), vecSecret)
	h := http.Header{}
	h.Set(HeaderID, "msg_1")
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := a.Parse(crm.Request{Headers: h, Body: body})
		if err != nil {
			if !errors.Is(err, crm.ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		if len(events) != 1 || events[0].ID != "msg_1" {
			t.Fatalf("events %+v", events)
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add(vecID, strconv.FormatInt(vecTS, 10), vecSig, []byte(vecBody))
	f.Add("", "", "v1,", []byte{})
	f.Add("x", "-99999999999999", "v1,AAAA v2,BBBB", []byte("{}"))
	now := time.Unix(vecTS, 0)
	a := newAdapter(f, now, vecSecret)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		_ = a.Authenticate(crm.Request{Headers: h, Body: body})
		// A correct signature always verifies.
		id, ts = strings.TrimSpace(id), strings.TrimSpace(ts)
		if n, err := strconv.ParseInt(ts, 10, 64); err == nil && id != "" && n >= vecTS-300 && n <= vecTS+300 {
			key, _ := stdwebhooks.ParseSecret(vecSecret)
			h.Set(HeaderSignature, key.Sign(id, ts, body))
			if err := a.Authenticate(crm.Request{Headers: h, Body: body}); err != nil {
				t.Fatalf("correct signature rejected: %v", err)
			}
		}
	})
}
