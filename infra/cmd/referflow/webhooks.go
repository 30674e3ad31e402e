package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/referflow/referflow/internal/outbound"
)

// webhooksCmd is `referflow webhooks SUB`: the operations of the admin
// API's /admin/webhooks routes, against the table (outbound.Service).
// Replays make their attempts from this machine, at once.
func (a *app) webhooksCmd() *cobra.Command {
	g := group("webhooks", "Register outbound webhook endpoints, see their deliveries, replay them")
	g.Long = g.Short + ".\n\nTYPE is an event type (referral.received, reward.paid, ...) or * for all.\nReplays make their attempts from this machine, at once."
	sub := func(use, short, example string, flags ...string) {
		c := &webhookCmd{}
		cmd := &cobra.Command{Use: use, Short: short, Example: example, Args: cobra.ArbitraryArgs,
			RunE: func(cc *cobra.Command, args []string) error {
				svc, err := a.openWebhooks(cc.Context())
				if err != nil {
					return err
				}
				c.changed = cc.Flags().Changed
				return c.run(cc.Context(), svc, strings.Fields(use)[0], args, a.out, a.g.json())
			}}
		c.register(cmd.Flags(), flags)
		g.AddCommand(cmd)
	}
	sub("add", "Register an endpoint; prints its signing secret once", "  referflow webhooks add --url https://crm.example.com/hooks --types reward.paid,referral.closed", "url", "types", "description", "enabled")
	sub("list", "List the endpoints", "  referflow webhooks list")
	sub("show ENDPOINT_ID", "Show an endpoint", "  referflow webhooks show ep_...")
	sub("update ENDPOINT_ID", "Change an endpoint's URL, types, description or whether it is enabled", "  referflow webhooks update --enabled=false ep_...", "url", "types", "description", "enabled")
	sub("remove ENDPOINT_ID", "Remove an endpoint", "  referflow webhooks remove ep_...")
	sub("rotate ENDPOINT_ID", "Give an endpoint a new signing secret (the previous one also signs for 24 h)", "  referflow webhooks rotate ep_...")
	sub("deliveries ENDPOINT_ID", "List an endpoint's deliveries, newest first", "  referflow webhooks deliveries --status failed ep_...", "status", "limit", "cursor")
	sub("replay DELIVERY_ID | --since TIME", "Replay a delivery, or every failed delivery of events since a time",
		"  referflow webhooks replay --endpoint ep_... dl_...\n  referflow webhooks replay --endpoint ep_... --since 2026-11-20T00:00:00Z", "endpoint", "since")
	return g
}

// webhookService opens the webhook operations on the deployment's table.
func (a *app) webhookService(ctx context.Context) (webhooks, error) {
	st, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	return &outbound.Service{Store: st, Client: outbound.NewClient(), Now: time.Now, Rand: rand.Reader, DisableAfter: outbound.DefaultDisableAfter}, nil
}

// webhookCmd holds the flags of the webhooks commands.
type webhookCmd struct {
	url, types, description, status, cursor, endpoint, since string
	enabled                                                  bool
	limit                                                    int
	changed                                                  func(name string) bool
}

// register adds the named flags to fs.
func (c *webhookCmd) register(fs *pflag.FlagSet, names []string) {
	for _, n := range names {
		switch n {
		case "url":
			fs.StringVar(&c.url, n, "", "the endpoint's https URL")
		case "types":
			fs.StringVar(&c.types, n, "", "comma-separated event types, or * for all")
		case "description":
			fs.StringVar(&c.description, n, "", "what the endpoint is for")
		case "enabled":
			fs.BoolVar(&c.enabled, n, true, "whether deliveries are made (--enabled=false to pause)")
		case "status":
			fs.StringVar(&c.status, n, "", "pending, succeeded or failed")
		case "cursor":
			fs.StringVar(&c.cursor, n, "", "the next_cursor a previous page printed")
		case "limit":
			fs.IntVar(&c.limit, n, 50, "at most this many (1 to 100)")
		case "endpoint":
			fs.StringVar(&c.endpoint, n, "", "the endpoint id")
		case "since":
			fs.StringVar(&c.since, n, "", "every failed delivery of events since this RFC 3339 time")
		}
	}
}

