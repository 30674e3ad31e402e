package hubspot

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/crm"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(vecBatch))
	f.Add([]byte(`[{"eventId":802835955,"subscriptionId":92894,"portalId":5799819,"appId":186886,"occurredAt":1556094637139,"subscriptionType":"deal.propertyChange","attemptNumber":0,"objectId":697680835,"propertyName":"dealstage","propertyValue":"closedwon","changeSource":"CRM_UI"}]`))
	f.Add([]byte(`[{"eventId":3,"subscriptionType":"deal.propertyChange","objectId":7,"propertyName":"amount","propertyValue":"1.5e3"}]`))
	f.Add([]byte(`{"objectId":1234,"properties":{"dealstage":{"value":"closedwon","timestamp":1700000000000},"amount":{"value":"12500.50"}}}`))
	f.Add([]byte(`{"id":"1","properties":{"amount":"9","deal_currency_code":"JPY","email":"A@B.C"}}`))
	f.Add([]byte(`[1,"x",null,{}]`))
	a, err := New(Config{ClientSecrets: []string{"x"}}, time.Now)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := a.Parse(crm.Request{Body: body})
		if err != nil {
			return
		}
		for _, ev := range events {
			if ev.ID == "" || ev.Provider != Name {
				t.Fatalf("event without id/provider: %+v", ev)
			}
		}
	})
}

func FuzzVerifyV3(f *testing.F) {
	now := time.UnixMilli(vecV3TS)
	f.Add("POST", vecURL, []byte(vecSingle), strconv.FormatInt(vecV3TS, 10), "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=")
	f.Add("POST", vecURL+"?a=%3A%2", []byte(`[]`), "1693657560001", "====")
	f.Add("GET", "", []byte{}, "-1", "")
	a, err := New(Config{ClientSecrets: []string{vecSecret}}, func() time.Time { return now })
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, url string, body []byte, ts, sig string) {
		h := http.Header{}
		h.Set(HeaderSignatureV3, sig)
		h.Set(HeaderTimestamp, ts)
		r := crm.Request{Method: method, URL: url, Headers: h, Body: body}
		err := a.Authenticate(r)
		// A correctly signed request always passes, whatever its content.
		if tsMS, perr := strconv.ParseInt(strings.TrimSpace(ts), 10, 64); perr == nil && url != "" && strings.TrimSpace(sig) != "" {
			skew := now.UnixMilli() - tsMS
			if skew <= MaxSkew.Milliseconds() && -skew <= MaxSkew.Milliseconds() {
				h.Set(HeaderSignatureV3, signV3(vecSecret, method, NormalizeV3URI(url), body, strings.TrimSpace(ts)))
				if err := a.Authenticate(r); err != nil {
					t.Fatalf("correct signature rejected: %v", err)
				}
			}
		}
		_ = err
	})
}

func FuzzVerifyV1V2(f *testing.F) {
	f.Add("v1", "POST", vecURL, []byte(vecBatch), "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de")
	f.Add("v2", "GET", vecURL, []byte{}, "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e")
	f.Add("", "POST", "", []byte("x"), "zz")
	a, err := New(Config{ClientSecrets: []string{vecSecret}}, time.Now)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, version, method, url string, body []byte, sig string) {
		h := http.Header{}
		h.Set(HeaderSignature, sig)
		h.Set(HeaderSignatureVersion, version)
		_ = a.Authenticate(crm.Request{Method: method, URL: url, Headers: h, Body: body})
	})
}

// BenchmarkVerifyParse100 authenticates (v3) and parses a 100-event batch.
func BenchmarkVerifyParse100(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[")
	for i := range MaxBatch {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"eventId":%d,"subscriptionId":92894,"portalId":5799819,"appId":186886,"occurredAt":1556094637139,"subscriptionType":"deal.propertyChange","attemptNumber":0,"objectId":%d,"propertyName":"dealstage","propertyValue":"closedwon","changeSource":"CRM_UI"}`, 802835955+i, 697680835+i)
	}
	sb.WriteString("]")
	body := []byte(sb.String())
	now := time.UnixMilli(1_700_000_000_000)
	const url = "https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks/hubspot"
	r := v3Request("s3cret", "POST", url, string(body), now)
	a := newAdapter(b, now, "s3cret")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := a.Authenticate(r); err != nil {
			b.Fatal(err)
		}
		events, err := a.Parse(r)
		if err != nil || len(events) != MaxBatch {
			b.Fatal(err)
		}
	}
}
