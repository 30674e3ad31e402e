package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/referflow/referflow/internal/exports"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// referralsCmd is `referflow referrals list|show|review|resume|milestone|export`.
func (a *app) referralsCmd() *cobra.Command {
	g := group("referrals", "List, show, review, resume and export referrals; record a milestone by hand", "referral")
	var statuses []string
	var limit int
	list := &cobra.Command{Use: "list", Short: "List the referrals in some statuses, oldest change first (default: the queues a person works)",
		Example: "  referflow referrals list\n  referflow referrals list --status in_progress --limit 200 -o json", Args: nArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := a.openStore(c.Context())
			if err != nil {
				return err
			}
			return listReferrals(c.Context(), st, statuses, limit, time.Now(), a.out, a.g.json())
		}}
	list.Flags().StringSliceVar(&statuses, "status", []string{string(referral.StatusInReview), string(referral.StatusNeedsAttention)}, "statuses, comma-separated")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many")
	list.RegisterFlagCompletionFunc("status", cobra.FixedCompletions(allStatuses(), cobra.ShellCompDirectiveNoFileComp))

	show := &cobra.Command{Use: "show REFERRAL_ID", Short: "Show a referral: status, referee, verification reasons, milestones, rewards, activity",
		Example: "  referflow referrals show ref_01J...\n  referflow referrals show ref_01J... -o json", Args: nArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			api, err := a.openAdmin(c.Context())
			if err != nil {
				return err
			}
			return showReferral(c.Context(), api, args[0], a.out, a.g.json())
		}}
	var reason string
	review := &cobra.Command{Use: "review REFERRAL_ID approve|reject --reason TEXT", Short: "Approve or reject a referral waiting for review",
		Example: "  referflow referrals review ref_01J... approve --reason 'known customer'\n  referflow referrals review ref_01J... reject --reason 'already a customer'",
		Args:    nArgs(2), ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, args []string) error {
			if args[1] != "approve" && args[1] != "reject" {
				return usagef("referrals review: the decision is approve or reject, not %q", args[1])
			}
			api, err := a.openAdmin(c.Context())
			if err != nil {
				return err
			}
			raw, err := api.Call(c.Context(), http.MethodPost, "/admin/referrals/"+url.PathEscape(args[0])+"/review", map[string]string{"decision": args[1], "reason": reason})
			if err != nil || a.g.json() {
				return printRaw(a.out, raw, err)
			}
			var ans struct {
				Status, Outcome string
				Resumed         bool
			}
			json.Unmarshal(raw, &ans)
			fmt.Fprintf(a.out, "referral %s %s: status %s (workflow resumed now: %t)\n", args[0], ans.Outcome, ans.Status, ans.Resumed)
			return nil
		}}
	review.Flags().StringVar(&reason, "reason", "", "why (kept with the referral; required)")
	resume := &cobra.Command{Use: "resume REFERRAL_ID", Short: "Resume a referral that needs attention, or start its missing execution",
		Example: "  referflow --stack referflow referrals resume ref_01J...", Args: nArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return a.runResume(c.Context(), args[0]) }}
	g.AddCommand(list, show, review, resume, a.milestoneCmd(), a.exportCmd(exports.Referrals)) // milestone.go, exports.go
	return g
}

func allStatuses() []string {
	return []string{"received", "verifying", "in_review", "rejected", "in_progress", "lost", "expired", "completed", "needs_attention"}
}

// referralRow is a referral as `referrals list` prints it (no personal
// data but the company).
type referralRow struct {
	ID           string    `json:"referral_id"`
	Status       string    `json:"status"`
	Program      string    `json:"program"`
	ReferrerCode string    `json:"referrer_code"`
	Company      string    `json:"company"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// listReferrals writes up to limit referrals in statuses, oldest change first.
func listReferrals(ctx context.Context, st *store.Store, statuses []string, limit int, now time.Time, out io.Writer, asJSON bool) error {
	want := make([]referral.Status, 0, len(statuses))
	for _, s := range statuses {
		if !strings.Contains(" "+strings.Join(allStatuses(), " ")+" ", " "+s+" ") {
			return usagef("--status %q: want one of %s", s, strings.Join(allStatuses(), ", "))
		}
		want = append(want, referral.Status(s))
	}
	if limit < 1 || limit > 1000 {
		return usagef("--limit %d: want 1 to 1000", limit)
	}
	cs, err := st.Candidates(ctx, want, now.Add(time.Second), limit)
	if err != nil {
		return err
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	found, err := st.ReferralsByID(ctx, ids)
	if err != nil {
		return err
	}
	rows := []referralRow{}
	for _, c := range cs {
		if r := found[c.ID]; r != nil {
			rows = append(rows, referralRow{r.ID, string(r.Status), r.ProgramID, r.ReferrerCode, r.RefereeCompany, r.UpdatedAt.UTC()})
		}
	}
	if asJSON {
		return printJSON(out, map[string]any{"referrals": rows})
	}
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = strings.Join([]string{r.ID, r.Status, r.Program, r.ReferrerCode, r.Company, r.UpdatedAt.Format(time.RFC3339)}, "\t")
	}
	return table(out, "REFERRAL\tSTATUS\tPROGRAM\tREFERRER\tCOMPANY\tUPDATED", lines...)
}

// showReferral writes the admin API's view of a referral.
func showReferral(ctx context.Context, api adminCaller, id string, out io.Writer, asJSON bool) error {
	raw, err := api.Call(ctx, http.MethodGet, "/admin/referrals/"+url.PathEscape(id), nil)
	if err != nil || asJSON {
		return printRaw(out, raw, err)
	}
	var v struct {
		ID             string `json:"referral_id"`
		Program        string `json:"program"`
		ProgramVersion int    `json:"program_version"`
		Status         string `json:"status"`
		ReferrerCode   string `json:"referrer_code"`
		Referee        struct{ Email, Name, Company string }
		Reasons        []struct{ Code, Message string }
		Attention      *struct{ Error, Cause string }
		Milestones     []struct {
			Name      string     `json:"name"`
			ReachedAt *time.Time `json:"reached_at"`
		}
		Rewards []struct {
			Milestone, Party, Status, Currency string
			AmountMinor                        int64 `json:"amount_minor"`
		}
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("referrals show: the API's answer: %w", err)
	}
	rows := []string{"referral\t" + v.ID, fmt.Sprintf("program\t%s (version %d)", v.Program, v.ProgramVersion), "status\t" + v.Status,
		"referrer\t" + v.ReferrerCode, "referee\t" + strings.TrimSpace(v.Referee.Name+" <"+v.Referee.Email+"> "+v.Referee.Company)}
	for _, r := range v.Reasons {
		rows = append(rows, "reason\t"+r.Code+": "+r.Message)
	}
	if v.Attention != nil {
		rows = append(rows, "needs attention\t"+v.Attention.Error+": "+v.Attention.Cause)
	}
	for _, m := range v.Milestones {
		at := "-"
		if m.ReachedAt != nil {
			at = m.ReachedAt.UTC().Format(time.RFC3339)
		}
		rows = append(rows, "milestone "+m.Name+"\t"+at)
	}
	for _, r := range v.Rewards {
		rows = append(rows, fmt.Sprintf("reward %s/%s\t%s (%d %s minor units)", r.Milestone, r.Party, r.Status, r.AmountMinor, r.Currency))
	}
	return table(out, "FIELD\tVALUE", rows...)
}

// printRaw writes an API answer as indented JSON, or returns err.
func printRaw(out io.Writer, raw json.RawMessage, err error) error {
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		_, err = out.Write(raw)
		return err
	}
	return printJSON(out, v)
}