// input is the endpoint fields given as flags (only those set, unless all).
func (c *webhookCmd) input(all bool) outbound.Input {
	var in outbound.Input
	if all || c.changed("url") {
		in.URL = &c.url
	}
	if all || c.changed("types") {
		types := []string{}
		for _, t := range strings.Split(c.types, ",") {
			if t = strings.TrimSpace(t); t != "" {
				types = append(types, t)
			}
		}
		in.Types = &types
	}
	if c.changed("description") {
		in.Description = &c.description
	}
	if all || c.changed("enabled") {
		in.Enabled = &c.enabled
	}
	return in
}

// webhooks is what the commands call (outbound.Service).
type webhooks interface {
	Add(ctx context.Context, in outbound.Input) (*outbound.Endpoint, string, error)
	List(ctx context.Context) ([]outbound.Endpoint, error)
	Get(ctx context.Context, id string) (*outbound.Endpoint, error)
	Update(ctx context.Context, id string, in outbound.Input) (*outbound.Endpoint, error)
	Remove(ctx context.Context, id string) error
	Rotate(ctx context.Context, id string) (*outbound.Endpoint, string, error)
	Deliveries(ctx context.Context, endpointID string, q outbound.Query) ([]outbound.Delivery, string, error)
	Replay(ctx context.Context, endpointID, deliveryID string) (*outbound.Delivery, error)
	ReplayFailed(ctx context.Context, endpointID string, since time.Time) (outbound.ReplayResult, error)
}

var _ webhooks = (*outbound.Service)(nil)

// run runs one command with the flags parsed and args the rest.
func (c *webhookCmd) run(ctx context.Context, svc webhooks, sub string, args []string, out io.Writer, asJSON bool) error {
	one := func() (string, error) {
		if len(args) != 1 {
			return "", usagef("webhooks %s takes one argument: the id\nusage: referflow webhooks %s ID", sub, sub)
		}
		return args[0], nil
	}
	switch sub {
	case "add":
		if len(args) != 0 {
			return usagef("webhooks add takes no argument\nusage: referflow webhooks add --url URL --types TYPE,... [--description TEXT] [--enabled=false]")
		}
		ep, secret, err := svc.Add(ctx, c.input(true))
		if err != nil {
			return describeWebhookError(err)
		}
		if asJSON {
			return printJSON(out, map[string]any{"endpoint": ep, "secret": secret})
		}
		fmt.Fprintf(out, "endpoint %s added (%s)\nsigning secret (shown once, give it to the receiver): %s\n", ep.ID, typesText(ep), secret)
		return nil
	case "list":
		eps, err := svc.List(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(out, map[string]any{"endpoints": append([]outbound.Endpoint{}, eps...)})
		}
		rows := make([]string, len(eps))
		for i, ep := range eps {
			rows[i] = fmt.Sprintf("%s\t%t\t%d\t%s\t%s", ep.ID, ep.Enabled, ep.ConsecutiveFailures, typesText(&ep), ep.URL)
		}
		return table(out, "ID\tENABLED\tFAILURES\tTYPES\tURL", rows...)
	case "show", "remove", "rotate", "update":
		id, err := one()
		if err != nil {
			return err
		}
		return c.endpointCmd(ctx, svc, sub, id, out, asJSON)
	case "deliveries":
		id, err := one()
		if err != nil {
			return err
		}
		if c.status != "" && !outbound.ValidStatus(c.status) {
			return usagef("--status %q: want pending, succeeded or failed", c.status)
		}
		ds, next, err := svc.Deliveries(ctx, id, outbound.Query{Status: outbound.Status(c.status), Limit: c.limit, After: c.cursor})
		if err != nil {
			return describeWebhookError(err)
		}
		if asJSON {
			return printJSON(out, map[string]any{"deliveries": ds, "next_cursor": next})
		}
		return printDeliveries(out, ds, next)
	case "replay":
		return c.replay(ctx, svc, args, out, asJSON)
	}
	return usagef("unknown webhooks command %q", sub)
}

