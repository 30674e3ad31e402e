package referral

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"sort"
	"testing"
	"time"
)

var allStatuses = []Status{StatusReceived, StatusVerifying, StatusInReview, StatusRejected,
	StatusInProgress, StatusLost, StatusExpired, StatusCompleted, StatusNeedsAttention}

func TestStatusTokensMatchAPI(t *testing.T) {
	want := []string{"received", "verifying", "in_review", "rejected", "in_progress", "lost", "expired", "completed", "needs_attention"}
	for i, s := range allStatuses {
		if string(s) != want[i] {
			t.Errorf("status %d is %q, docs/api.md says %q", i, s, want[i])
		}
	}
}

func TestTerminal(t *testing.T) {
	terminal := map[Status]bool{StatusRejected: true, StatusLost: true, StatusExpired: true, StatusCompleted: true}
	for _, s := range allStatuses {
		if s.Terminal() != terminal[s] {
			t.Errorf("%s.Terminal() = %v, want %v", s, s.Terminal(), terminal[s])
		}
	}
	if Status("bogus").Terminal() {
		t.Error("an unknown status is not terminal")
	}
}

// allowed is the full transition relation (besides staying put).
var allowed = map[[2]Status]bool{
	{StatusReceived, StatusVerifying}:   true,
	{StatusReceived, StatusRejected}:    true,
	{StatusVerifying, StatusInReview}:   true,
	{StatusVerifying, StatusInProgress}: true,
	{StatusVerifying, StatusRejected}:   true,
	{StatusInReview, StatusInProgress}:  true,
	{StatusInReview, StatusRejected}:    true,
	{StatusInProgress, StatusLost}:      true,
	{StatusInProgress, StatusExpired}:   true,
	{StatusInProgress, StatusCompleted}: true,
	// Any status still moving can need attention; it leaves
	// needs_attention only by a resume (not a Transition).
	{StatusReceived, StatusNeedsAttention}:   true,
	{StatusVerifying, StatusNeedsAttention}:  true,
	{StatusInReview, StatusNeedsAttention}:   true,
	{StatusInProgress, StatusNeedsAttention}: true,
}

func TestCanMoveEveryPair(t *testing.T) {
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			want := from == to || allowed[[2]Status{from, to}]
			if got := canMove(from, to); got != want {
				t.Errorf("canMove(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	// Terminal statuses never leave.
	for _, from := range allStatuses {
		if !from.Terminal() {
			continue
		}
		for _, to := range allStatuses {
			if to != from && canMove(from, to) {
				t.Errorf("terminal %s may move to %s", from, to)
			}
		}
	}
	// Nothing goes back to received.
	for _, from := range allStatuses {
		if from != StatusReceived && canMove(from, StatusReceived) {
			t.Errorf("%s may move back to received", from)
		}
	}
}

func TestFrom(t *testing.T) {
	for _, to := range allStatuses {
		got := From(to)
		if len(got) == 0 || got[0] != to {
			t.Fatalf("From(%s) = %v: must start with %s itself", to, got, to)
		}
		var want []string
		for _, from := range allStatuses {
			if canMove(from, to) {
				want = append(want, string(from))
			}
		}
		var gotS []string
		for _, s := range got {
			gotS = append(gotS, string(s))
		}
		sort.Strings(want)
		sort.Strings(gotS)
		if len(want) != len(gotS) {
			t.Fatalf("From(%s) = %v, want %v", to, gotS, want)
		}
		for i := range want {
			if want[i] != gotS[i] {
				t.Fatalf("From(%s) = %v, want %v", to, gotS, want)
			}
		}
	}
	if got := From(StatusReceived); len(got) != 1 {
		t.Fatalf("From(received) = %v, want only received", got)
	}
}

func TestHashToken(t *testing.T) {
	sum := sha256.Sum256([]byte("abc"))
	if got, want := HashToken("abc"), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("HashToken = %s, want %s", got, want)
	}
	if HashToken("abc") == HashToken("abd") {
		t.Fatal("different tokens share a hash")
	}
	// Known SHA-256 vector.
	if got := HashToken(""); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("HashToken(\"\") = %s", got)
	}
}

func TestNewStatusToken(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		tok, hash, err := NewStatusToken()
		if err != nil {
			t.Fatal(err)
		}
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(b) != 24 {
			t.Fatalf("token %q is not 24 bytes of raw URL base64 (%v)", tok, err)
		}
		if hash != HashToken(tok) {
			t.Fatalf("hash %s is not HashToken(%s)", hash, tok)
		}
		if hash == tok {
			t.Fatal("the stored hash is the token")
		}
		if seen[tok] {
			t.Fatalf("token %s repeated", tok)
		}
		seen[tok] = true
	}
}

func TestReached(t *testing.T) {
	r := &Referral{Milestones: map[string]time.Time{"qualified": time.Unix(1, 0)}}
	if !r.Reached("qualified") || r.Reached("won") {
		t.Fatalf("Reached wrong: %+v", r.Milestones)
	}
	var empty Referral
	if empty.Reached("won") {
		t.Fatal("nil milestones reached something")
	}
}

// canMove reports whether a referral in status from may move to status to
// under the transitions the store applies (From).
func canMove(from, to Status) bool { return slices.Contains(From(to), from) }
