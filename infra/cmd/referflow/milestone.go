package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// milestoneCmd is `referflow referrals milestone REFERRAL_ID MILESTONE
// --reason TEXT`: POST /admin/referrals/{id}/milestones, as the console's
// referral page does.
func (a *app) milestoneCmd() *cobra.Command {
	var reason string
	c := &cobra.Command{Use: "milestone REFERRAL_ID MILESTONE --reason TEXT", Short: "Record one of the program's milestones by hand: the workflow goes on as if the CRM had reported it",
		Long: "Record one of the program's milestones by hand, with why, when the CRM cannot say it. The referral's workflow goes on as " +
			"if the CRM had reported the milestone (and those it implies); the reason is kept with the referral and shown in its activity.",
		Example: "  referflow referrals milestone ref_01J... won --reason 'contract signed on paper; the CRM was down'",
		Args:    nArgs(2), ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return usagef("referrals milestone: --reason is required: why the milestone is recorded by hand")
			}
			api, err := a.openAdmin(c.Context())
			if err != nil {
				return err
			}
			raw, err := api.Call(c.Context(), http.MethodPost, "/admin/referrals/"+url.PathEscape(args[0])+"/milestones",
				map[string]string{"milestone": args[1], "reason": reason})
			if err != nil || a.g.json() {
				return printRaw(a.out, raw, err)
			}
			var ans struct {
				Status   string `json:"status"`
				Recorded bool   `json:"recorded"`
			}
			json.Unmarshal(raw, &ans)
			what := "recorded by hand"
			if !ans.Recorded {
				what = "was recorded by hand before: nothing changed"
			}
			fmt.Fprintf(a.out, "referral %s: milestone %s %s (status %s)\n", args[0], args[1], what, ans.Status)
			return nil
		}}
	c.Flags().StringVar(&reason, "reason", "", "why (kept with the referral; required)")
	return c
}
