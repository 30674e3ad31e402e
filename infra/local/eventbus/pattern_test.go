package eventbus

import (
	"strings"
	"testing"
)

const referralReceived = `{"version":"0","id":"1","detail-type":"referral.received","source":"referflow","account":"123456789012",
"time":"2026-11-03T09:30:00Z","region":"us-east-1","resources":[],
"detail":{"id":"evt_1","type":"referral.received","version":1,"referral_id":"ref_1","status":"received","program_version":3,
"data":{"referrer_code":"DEMO"},"tags":["a","b"]}}`

// A DynamoDB stream record as Lambda filters it.
const streamRecord = `{"eventName":"INSERT","dynamodb":{"Keys":{"PK":{"S":"REFERRAL#ref_1"},"SK":{"S":"EVENT#2026-11-03T09:30:00.125Z#0001"}}}}`

func TestPatternsMatchAsEventBridgeDoes(t *testing.T) {
	cases := []struct {
		name, pattern, event string
		want                 bool
	}{
		{"source", `{"source":["referflow"]}`, referralReceived, true},
		{"other source", `{"source":["aws.events"]}`, referralReceived, false},
		{"one of several", `{"detail-type":["reward.paid","referral.received"]}`, referralReceived, true},
		{"every field must match", `{"source":["referflow"],"detail-type":["reward.paid"]}`, referralReceived, false},
		{"prefix", `{"detail-type":[{"prefix":"referral."}]}`, referralReceived, true},
		{"prefix misses", `{"detail-type":[{"prefix":"reward."}]}`, referralReceived, false},
		{"suffix", `{"detail-type":[{"suffix":".received"}]}`, referralReceived, true},
		{"nested detail field", `{"detail":{"status":["received"]}}`, referralReceived, true},
		{"nested data field", `{"detail":{"data":{"referrer_code":["DEMO"]}}}`, referralReceived, true},
		{"nested field absent", `{"detail":{"reward_id":["rw_1"]}}`, referralReceived, false},
		{"number by value", `{"detail":{"version":[1.0]}}`, referralReceived, true},
		{"number is not a string", `{"detail":{"version":["1"]}}`, referralReceived, false},
		{"numeric range", `{"detail":{"program_version":[{"numeric":[">",2,"<=",3]}]}}`, referralReceived, true},
		{"numeric out of range", `{"detail":{"program_version":[{"numeric":[">",3]}]}}`, referralReceived, false},
		{"exists", `{"detail":{"status":[{"exists":true}]}}`, referralReceived, true},
		{"exists false on an absent field", `{"detail":{"reward_id":[{"exists":false}]}}`, referralReceived, true},
		{"exists false on a present field", `{"detail":{"status":[{"exists":false}]}}`, referralReceived, false},
		{"anything-but", `{"detail-type":[{"anything-but":["reward.paid"]}]}`, referralReceived, true},
		{"anything-but excludes", `{"detail-type":[{"anything-but":"referral.received"}]}`, referralReceived, false},
		{"anything-but prefix", `{"detail-type":[{"anything-but":{"prefix":"referral."}}]}`, referralReceived, false},
		{"equals-ignore-case", `{"source":[{"equals-ignore-case":"REFERFLOW"}]}`, referralReceived, true},
		{"wildcard", `{"detail-type":[{"wildcard":"referral.*ed"}]}`, referralReceived, true},
		{"wildcard misses", `{"detail-type":[{"wildcard":"reward.*"}]}`, referralReceived, false},
		{"an array in the event matches any element", `{"detail":{"tags":["b"]}}`, referralReceived, true},
		{"empty resources match nothing", `{"resources":["arn:x"]}`, referralReceived, false},
		{"stream filter", `{"eventName":["INSERT"],"dynamodb":{"Keys":{"PK":{"S":[{"prefix":"REFERRAL#"}]},"SK":{"S":[{"prefix":"EVENT#"}]}}}}`, streamRecord, true},
		{"stream filter on a modify", `{"eventName":["INSERT"]}`, strings.Replace(streamRecord, "INSERT", "MODIFY", 1), false},
		{"stream filter on a parked event", `{"dynamodb":{"Keys":{"PK":{"S":[{"prefix":"REFERRAL#"}]}}}}`, strings.Replace(streamRecord, "REFERRAL#", "PARKED#", 1), false},
	}
	for _, c := range cases {
		p, err := Compile(c.pattern)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := p.Match([]byte(c.event)); got != c.want {
			t.Errorf("%s: %s matches = %v, want %v", c.name, c.pattern, got, c.want)
		}
	}
}

func TestPatternsThisStackCannotHonourAreRefused(t *testing.T) {
	for _, p := range []string{
		`not json`,
		`{"source":"referflow"}`,
		`{"source":[]}`,
		`{"$or":[{"source":["a"]},{"source":["b"]}]}`,
		`{"detail":{"ip":[{"cidr":"10.0.0.0/8"}]}}`,
		`{"source":[{"prefix":1}]}`,
		`{"source":[{"prefix":"a","suffix":"b"}]}`,
		`{"detail":{"n":[{"numeric":[">"]}]}}`,
		`{"detail":{"n":[{"exists":"yes"}]}}`,
	} {
		if _, err := Compile(p); err == nil {
			t.Errorf("Compile(%s) succeeded; want an error", p)
		}
	}
}

func TestWildcard(t *testing.T) {
	for _, c := range []struct {
		pat, s string
		want   bool
	}{
		{"a*", "abc", true}, {"*c", "abc", true}, {"a*c", "abc", true}, {"a*b*c", "aXbYc", true},
		{"a*c", "abd", false}, {"abc", "abc", true}, {"abc", "abd", false}, {"*", "", true}, {"a*a", "a", false},
	} {
		if got := wildcard(c.pat, c.s); got != c.want {
			t.Errorf("wildcard(%q, %q) = %v", c.pat, c.s, got)
		}
	}
}
