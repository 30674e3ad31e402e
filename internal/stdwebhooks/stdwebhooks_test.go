package stdwebhooks_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/stdwebhooks"
)

// The official test vector of the Standard Webhooks specification (its
// reference libraries' tests; ../shared/design/webhooks.md).
const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = int64(1614265330)
	vecBody   = `{"test": 2432232314}`
	vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func key(t *testing.T, secret string) stdwebhooks.Key {
	t.Helper()
	k, err := stdwebhooks.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func verifier(t *testing.T, now time.Time, secrets ...string) *stdwebhooks.Verifier {
	t.Helper()
	v, err := stdwebhooks.NewVerifier(secrets, 0, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOfficialVectorSignsAndVerifies(t *testing.T) {
	k := key(t, vecSecret)
	if got := k.Sign(vecID, strconv.FormatInt(vecTS, 10), []byte(vecBody)); got != vecSig {
		t.Fatalf("Sign = %s, want %s", got, vecSig)
	}
	h := stdwebhooks.Headers(vecID, time.Unix(vecTS, 0), []byte(vecBody), k)
	if got := h.Get(stdwebhooks.HeaderSignature); got != vecSig {
		t.Fatalf("Headers signature = %s, want %s", got, vecSig)
	}
	if got := h.Get(stdwebhooks.HeaderTimestamp); got != "1614265330" {
		t.Fatalf("webhook-timestamp = %s", got)
	}
	// The vector's timestamp is years old: verify with the clock next to it.
	if err := verifier(t, time.Unix(vecTS+10, 0), vecSecret).Verify(h, []byte(vecBody)); err != nil {
		t.Fatal(err)
	}
	// The prefix is optional on a secret read.
	if got := key(t, strings.TrimPrefix(vecSecret, "whsec_")).Sign(vecID, "1614265330", []byte(vecBody)); got != vecSig {
		t.Fatalf("without prefix: %s", got)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"type":"referral.received","data":{"id":"evt_1"}}`)
	other := "whsec_c2Vjb25kLXNlY3JldC1rZXktMzItYnl0ZXMhISE="
	wrong := "whsec_d3Jvbmctc2VjcmV0LWtleS0zMi1ieXRlcy4uLi4="
	signed := func(secret string, ts time.Time) http.Header {
		return stdwebhooks.Headers("msg_1", ts, body, key(t, secret))
	}
	tests := []struct {
		name string
		h    func() http.Header
		body []byte
		want string // "" verifies; else a part of the error
	}{
		{"valid", func() http.Header { return signed(vecSecret, now) }, body, ""},
		{"signed with the rotated secret", func() http.Header { return signed(other, now) }, body, ""},
		{"signed with both secrets during a rotation", func() http.Header {
			return stdwebhooks.Headers("msg_1", now, body, key(t, wrong), key(t, other))
		}, body, ""},
		{"unreadable and unknown entries skipped", func() http.Header {
			h := signed(vecSecret, now)
			h.Set(stdwebhooks.HeaderSignature, "v1,AAAA v1a,xyz "+h.Get(stdwebhooks.HeaderSignature)+" v1,!!!")
			return h
		}, body, ""},
		{"exactly 5 min old", func() http.Header { return signed(vecSecret, now.Add(-5*time.Minute)) }, body, ""},
		{"exactly 5 min ahead", func() http.Header { return signed(vecSecret, now.Add(5*time.Minute)) }, body, ""},
		{"raw lower-case header keys", func() http.Header {
			h := http.Header{}
			for k, v := range signed(vecSecret, now) {
				h[strings.ToLower(k)] = v
			}
			return h
		}, body, ""},
		{"wrong secret", func() http.Header { return signed(wrong, now) }, body, "signature mismatch"},
		{"stale", func() http.Header { return signed(vecSecret, now.Add(-5*time.Minute-time.Second)) }, body, "too old"},
		{"future", func() http.Header { return signed(vecSecret, now.Add(5*time.Minute+time.Second)) }, body, "future"},
		{"tampered body", func() http.Header { return signed(vecSecret, now) }, append([]byte(" "), body...), "signature mismatch"},
		{"other id than signed", func() http.Header {
			h := signed(vecSecret, now)
			h.Set(stdwebhooks.HeaderID, "msg_2")
			return h
		}, body, "signature mismatch"},
		{"missing id", func() http.Header { h := signed(vecSecret, now); h.Del(stdwebhooks.HeaderID); return h }, body, "missing webhook-id"},
		{"missing timestamp", func() http.Header { h := signed(vecSecret, now); h.Del(stdwebhooks.HeaderTimestamp); return h }, body, "missing webhook-timestamp"},
		{"missing signature", func() http.Header { h := signed(vecSecret, now); h.Del(stdwebhooks.HeaderSignature); return h }, body, "missing webhook-signature"},
		{"timestamp in milliseconds", func() http.Header {
			h := signed(vecSecret, now)
			h.Set(stdwebhooks.HeaderTimestamp, strconv.FormatInt(now.UnixMilli(), 10))
			return h
		}, body, "future"},
		{"timestamp not a number", func() http.Header {
			h := signed(vecSecret, now)
			h.Set(stdwebhooks.HeaderTimestamp, "2024-01-01T00:00:00Z")
			return h
		}, body, "bad webhook-timestamp"},
		{"signature without version", func() http.Header {
			h := signed(vecSecret, now)
			h.Set(stdwebhooks.HeaderSignature, strings.TrimPrefix(h.Get(stdwebhooks.HeaderSignature), "v1,"))
			return h
		}, body, "no readable v1 signature"},
	}
	v := verifier(t, now, vecSecret, other)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Verify(tt.h(), tt.body)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !errors.Is(err, stdwebhooks.ErrUnverified) || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want ErrUnverified saying %q", err, tt.want)
			}
		})
	}
}

func TestToleranceIsConfigurable(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := stdwebhooks.Headers("msg_1", now.Add(-10*time.Minute), []byte("{}"), key(t, vecSecret))
	for _, c := range []struct {
		tolerance time.Duration
		ok        bool
	}{{0, false}, {15 * time.Minute, true}, {9*time.Minute + 59*time.Second, false}} {
		v, err := stdwebhooks.NewVerifier([]string{vecSecret}, c.tolerance, func() time.Time { return now })
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(h, []byte("{}")); (err == nil) != c.ok {
			t.Errorf("tolerance %s: %v", c.tolerance, err)
		}
	}
}

func TestSecrets(t *testing.T) {
	s, err := stdwebhooks.NewSecret(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
	if !strings.HasPrefix(s, "whsec_") || err != nil || len(raw) != stdwebhooks.SecretBytes || !bytes.Equal(raw, bytes.Repeat([]byte{7}, 32)) {
		t.Fatalf("NewSecret = %q (%v)", s, err)
	}
	if _, err := stdwebhooks.ParseSecret(s); err != nil {
		t.Fatalf("a new secret does not parse: %v", err)
	}
	if _, err := stdwebhooks.NewSecret(bytes.NewReader(make([]byte, 5))); err == nil {
		t.Fatal("a short random source gave a secret")
	}
	for _, bad := range []string{"", "whsec_", "whsec_***", "not base64!"} {
		if _, err := stdwebhooks.ParseSecret(bad); !errors.Is(err, stdwebhooks.ErrSecret) {
			t.Errorf("ParseSecret(%q) = %v, want ErrSecret", bad, err)
		}
	}
	if _, err := stdwebhooks.NewVerifier([]string{" ", ""}, 0, time.Now); err == nil {
		t.Error("a verifier without secrets")
	}
	if _, err := stdwebhooks.NewVerifier([]string{vecSecret}, 0, nil); err == nil {
		t.Error("a verifier without a clock")
	}
	if _, err := stdwebhooks.NewVerifier([]string{vecSecret, "whsec_***"}, 0, time.Now); !errors.Is(err, stdwebhooks.ErrSecret) {
		t.Errorf("a malformed second secret: %v", err)
	}
}

// A correct signature always verifies, whatever the id, timestamp and body.
func FuzzSignVerify(f *testing.F) {
	f.Add(vecID, vecTS, []byte(vecBody))
	f.Add("", int64(0), []byte{})
	f.Add("x y", int64(-5), []byte("\x00"))
	k, _ := stdwebhooks.ParseSecret(vecSecret)
	f.Fuzz(func(t *testing.T, id string, ts int64, body []byte) {
		at := time.Unix(ts, 0)
		v, _ := stdwebhooks.NewVerifier([]string{vecSecret}, 0, func() time.Time { return at })
		err := v.Verify(stdwebhooks.Headers(id, at, body, k), body)
		if id != "" && id == strings.TrimSpace(id) && err != nil {
			t.Fatalf("correct signature refused: %v", err)
		}
	})
}
