package hubspot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Header names HubSpot uses to sign its requests.
const (
	HeaderSignature        = "X-HubSpot-Signature"         // v1 and v2 signatures (hex)
	HeaderSignatureVersion = "X-HubSpot-Signature-Version" // "v1" or "v2"
	HeaderSignatureV3      = "X-HubSpot-Signature-v3"      // v3 signature (base64)
	HeaderTimestamp        = "X-HubSpot-Request-Timestamp" // v3 timestamp, Unix milliseconds
)

// MaxSkew is how far the v3 timestamp may be from the current time, in either
// direction. HubSpot asks receivers to reject requests older than 5 minutes.
const MaxSkew = 300_000 * time.Millisecond

// SignV1 returns the v1 signature: lower-case hex SHA-256 (not HMAC) of
// clientSecret followed by the raw body. HubSpot sends it for Webhooks API
// subscriptions, with X-HubSpot-Signature-Version: v1.
func SignV1(clientSecret string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(clientSecret))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// SignV2 returns the v2 signature: lower-case hex SHA-256 of clientSecret +
// method + uri + raw body, where uri is the full URL exactly as called
// (scheme, host, path and query). Workflow webhooks use it.
func SignV2(clientSecret, method, uri string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(clientSecret))
	h.Write([]byte(method))
	h.Write([]byte(uri))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// SignV3 returns the v3 signature: base64 HMAC-SHA256, keyed with
// clientSecret, of method + uri + raw body + timestamp, where timestamp is
// ts in Unix milliseconds as sent in X-HubSpot-Request-Timestamp. The URI is
// first normalised as HubSpot does before signing (see NormalizeV3URI), so
// the result is what HubSpot would send for a request to uri.
func SignV3(clientSecret, method, uri string, body []byte, ts time.Time) string {
	return signV3(clientSecret, method, NormalizeV3URI(uri), body, strconv.FormatInt(ts.UnixMilli(), 10))
}

func signV3(clientSecret, method, uri string, body []byte, ts string) string {
	return base64.StdEncoding.EncodeToString(macV3([]byte(clientSecret), method, uri, body, ts))
}

func macV3(key []byte, method, uri string, body []byte, ts string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(method))
	m.Write([]byte(uri))
	m.Write(body)
	m.Write([]byte(ts))
	return m.Sum(nil)
}

// v3Decoded lists the percent-encoded characters HubSpot's request-validation
// guide says to decode in the request URI before computing a v3 signature.
// Nothing else is decoded (in particular not %20, %25, %26, %3D, %2B).
var v3Decoded = map[string]byte{
	"3A": ':', "2F": '/', "3F": '?', "40": '@', "21": '!', "24": '$',
	"27": '\'', "28": '(', "29": ')', "2A": '*', "2C": ',', "3B": ';',
}

// NormalizeV3URI decodes, in one left-to-right pass, the percent-encoded
// characters HubSpot decodes before signing with v3 (%3A %2F %3F %40 %21 %24
// %27 %28 %29 %2A %2C %3B, hex digits in either case) and leaves every other
// byte as it is.
func NormalizeV3URI(uri string) string {
	if !strings.Contains(uri, "%") {
		return uri
	}
	var b strings.Builder
	b.Grow(len(uri))
	for i := 0; i < len(uri); i++ {
		if uri[i] == '%' && i+2 < len(uri) {
			if c, ok := v3Decoded[strings.ToUpper(uri[i+1:i+3])]; ok {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(uri[i])
	}
	return b.String()
}

// equalHex compares a hex signature from a header with the expected digest in
// constant time (for a given length). Case of the hex digits is ignored.
func equalHex(got string, want []byte) bool {
	dec, err := hex.DecodeString(strings.TrimSpace(got))
	if err != nil {
		return false
	}
	return hmac.Equal(dec, want)
}
