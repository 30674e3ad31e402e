package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/referflow/referflow/internal/outbound"
)

const webhooksUsage = `usage:
  referflow webhooks add        -table TABLE -url URL -types TYPE,... [-description TEXT] [-enabled=false]
  referflow webhooks list       -table TABLE
  referflow webhooks show       -table TABLE ENDPOINT_ID
  referflow webhooks update     -table TABLE [-url URL] [-types TYPE,...] [-description TEXT] [-enabled true|false] ENDPOINT_ID
  referflow webhooks remove     -table TABLE ENDPOINT_ID
  referflow webhooks rotate     -table TABLE ENDPOINT_ID
  referflow webhooks deliveries -table TABLE [-status pending|succeeded|failed] [-limit N] [-cursor C] ENDPOINT_ID
  referflow webhooks replay     -table TABLE -endpoint ENDPOINT_ID DELIVERY_ID
  referflow webhooks replay     -table TABLE -endpoint ENDPOINT_ID -since 2026-11-20T00:00:00Z
TYPE is an event type (referral.received, reward.paid, ...) or * for all.`

// runWebhooks is `referflow webhooks SUB`: the operations of the admin
// API's /admin/webhooks routes, against the table (outbound.Service).
// Replays make their attempts from this machine, at once.
func runWebhooks(ctx context.Context, sub string, fs *flag.FlagSet, table *string, args []string, out io.Writer) error {
	c := webhookFlags(fs)
	if err := fs.Parse(args); err != nil {
		return errors.New(webhooksUsage)
	}
	st, err := open(ctx, *table)
	if err != nil {
		return err
	}
	svc := &outbound.Service{Store: st, Client: outbound.NewClient(), Now: time.Now, Rand: rand.Reader, DisableAfter: outbound.DefaultDisableAfter}
	return c.run(ctx, svc, sub, fs.Args(), out)
}

// webhookCmd holds the flags of the webhooks commands.
type webhookCmd struct {
	url, types, description, enabled, status, cursor, endpoint, since *string
	limit                                                             *int
	fs                                                                *flag.FlagSet
}

func webhookFlags(fs *flag.FlagSet) *webhookCmd {
	return &webhookCmd{fs: fs,
		url:         fs.String("url", "", "the endpoint's https URL"),
		types:       fs.String("types", "", "comma-separated event types, or * for all"),
		description: fs.String("description", "", "what the endpoint is for"),
		enabled:     fs.String("enabled", "true", "true or false"),
		status:      fs.String("status", "", "deliveries: pending, succeeded or failed"),
		cursor:      fs.String("cursor", "", "deliveries: the next_cursor a previous page printed"),
		endpoint:    fs.String("endpoint", "", "replay: the endpoint id"),
		since:       fs.String("since", "", "replay: every failed delivery of events since this RFC 3339 time"),
		limit:       fs.Int("limit", 50, "deliveries: at most this many (1 to 100)"),
	}
}