func (c *webhookCmd) endpointCmd(ctx context.Context, svc webhooks, sub, id string, out io.Writer, asJSON bool) error {
	var ep *outbound.Endpoint
	var err error
	switch sub {
	case "show":
		ep, err = svc.Get(ctx, id)
	case "update":
		ep, err = svc.Update(ctx, id, c.input(false))
	case "remove":
		if err := svc.Remove(ctx, id); err != nil {
			return describeWebhookError(err)
		}
		if asJSON {
			return printJSON(out, map[string]any{"endpoint_id": id, "removed": true})
		}
		fmt.Fprintf(out, "endpoint %s removed\n", id)
		return nil
	case "rotate":
		var secret string
		if ep, secret, err = svc.Rotate(ctx, id); err == nil {
			if asJSON {
				return printJSON(out, map[string]any{"endpoint_id": ep.ID, "secret": secret})
			}
			fmt.Fprintf(out, "new signing secret (shown once; the previous one also signs for 24 h): %s\n", secret)
			return nil
		}
	}
	if err != nil {
		return describeWebhookError(err)
	}
	if asJSON {
		return printJSON(out, ep)
	}
	return table(out, "FIELD\tVALUE", "id\t"+ep.ID, "url\t"+ep.URL, "types\t"+typesText(ep), "description\t"+ep.Description,
		fmt.Sprintf("enabled\t%t", ep.Enabled), fmt.Sprintf("consecutive failures\t%d", ep.ConsecutiveFailures))
}

// printDeliveries writes deliveries a line each, and the cursor of the next page.
func printDeliveries(out io.Writer, ds []outbound.Delivery, next string) error {
	rows := make([]string, len(ds))
	for i, d := range ds {
		rows[i] = fmt.Sprintf("%s\t%s\t%s\t%s\t%d", d.ID, d.EventType, d.EventID, d.Status, d.AttemptCount)
	}
	if err := table(out, "DELIVERY\tEVENT TYPE\tEVENT\tSTATUS\tATTEMPTS", rows...); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(out, "more: --cursor %s\n", next)
	}
	return nil
}

func (c *webhookCmd) replay(ctx context.Context, svc webhooks, args []string, out io.Writer, asJSON bool) error {
	switch {
	case c.endpoint == "" || (len(args) == 1) == (c.since != "") || len(args) > 1:
		return usagef("webhooks replay: give --endpoint ID and either a DELIVERY_ID or --since TIME\nusage: referflow webhooks replay --endpoint ENDPOINT_ID DELIVERY_ID | --since 2026-11-20T00:00:00Z")
	case len(args) == 1:
		d, err := svc.Replay(ctx, c.endpoint, args[0])
		if err != nil {
			return describeWebhookError(err)
		}
		if asJSON {
			return printJSON(out, d)
		}
		return printDeliveries(out, []outbound.Delivery{*d}, "")
	}
	since, err := time.Parse(time.RFC3339, c.since)
	if err != nil {
		return usagef("--since %q: want an RFC 3339 time such as 2026-11-20T00:00:00Z", c.since)
	}
	res, err := svc.ReplayFailed(ctx, c.endpoint, since)
	if err != nil {
		return describeWebhookError(err)
	}
	if asJSON {
		return printJSON(out, res)
	}
	fmt.Fprintf(out, "%d failed deliveries replayed; more left: %t\n", res.Replayed, res.More)
	return nil
}

// describeWebhookError says what an operator can do about err.
func describeWebhookError(err error) error {
	var invalid *outbound.InvalidError
	switch {
	case errors.As(err, &invalid):
		parts := []string{}
		for k, v := range invalid.Fields {
			parts = append(parts, "--"+k+" "+v)
		}
		sort.Strings(parts)
		return coded(exitUsage, errors.New(strings.Join(parts, "; ")))
	case errors.Is(err, outbound.ErrNotFound):
		return notFound(errors.New("no such webhook endpoint or delivery"))
	case errors.Is(err, outbound.ErrDisabled):
		return conflict(errors.New("the endpoint is disabled: enable it first (referflow webhooks update --enabled=true ID)"))
	case errors.Is(err, outbound.ErrBusy):
		return conflict(errors.New("an attempt of this delivery is under way: try again in a minute"))
	}
	return err
}

func typesText(ep *outbound.Endpoint) string {
	parts := make([]string, len(ep.Types))
	for i, t := range ep.Types {
		parts[i] = string(t)
	}
	return strings.Join(parts, ",")
}
