// Command webhook sends a correctly signed (or credentialed) CRM webhook to a
// Referflow deployment or local stack, to test a connection end to end.
//
//	go run ./infra/cmd/webhook -provider hubspot -url https://<api-id>.execute-api.<region>.amazonaws.com/webhooks/hubspot -file deal.json
//	go run ./infra/cmd/webhook -provider generic -url http://127.0.0.1:3000/webhooks/generic < event.json
//	go run ./infra/cmd/webhook -provider salesforce -url ... -file outbound.xml -print
//
// Every provider in internal/crm/providers is served, signed by its own
// crm.Provider.Sign. Secrets come from -secret, -user and -password when
// given, else from the environment variables named after the provider's
// settings (e.g. REFERFLOW_HUBSPOT_CLIENT_SECRET; -help lists them). It
// prints the answer's status and body, or with -print the curl command
// instead of sending. The exit status is 0 for a 2xx answer, 1 otherwise, 2 for usage
// errors.
package main

import (
	"context"
	"os"
	"os/signal"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr, nil, time.Now))
}