// input is the endpoint fields given as flags (only those set, unless all).
func (c *webhookCmd) input(all bool) (outbound.Input, error) {
	set := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var in outbound.Input
	if all || set["url"] {
		in.URL = c.url
	}
	if all || set["types"] {
		types := []string{}
		for _, t := range strings.Split(*c.types, ",") {
			if t = strings.TrimSpace(t); t != "" {
				types = append(types, t)
			}
		}
		in.Types = &types
	}
	if set["description"] {
		in.Description = c.description
	}
	if all || set["enabled"] {
		b, err := strconv.ParseBool(*c.enabled)
		if err != nil {
			return in, fmt.Errorf("-enabled %q: want true or false", *c.enabled)
		}
		in.Enabled = &b
	}
	return in, nil
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
func (c *webhookCmd) run(ctx context.Context, svc webhooks, sub string, args []string, out io.Writer) error {
	one := func() (string, error) {
		if len(args) != 1 {
			return "", errors.New(webhooksUsage)
		}
		return args[0], nil
	}
	switch sub {
	case "add":
		in, err := c.input(true)
		if err != nil || len(args) != 0 {
			return errors.Join(err, errors.New(webhooksUsage))
		}
		ep, secret, err := svc.Add(ctx, in)
		if err != nil {
			return describeWebhookError(err)
		}
		fmt.Fprintf(out, "endpoint %s added (%s)\nsigning secret (shown once, give it to the receiver): %s\n", ep.ID, typesText(ep), secret)
		return nil
	case "list":
		eps, err := svc.List(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tENABLED\tFAILURES\tTYPES\tURL")
		for _, ep := range eps {
			fmt.Fprintf(w, "%s\t%t\t%d\t%s\t%s\n", ep.ID, ep.Enabled, ep.ConsecutiveFailures, typesText(&ep), ep.URL)
		}
		return w.Flush()
	case "show", "remove", "rotate", "update":
		id, err := one()
		if err != nil {
			return err
		}
		return c.endpointCmd(ctx, svc, sub, id, out)
	case "deliveries":
		id, err := one()
		if err != nil {
			return err
		}
		if *c.status != "" && !outbound.ValidStatus(*c.status) {
			return fmt.Errorf("-status %q: want pending, succeeded or failed", *c.status)
		}
		ds, next, err := svc.Deliveries(ctx, id, outbound.Query{Status: outbound.Status(*c.status), Limit: *c.limit, After: *c.cursor})
		if err != nil {
			return describeWebhookError(err)
		}
		return printJSON(out, map[string]any{"deliveries": ds, "next_cursor": next})
	case "replay":
		return c.replay(ctx, svc, args, out)
	}
	return errors.New(webhooksUsage)
}

func (c *webhookCmd) endpointCmd(ctx context.Context, svc webhooks, sub, id string, out io.Writer) error {
	var ep *outbound.Endpoint
	var err error
	switch sub {
	case "show":
		ep, err = svc.Get(ctx, id)
	case "update":
		in, ierr := c.input(false)
		if ierr != nil {
			return ierr
		}
		ep, err = svc.Update(ctx, id, in)
	case "remove":
		if err := svc.Remove(ctx, id); err != nil {
			return describeWebhookError(err)
		}
		fmt.Fprintf(out, "endpoint %s removed\n", id)
		return nil
	case "rotate":
		var secret string
		if ep, secret, err = svc.Rotate(ctx, id); err == nil {
			fmt.Fprintf(out, "new signing secret (shown once; the previous one also signs for 24 h): %s\n", secret)
			return nil
		}
	}
	if err != nil {
		return describeWebhookError(err)
	}
	return printJSON(out, ep)
}

func (c *webhookCmd) replay(ctx context.Context, svc webhooks, args []string, out io.Writer) error {
	switch {
	case *c.endpoint == "" || (len(args) == 1) == (*c.since != "") || len(args) > 1:
		return errors.New(webhooksUsage)
	case len(args) == 1:
		d, err := svc.Replay(ctx, *c.endpoint, args[0])
		if err != nil {
			return describeWebhookError(err)
		}
		return printJSON(out, d)
	}
	since, err := time.Parse(time.RFC3339, *c.since)
	if err != nil {
		return fmt.Errorf("-since %q: want an RFC 3339 time such as 2026-11-20T00:00:00Z", *c.since)
	}
	res, err := svc.ReplayFailed(ctx, *c.endpoint, since)
	if err != nil {
		return describeWebhookError(err)
	}
	return printJSON(out, res)
}

// describeWebhookError says what an operator can do about err.
func describeWebhookError(err error) error {
	var invalid *outbound.InvalidError
	switch {
	case errors.As(err, &invalid):
		parts := []string{}
		for k, v := range invalid.Fields {
			parts = append(parts, "-"+k+" "+v)
		}
		return errors.New(strings.Join(parts, "; "))
	case errors.Is(err, outbound.ErrNotFound):
		return errors.New("no such webhook endpoint or delivery")
	case errors.Is(err, outbound.ErrDisabled):
		return errors.New("the endpoint is disabled: enable it first (referflow webhooks update -enabled true ID)")
	case errors.Is(err, outbound.ErrBusy):
		return errors.New("an attempt of this delivery is under way: try again in a minute")
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

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
