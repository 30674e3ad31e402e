package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/privacy"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// personCmd is `referflow person erase EMAIL`: the store finds the
// person's referrals by the keyed hash of their email, under
// REFERFLOW_KEY_HASH_SECRET from the environment or else from the stack's
// SSM parameters under its settings prefix.
func (a *app) personCmd() *cobra.Command {
	g := group("person", "A person's personal data")
	g.AddCommand(&cobra.Command{Use: "erase EMAIL", Short: "Erase a referee's personal data from every referral (repeat it to finish one cut short)",
		Long: "Erase a referee's personal data from every referral. The email is found by its keyed hash: " +
			privacy.SecretSetting + " from the environment, else from SSM under the settings prefix (--stack or --settings-prefix).",
		Example: "  referflow --stack referflow person erase jane@example.com", Args: nArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			st, err := a.keyedStore(c.Context())
			if err != nil {
				return err
			}
			return erasePerson(c.Context(), st, args[0], a.out, time.Now())
		}})
	return g
}

// erasePerson erases the personal data of the referee with email from
// every referral (store.ErasePerson) and says how many referrals it erased.
// Repeating it erases nothing more; it finishes an erasure cut short.
func erasePerson(ctx context.Context, st *store.Store, email string, out io.Writer, now time.Time) error {
	email = strings.ToLower(strings.TrimSpace(email))
	if !referral.ValidEmail(email) {
		return usagef("person erase: %q is not an email address", email)
	}
	n, err := st.ErasePerson(ctx, email, events.ActorOperator, now)
	if err != nil {
		return fmt.Errorf("person erase: %d referral(s) erased before: %w (run it again to finish; without the secret, give --stack or --settings-prefix /referflow/<stack>/, or set %s)", n, err, privacy.SecretSetting)
	}
	fmt.Fprintf(out, "erased the personal data of %d referral(s)\n", n)
	return nil
}
