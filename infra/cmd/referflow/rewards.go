package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/referflow/referflow/internal/exports"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// rewardsCmd is `referflow rewards waiting|failed|approve|decline|rearm|void`:
// the admin API's reward routes (waiting reads the table).
func (a *app) rewardsCmd() *cobra.Command {
	g := group("rewards", "Approve, decline, re-arm and void rewards; list those waiting for a person", "reward")
	act := func(verb, short, example string, withReason bool) {
		var reason string
		c := &cobra.Command{Use: verb + " REFERRAL_ID MILESTONE PARTY", Short: short, Example: example, Args: nArgs(3),
			RunE: func(c *cobra.Command, args []string) error {
				api, err := a.openAdmin(c.Context())
				if err != nil {
					return err
				}
				var body any
				if withReason {
					body = map[string]string{"reason": reason}
				}
				path := "/admin/rewards/" + url.PathEscape(args[0]) + "/" + url.PathEscape(args[1]) + "/" + url.PathEscape(args[2]) + "/" + verb
				raw, err := api.Call(c.Context(), http.MethodPost, path, body)
				if err != nil || a.g.json() {
					return printRaw(a.out, raw, err)
				}
				var rw rewards.Reward
				if err := json.Unmarshal(raw, &rw); err != nil {
					return fmt.Errorf("rewards %s: the API's answer: %w", verb, err)
				}
				return printRewards(a.out, rw)
			}}
		if withReason {
			c.Flags().StringVar(&reason, "reason", "", "why (kept with the reward; required)")
		}
		g.AddCommand(c)
	}
	act("approve", "Approve a reward that needs a person's approval: it is paid", "  referflow rewards approve ref_01J... won referrer", false)
	act("decline", "Decline a reward waiting for approval: it is voided", "  referflow rewards decline ref_01J... won referrer --reason 'duplicate'", true)
	act("rearm", "Retry a failed reward with a new idempotency key (after its payee was corrected)", "  referflow rewards rearm ref_01J... won referrer", false)
	act("void", "Give a failed (or unpaid) reward up; its budget is given back", "  referflow rewards void ref_01J... won referrer --reason 'partner left'", true)
	g.AddCommand(&cobra.Command{Use: "failed", Short: "List the rewards their rail refused, and refused reversals", Example: "  referflow rewards failed -o json", Args: nArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			api, err := a.openAdmin(c.Context())
			if err != nil {
				return err
			}
			raw, err := api.Call(c.Context(), http.MethodGet, "/admin/rewards/failed", nil)
			if err != nil || a.g.json() {
				return printRaw(a.out, raw, err)
			}
			var list struct{ Rewards, Reversals []rewards.Reward }
			if err := json.Unmarshal(raw, &list); err != nil {
				return fmt.Errorf("rewards failed: the API's answer: %w", err)
			}
			fmt.Fprintf(a.out, "%d failed rewards, %d refused reversals\n", len(list.Rewards), len(list.Reversals))
			return printRewards(a.out, append(list.Rewards, list.Reversals...)...)
		}})
	var limit int
	waiting := &cobra.Command{Use: "waiting", Short: "List the rewards waiting for a person's approval", Example: "  referflow rewards waiting", Args: nArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := a.openStore(c.Context())
			if err != nil {
				return err
			}
			return waitingRewards(c.Context(), st, limit, a.out, a.g.json())
		}}
	waiting.Flags().IntVar(&limit, "limit", 200, "at most this many")
	g.AddCommand(waiting, a.exportCmd(exports.Rewards)) // exports.go
	return g
}

// waitingRewards writes up to limit rewards waiting for approval.
func waitingRewards(ctx context.Context, st *store.Store, limit int, out io.Writer, asJSON bool) error {
	if limit < 1 || limit > 1000 {
		return usagef("--limit %d: want 1 to 1000", limit)
	}
	dues, err := st.AwaitingApproval(ctx, limit)
	if err != nil {
		return err
	}
	rws := []rewards.Reward{}
	for _, d := range dues {
		if rw, err := st.Reward(ctx, d.ReferralID, d.Milestone, d.Party); err == nil {
			rws = append(rws, *rw)
		}
	}
	if asJSON {
		return printJSON(out, map[string]any{"rewards": rws})
	}
	return printRewards(out, rws...)
}

// printRewards writes rewards a line each: what `rewards approve` and the
// others need to name one (referral, milestone, party).
func printRewards(out io.Writer, rws ...rewards.Reward) error {
	rows := make([]string, len(rws))
	for i, r := range rws {
		rows[i] = fmt.Sprintf("%s\t%s\t%s\t%s\t%s %s\t%s\t%s", r.ReferralID, r.Milestone, r.Party, r.ReferrerCode,
			money.FormatMinor(r.AmountMinor, r.Currency), r.Currency, r.Status, r.StatusReason)
	}
	return table(out, "REFERRAL\tMILESTONE\tPARTY\tREFERRER\tAMOUNT\tSTATUS\tREASON", rows...)
}
