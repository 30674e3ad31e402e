package referral

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"strings"
	"time"
)

// crockford is Crockford's base32 alphabet (as in ULIDs): sortable, no
// ambiguous letters.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a referral id "ref_" + 26 characters: 48 bits of
// milliseconds then 80 random bits, so ids sort by creation time. It is a
// valid Step Functions execution name (the execution is named after it).
func NewID(now time.Time, rnd io.Reader) (string, error) {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	if _, err := io.ReadFull(rnd, b[6:]); err != nil {
		return "", err
	}
	return "ref_" + encode128(b), nil
}

// encode128 writes 128 bits as 26 Crockford base32 characters.
func encode128(b [16]byte) string {
	out := make([]byte, 26)
	// 130 bits of room: the first character carries the top 3 bits.
	var acc uint64
	bits := 0
	j := 25
	for i := 15; i >= 0; i-- {
		acc |= uint64(b[i]) << bits
		bits += 8
		for bits >= 5 {
			out[j] = crockford[acc&31]
			acc >>= 5
			bits -= 5
			j--
		}
	}
	for j >= 0 {
		out[j] = crockford[acc&31]
		acc >>= 5
		j--
	}
	return string(out)
}

// ValidID reports whether s has the shape NewID produces.
func ValidID(s string) bool {
	if len(s) != 30 || s[:4] != "ref_" || s[4] > '7' {
		// 26 characters carry 130 bits: the first holds only the top 3 of 128.
		return false
	}
	for i := 4; i < len(s); i++ {
		if strings.IndexByte(crockford, s[i]) < 0 {
			return false
		}
	}
	return true
}

// NewStatusToken returns a random referrer-facing status token and the
// hash to store; the token itself is never stored.
func NewStatusToken() (token, hash string, err error) {
	var b [24]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token), nil
}

// HashToken is the stored form of a status token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
