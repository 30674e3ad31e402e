package referral

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestActive(t *testing.T) {
	active := map[Status]bool{StatusReceived: true, StatusVerifying: true, StatusInReview: true, StatusInProgress: true}
	for _, s := range allStatuses {
		if s.Active() != active[s] {
			t.Errorf("%s.Active() = %v", s, s.Active())
		}
		if s.Active() && s.Terminal() {
			t.Errorf("%s is both active and terminal", s)
		}
	}
}

func TestShortCause(t *testing.T) {
	long := strings.Repeat("é", 400)
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"store: referral ref_01 is completed", "store: referral ref_01 is completed"},
		{`store: key "DEDUPE#p#email#jane.doe+x@acme-robotics.example" taken`, `store: key "<email>" taken`},
		{"line one\n\tline two  ", "line one line two"},
		{"mail Bob <bob@x.io>, then ann@y.co.uk;", "mail Bob <<email>>, then <email>;"},
	} {
		if got := ShortCause(c.in); got != c.want {
			t.Errorf("ShortCause(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	got := ShortCause(long)
	if len(got) > MaxCause || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("long cause: %d bytes, valid %v: %q", len(got), utf8.ValidString(got), got)
	}
}
