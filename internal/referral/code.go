package referral

import (
	"crypto/rand"
	"fmt"
	"io"
	"strings"
)

// CodeAlphabet is the alphabet of generated referral codes: digits and
// upper-case letters without the ones people confuse when they read a code
// aloud or copy it from paper (0/O, 1/I/L, U/V).
const CodeAlphabet = "23456789ABCDEFGHJKMNPQRSTWXYZ"

// CodeLength is the length of a generated code: 29^7 ≈ 1.7e10 codes, so a
// program of a million partners draws a taken one about once in 17,000.
const CodeLength = 7

// NewCode draws a referral code from random (crypto/rand when nil). The
// caller makes it unique (the store refuses a code that is taken) and
// draws again on a clash.
func NewCode(random io.Reader) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	// Rejection sampling keeps every symbol equally likely.
	limit := byte(256 - 256%len(CodeAlphabet))
	var b strings.Builder
	buf := make([]byte, 1)
	for b.Len() < CodeLength {
		if _, err := io.ReadFull(random, buf); err != nil {
			return "", fmt.Errorf("referral: new code: %w", err)
		}
		if buf[0] >= limit {
			continue
		}
		b.WriteByte(CodeAlphabet[int(buf[0])%len(CodeAlphabet)])
	}
	return b.String(), nil
}

// ValidCode reports whether code can be a referral code an operator picks:
// 3 to 32 letters, digits, '-' or '_' (it appears in links: /r/<code>).
func ValidCode(code string) bool {
	if len(code) < 3 || len(code) > 32 {
		return false
	}
	for _, c := range code {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
