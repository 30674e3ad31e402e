package program

import (
	"errors"
	"strings"
	"testing"
)

// rewards_on_loss says whether rewards earned before the deal was lost on
// the way to a later milestone still pay: keep (the default) or void;
// anything else is refused with the field's path.
func TestRewardsOnLoss(t *testing.T) {
	for _, c := range []struct {
		line, want, problem string
	}{
		{"", RewardsOnLossKeep, ""},
		{"rewards_on_loss: keep\n", RewardsOnLossKeep, ""},
		{"rewards_on_loss: void\n", RewardsOnLossVoid, ""},
		{"rewards_on_loss: refund\n", "", `rewards_on_loss: unknown value "refund" (want keep, void)`},
	} {
		p, err := Load([]byte(minimalYAML + c.line))
		if c.problem != "" {
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), c.problem) {
				t.Errorf("%q: error %v, want %q", c.line, err, c.problem)
			}
			continue
		}
		if err != nil || p.RewardsOnLoss != c.want || p.KeepsRewardsOnLoss() != (c.want == RewardsOnLossKeep) {
			t.Errorf("%q: %+v, %v; want %s", c.line, p, err, c.want)
		}
	}
	// A program stored before the field existed keeps earned rewards.
	if !(&Program{}).KeepsRewardsOnLoss() {
		t.Error("a program without rewards_on_loss voids earned rewards")
	}
}
