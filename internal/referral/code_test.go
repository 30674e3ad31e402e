package referral

import (
	"bytes"
	"strings"
	"testing"
)

func TestNewCodeIsShortAndUnambiguous(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		c, err := NewCode(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != CodeLength {
			t.Fatalf("code %q has length %d", c, len(c))
		}
		if strings.ContainsAny(c, "01OILUV") {
			t.Fatalf("code %q has an ambiguous character", c)
		}
		if !ValidCode(c) {
			t.Fatalf("generated code %q is not a valid code", c)
		}
		seen[c] = true
	}
	if len(seen) < 1999 {
		t.Errorf("2000 draws gave only %d different codes", len(seen))
	}
}

func TestNewCodeSkipsBiasedBytes(t *testing.T) {
	// 255 is above the largest multiple of the alphabet's size: skipped.
	src := bytes.NewReader([]byte{255, 0, 1, 2, 3, 4, 5, 6})
	c, err := NewCode(src)
	if err != nil {
		t.Fatal(err)
	}
	if c != CodeAlphabet[:7] {
		t.Errorf("code %q, want %q", c, CodeAlphabet[:7])
	}
	if _, err := NewCode(bytes.NewReader([]byte{1, 2})); err == nil {
		t.Error("a short random source gave a code")
	}
}

func TestValidCode(t *testing.T) {
	for _, tc := range []struct {
		code string
		ok   bool
	}{
		{"DEMO", true}, {"ann-42", true}, {"a_b", true}, {"ab", false},
		{strings.Repeat("a", 32), true}, {strings.Repeat("a", 33), false},
		{"ann 42", false}, {"ann/42", false}, {"émile", false}, {"", false},
	} {
		if got := ValidCode(tc.code); got != tc.ok {
			t.Errorf("ValidCode(%q) = %v, want %v", tc.code, got, tc.ok)
		}
	}
}
