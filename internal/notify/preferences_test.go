package notify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/referral"
)

// memPrefs is a PreferenceStore in memory.
type memPrefs map[string][]string

func (m memPrefs) MailOff(_ context.Context, programID, key string) ([]string, error) {
	return m[programID+"/"+key], nil
}

func (m memPrefs) SetMailOff(_ context.Context, programID, key string, off []string, _ time.Time) error {
	m[programID+"/"+key] = off
	return nil
}

func TestPreferencesSaveAndLoad(t *testing.T) {
	ctx := context.Background()
	st := memPrefs{}
	ann := Subscriber{ProgramID: "b2b", Code: "ANN1"}
	err := SavePreferences(ctx, st, ann, Preferences{Off: []Kind{KindMonthlySummary, KindMilestoneReached, KindMonthlySummary}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := st["b2b/c:ANN1"]; !slices.Equal(got, []string{"milestone_reached", "monthly_summary"}) {
		t.Errorf("stored %v", got)
	}
	p, err := LoadPreferences(ctx, st, ann)
	if err != nil || p.Wants(KindMonthlySummary) || !p.Wants(KindRewardPaid) {
		t.Errorf("loaded %+v %v", p, err)
	}
	// What cannot be switched off is refused and nothing is stored.
	for _, c := range []struct {
		s Subscriber
		k Kind
	}{{ann, KindSignIn}, {ann, KindOperatorReview}, {ann, KindRefereeWelcome}, {ann, "newsletter"},
		{Subscriber{ProgramID: "b2b", EmailHash: "h"}, KindReferralReceived}} {
		if err := SavePreferences(ctx, st, c.s, Preferences{Off: []Kind{c.k}}, t0); !errors.Is(err, ErrNotSwitchable) {
			t.Errorf("%s off for %+v: %v", c.k, c.s, err)
		}
	}
	if len(st) != 1 {
		t.Errorf("refused preferences were stored: %v", st)
	}
	referee := Subscriber{ProgramID: "b2b", EmailHash: "h"}
	if err := SavePreferences(ctx, st, referee, Preferences{Off: []Kind{KindRefereeWelcome}}, t0); err != nil {
		t.Errorf("a referee switching the welcome off: %v", err)
	}
}

func TestWelcome(t *testing.T) {
	p := testProgram()
	r := &referral.Referrer{ProgramID: "b2b", Code: "ANN42", Email: partnerEmail, Name: "Ann"}
	m, err := Welcome(p, r, testLinks)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Your referral link: " + base + "/r/ANN42", "Your referral code: ANN42", "Your portal: " + base + "/portal"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	p.Emails.Off = []string{string(KindWelcome)}
	if _, err := Welcome(p, r, testLinks); !errors.Is(err, ErrOff) {
		t.Errorf("switched off: %v", err)
	}
}
