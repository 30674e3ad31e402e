package portal

import (
	"strconv"
	"time"

	"github.com/referflow/referflow/internal/program"
)

// boardView is the program's leaderboard this month.
type boardView struct {
	Month     string // "November 2026"
	Milestone string // what a referral must reach to count
	Rows      []boardRow
	Mine      *boardRow // the partner's own row when outside the top
}

// boardRow is one partner on the leaderboard: never an email, only a
// display name the partner chose or "Partner #<rank>".
type boardRow struct {
	Rank  int
	Name  string
	Count int
	You   bool
}

// board is the leaderboard of the signed-in partner's program this month
// (UTC): the top partners by referrals that reached the program's last
// milestone, the partner's own row marked; nil when the program has it off.
func (h *Handler) board(r *request, s *session, now time.Time) (*boardView, error) {
	mode := s.program.Partners.LeaderboardMode()
	if mode == program.LeaderboardOff {
		return nil, nil
	}
	month := now.UTC()
	entries, err := h.Store.Leaderboard(r.ctx, s.program.ID, month.Format("2006-01"))
	if err != nil {
		return nil, err
	}
	v := &boardView{Month: month.Format("January 2006")}
	if n := len(s.program.Milestones); n > 0 {
		v.Milestone = humanize(s.program.Milestones[n-1].Name)
	}
	for i, e := range entries {
		row := boardRow{Rank: i + 1, Count: e.Count, You: e.PartnerKey == s.partner.Key, Name: "Partner #" + strconv.Itoa(i+1)}
		if i >= leaderboardLength && !row.You {
			continue
		}
		switch {
		case row.You && s.partner.DisplayName != "":
			row.Name = s.partner.DisplayName
		case mode == program.LeaderboardNames && !row.You:
			if p, err := h.Store.CurrentPartner(r.ctx, s.program.ID, e.PartnerKey); err == nil && p.DisplayName != "" {
				row.Name = p.DisplayName
			} else if err != nil && !isNotFound(err) {
				return nil, err
			}
		}
		if i >= leaderboardLength {
			v.Mine = &row
			break
		}
		v.Rows = append(v.Rows, row)
	}
	return v, nil
}
